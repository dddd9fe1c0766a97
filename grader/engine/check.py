"""Stage `check`: run the parts' checks (hidden + public) with pytest against a student backend.

``run_parts``: one pytest session for one submission (in-kernel grading, tests).  ``CheckSession``: one
session per grading worker, fed submission after submission.
"""
from __future__ import annotations

import contextlib
import io
import os
import queue
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.engine.fixtures import PUBLIC_FILE, Outcome, PartsPlugin
from grader.i18n import SOURCE_LANGUAGE, _in
from grader.layout import CHECKS as CHECKS_ROOT


class UnknownPart(LookupError):
    pass


class CheckSessionError(RuntimeError):
    """pytest itself failed (internal or usage error): never a student's score of 0."""


@dataclass
class PartResult:
    assignment: str
    part: str
    outcomes: list[Outcome]
    seed: int
    language: str = SOURCE_LANGUAGE

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def score(self) -> float:
        """Partial credit: the share of checks that passed (0 when nothing could run)."""
        return self.passed / self.total if self.total else 0.0

    def report(self) -> str:
        """What the test cell shows: the count, then one line per failed check, each check's hint and
        section of the book once (grader/engine/sections.py)."""
        from grader.engine.sections import Check, report_lines

        lines = [_in(self.language, "[{assignment}/{part}] 通过 {passed}/{total} 项检查 (种子 {seed})").format(
            assignment=self.assignment, part=self.part, passed=self.passed, total=self.total, seed=self.seed)]
        advised = set()
        for o in self.outcomes:
            if o.passed:
                continue
            first = o.message.splitlines()[0] if o.message else ""
            lines.append(("  " + _in(self.language, "未通过 {check}: {message}").format(
                check=o.nodeid.split("::", 1)[-1], message=first))[:400])
            advice = report_lines(Check.from_nodeid(self.part, o.nodeid), self.language)
            if tuple(advice) not in advised:  # checks failing on cpu and cuda, or sharing a hint: said once
                advised.add(tuple(advice))
                lines += advice
        return "\n".join(lines) + "\n"


def check_files(assignment: str, parts: list[str]) -> list[Path]:
    folder = CHECKS_ROOT / assignment
    files = []
    for part in parts:
        hidden = folder / f"test_{part}.py"
        if not hidden.is_file():
            raise UnknownPart(f"no checks for part '{part}' of assignment '{assignment}' ({hidden} is missing)")
        files.append(hidden)
    return files + [folder / PUBLIC_FILE]


def pytest_args(files: list[Path]) -> list[str]:
    # no:unraisableexception: its gc.collect per test was half the cost of a grading session
    return [str(p) for p in files] + [
        "-q", "-p", "no:cacheprovider", "-p", "no:unraisableexception", "--import-mode=importlib", "--no-header",
        # a failure's message is all we keep; source-annotated tracebacks cost 50 ms per failed check
        "--tb=line",
        # plugins a grading session never uses cost time at every session; output is redirected below
        "--capture=no", "-p", "no:doctest", "-p", "no:junitxml", "-p", "no:pastebin", "-p", "no:stepwise",
        "-p", "no:logging", "-p", "no:faulthandler", "-p", "no:legacypath",
        "-o", f"python_files=test_*.py {PUBLIC_FILE}", "-o", "python_functions=test_* check_*",
        "--rootdir", str(CHECKS_ROOT), "-c", "/dev/null"]


def cache_bytecode(folder: Path | None = None) -> Path:
    """Let this process keep compiled bytecode, in a private folder outside the source tree.

    Where bytecode may not be written (PYTHONDONTWRITEBYTECODE=1, as on this project's machines),
    pytest rewrites every check module's asserts again at each collection: a second of every
    worker's start-up.  Its rewritten modules are ordinary .pyc files, checked against their
    source's mtime and size, so a changed check is rewritten again.  Python runs any .pyc it finds
    there and they hold the hidden checks, so the folder must be this user's alone (``private_folder``).
    """
    if sys.pycache_prefix is None:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        sys.pycache_prefix = str(private_folder(folder or cache / "numstab-grader" / "pycache"))
    sys.dont_write_bytecode = False
    return Path(sys.pycache_prefix)


def private_folder(folder: Path) -> Path:
    """``folder`` if it is (or is now made) a real folder of this user that no one else may write; it is
    then closed to everyone else (0700).  Otherwise, a fresh one made atomically (``mkdtemp``), removed
    at exit: a folder someone else made first, or one that others could have written into, is never used.
    """
    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
        above = os.stat(folder.parent)  # whoever may rename entries there could swap the folder later
        safe_above = above.st_uid in (0, os.geteuid()) and (not above.st_mode & 0o022 or above.st_mode & 0o1000)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            st = os.fstat(fd)
            if safe_above and st.st_uid == os.geteuid() and not st.st_mode & 0o022:
                os.fchmod(fd, 0o700)
                return folder
        finally:
            os.close(fd)
    except OSError:  # a symlink (O_NOFOLLOW), a file, or no home to write to
        pass
    import atexit
    import shutil
    import warnings

    fresh = Path(tempfile.mkdtemp(prefix="numstab-grader-pycache-"))
    atexit.register(shutil.rmtree, fresh, ignore_errors=True)
    warnings.warn(f"{folder} is not a private folder of this user (someone else's, writable by others, or a "
                  f"symlink): bytecode goes to {fresh} instead")
    return fresh


