"""Stage `check`: run the parts' checks (hidden + public) with pytest against a student backend.

One pytest session per submission: its start-up cost is paid once, not once per part.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.fixtures import PUBLIC_FILE, Outcome, PartsPlugin

CHECKS_ROOT = Path(__file__).resolve().parent


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
        """What the test cell shows: the count, then one line per failed check."""
        lines = [f"[{self.assignment}/{self.part}] {self.passed}/{self.total} checks passed (seed {self.seed})"]
        lines += [f"  FAILED {o.nodeid.split('::', 1)[-1]}: {o.message.splitlines()[0] if o.message else ''}"[:400]
                  for o in self.outcomes if not o.passed]
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


def run_parts(assignment: str, parts: list[str], student, seed: int, timing: dict | None = None) -> dict[str, PartResult]:
    """Run the checks of ``parts``; every collected test is one unit of its part's partial credit.

    ``timing``, when given, receives ``checks``: seconds spent inside the check functions.
    """
    plugin = PartsPlugin(student=student, parts=list(parts), seed=seed)
    args = [str(p) for p in check_files(assignment, parts)]
    # no:unraisableexception: its gc.collect per test was half the cost of a grading session
    args += ["-q", "-p", "no:cacheprovider", "-p", "no:unraisableexception", "--import-mode=importlib", "--no-header",
             # plugins a grading session never uses cost time at every session; output is redirected below
             "--capture=no", "-p", "no:doctest", "-p", "no:junitxml", "-p", "no:pastebin", "-p", "no:stepwise",
             "-p", "no:logging", "-p", "no:faulthandler", "-p", "no:legacypath",
             "-o", f"python_files=test_*.py {PUBLIC_FILE}", "-o", "python_functions=test_* check_*",
             "--rootdir", str(CHECKS_ROOT), "-c", "/dev/null"]
    # Both streams: under nbgrader any stderr output zeroes the cell, and student warnings land there.
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        status = pytest.main(args, plugins=[plugin])
    if timing is not None:
        timing["checks"] = plugin.check_seconds
    if status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise CheckSessionError(f"checks of {assignment} ({', '.join(parts)}) did not run: pytest exit {status}\n"
                                + log.getvalue()[-3000:])
    return {part: PartResult(assignment, part, [o for o in plugin.outcomes if o.part == part], seed)
            for part in parts}


def run_part(assignment: str, part: str, student, seed: int) -> PartResult:
    return run_parts(assignment, [part], student, seed)[part]