class CheckRun(dict):
    """part -> PartResult of one submission, plus ``check_seconds``: time spent inside check bodies."""

    def __init__(self, results: dict, check_seconds: float):
        super().__init__(results)
        self.check_seconds = check_seconds


def _results(assignment: str, parts: list[str], plugin: PartsPlugin, seed: int,
             language: str = SOURCE_LANGUAGE) -> CheckRun:
    # A part without a single check ran nothing: pytest (importlib mode) keeps a module that failed to
    # import in sys.modules, and collects it as empty the next time.  That must never read as a 0.
    empty = [part for part in parts if not any(o.part == part for o in plugin.outcomes)]
    if empty:
        raise CheckSessionError(f"no checks of {assignment} ({', '.join(empty)}) were collected")
    return CheckRun({part: PartResult(assignment, part, [o for o in plugin.outcomes if o.part == part], seed, language)
                     for part in parts}, plugin.check_seconds)


def run_parts(assignment: str, parts: list[str], student, seed: int, language: str = SOURCE_LANGUAGE) -> CheckRun:
    """Run the checks of ``parts`` in a pytest session of their own; every collected test is one unit
    of its part's partial credit.  ``language``: what their messages are written in."""
    plugin = PartsPlugin(student=student, parts=list(parts), seed=seed, language=language)
    # Both streams: under nbgrader any stderr output zeroes the cell, and student warnings land there.
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        status = pytest.main(pytest_args(check_files(assignment, parts)), plugins=[plugin])
    if status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise CheckSessionError(f"checks of {assignment} ({', '.join(parts)}) did not run: pytest exit {status}\n"
                                + log.getvalue()[-3000:])
    return _results(assignment, parts, plugin, seed, language)


def run_part(assignment: str, part: str, student, seed: int, language: str = SOURCE_LANGUAGE) -> PartResult:
    return run_parts(assignment, [part], student, seed, language)[part]


class _Tail(io.StringIO):
    """A long session's log: only the end is ever shown, so the rest is dropped as it comes."""

    def write(self, s):
        if self.tell() > 1 << 20:
            tail = self.getvalue()[-(1 << 16):]
            self.seek(0)
            self.truncate()
            super().write(tail)
        return super().write(s)


class CheckSession:
    """One pytest session kept open for a grading worker's life, serving one submission after another.

    Start-up, collection and importing the checks (0.1-0.25 s a session) are paid once per worker, not
    per notebook.  Like pytest-xdist's workers, it takes over ``pytest_runtestloop`` and runs the items
    of each job through the normal ``pytest_runtest_protocol``; the last item of a job tears every
    fixture down, so nothing carries over from one student to the next.  pytest runs in a thread of
    its own because ``pytest.main`` only returns when the session ends.
    """

    def __init__(self, assignments: list[str]):
        self.files = [f for a in assignments for f in sorted((CHECKS_ROOT / a).glob("test_*.py"))
                      + [CHECKS_ROOT / a / PUBLIC_FILE]]
        self.thread = None

    def start(self) -> None:
        """Collect the checks now (a worker does it while it starts up); ``run_parts`` would otherwise.

        Returns once collection is over: until then the process's streams point at the session's log.
        """
        self.plugin, self.jobs, self.results = PartsPlugin(), queue.Queue(), queue.Queue()
        self.log, self.ready = _Tail(), threading.Event()
        self.thread = threading.Thread(target=self._main, name="checks", daemon=True)
        self.thread.start()
        self.ready.wait()

    def _main(self) -> None:
        self.streams = sys.stdout, sys.stderr
        try:
            # pytest's reporter keeps the stdout it finds at start-up: give it the log, then (in the loop)
            # give the process its streams back
            with contextlib.redirect_stdout(self.log), contextlib.redirect_stderr(self.log):
                status = pytest.main(pytest_args(self.files), plugins=[self.plugin, self])
            failure = f"pytest exit {status}"
        except BaseException as exc:  # the session is gone either way; whoever waits must hear why
            failure = f"{type(exc).__name__}: {exc}"
        self.ready.set()
        self.results.put(CheckSessionError(f"the checks session ended ({failure})\n" + self.log.getvalue()[-3000:]))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        if session.testsfailed:  # a check module failed to import: nothing may be graded with this session
            raise session.Interrupted(f"{session.testsfailed} check modules could not be collected")
        sys.stdout, sys.stderr = self.streams
        self.ready.set()
        while (job := self.jobs.get()) is not None:
            assignment, parts, student, seed, language = job
            self.plugin.begin(student, parts, seed, language)
            items = [i for i in session.items if i.path.parent.name == assignment and self.plugin.wanted(i)]
            for n, item in enumerate(items):
                item.ihook.pytest_runtest_protocol(item=item, nextitem=items[n + 1] if n + 1 < len(items) else None)
            self.results.put(self.plugin)
        return True

    def run_parts(self, assignment: str, parts: list[str], student, seed: int,
                  language: str = SOURCE_LANGUAGE) -> CheckRun:
        check_files(assignment, parts)  # an unknown part is the caller's error, not a session failure
        if self.thread is None or not self.thread.is_alive():
            self.start()
        self.jobs.put((assignment, list(parts), student, seed, language))
        answer = self.results.get()
        if isinstance(answer, CheckSessionError):
            self.thread = None
            raise answer
        return _results(assignment, parts, answer, seed, language)

    def close(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            self.jobs.put(None)
            self.thread.join()
