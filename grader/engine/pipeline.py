"""`make grade`: collect -> sanitize -> execute + check (workers) -> record -> report.

Reading ``grade_course`` tells what grading does, in order.  A student's crash is a grade; only the
engine's own failures make the exit status non-zero.  Each stage of the main process runs one
submission at a time inside ``contained``: whatever one submission's data makes it raise becomes that
submission's problem line and a grade of 0, and the next submission goes on.
"""
from __future__ import annotations

import fcntl
import hashlib
import multiprocessing
import os
import secrets
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from grader import i18n
from grader.engine import isolation, nbgrader_tuning, worker
from grader.engine.collect import Submission, collect
from grader.engine.execute import bare_main
from grader.engine.gradebook import Gradebook, ensure_gradebook
from grader.engine.record import course_config, read_marker, record
from grader.engine.sanitize import Sanitized, sanitize
from grader.engine.worker import Graded, Job, Timing
from grader.i18n import SOURCE_LANGUAGE, _in
from grader.layout import ASSIGNMENTS, EQUIVALENT_MUTANTS, checks_of


class EngineError(RuntimeError):
    """The engine itself cannot go on (not a student's fault)."""


@dataclass
class Summary:
    course: Path
    layers: isolation.Layers
    graded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    engine_failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seed: int = 0
    timings: dict[str, Timing] = field(default_factory=dict)
    where: str = "local pool"
    refused: list[str] = field(default_factory=list)  # cluster workers that were sent no job, and why
    problems: list[str] = field(default_factory=list)  # a stage after record (feedback, similarity) failed on one
    language: str = SOURCE_LANGUAGE  # the course's: the instructor's table, report and problem lines

    @property
    def level(self) -> str:
        return self.layers.summary()


def checks_version(assignment: str) -> str:
    h = hashlib.sha256()
    for path in sorted(checks_of(assignment).glob("*.py")):
        if path.name == EQUIVALENT_MUTANTS:  # the reviewed list of `make mutants` grades nothing
            continue
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def default_workers() -> int:
    import torch  # only to count GPUs; never initialises CUDA in this process beyond the query
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return gpus if gpus else max(1, os.cpu_count() or 1)


def isolation_layers(allow_weak: bool, language: str = SOURCE_LANGUAGE) -> isolation.Layers:
    layers = isolation.detect()
    if not layers.strong and not allow_weak:
        raise EngineError(_in(language, "这台主机既不给沙箱命名空间也不给 Landlock, 提交的代码可以读写你的文件; "
                                        "要在这里给真实的班级评分, 需要 --allow-weak-isolation"))
    return layers


LOCK_FILE = ".numstab-grade.lock"


def lock_course(course: Path, language: str = SOURCE_LANGUAGE) -> int:
    """One grading run per course at a time: a second one is refused at once, never interleaved.

    An flock, so a run killed any way at all leaves no stale lock behind.
    """
    course.mkdir(parents=True, exist_ok=True)
    fd = os.open(course / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise EngineError(_in(language, "{course} 正在被另一次运行评分 (它持有 {lock}); 请等它结束后再运行: "
                                        "没有改动的提交不会重新评分").format(course=course, lock=course / LOCK_FILE)
                          ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def course_language(course: Path, language: str | None = None) -> str:
    """The course's language: ``language`` (``--language``), else ``c.Numstab.language`` in the course's
    nbgrader_config.py, else the source language.  It is the language of the instructor's table, report and
    problem lines, and of the feedback of a submission whose notebook does not say its own."""
    if language is None:
        numstab = course_config(course).get("Numstab", {})
        language = numstab.get("language") if hasattr(numstab, "get") else None
    return i18n.known(language)


def choose_seed(seed: int | None) -> int:
    """The checks' input seed: given, from GRADER_SEED, or fresh (it is recorded in every report)."""
    return seed if seed is not None else int(os.environ.get("GRADER_SEED") or secrets.randbits(31))


def changed(course: Path, submissions: list[Submission], force: bool) -> tuple[list[tuple[Submission, str]], list[str]]:
    """(submissions to grade with their fingerprints, keys of those unchanged since their last grading)."""
    versions = {a: checks_version(a) for a in ASSIGNMENTS}
    due, unchanged = [], []
    for sub in submissions:
        try:
            fp = sub.fingerprint(versions[sub.assignment])
        except OSError:  # gone or unreadable since collect: graded (and reported) like any other
            fp = secrets.token_hex(32)
        marker = read_marker(course, sub)
        if not force and marker and marker.get("fingerprint") == fp:
            unchanged.append(sub.key)
        else:
            due.append((sub, fp))
    return due, unchanged


class LocalPool:
    """Runs jobs on this machine's worker processes (one per core or GPU)."""

    def __init__(self, course: Path, workers: int, limits: dict | None, layers: isolation.Layers):
        self.course, self.workers, self.limits, self.layers = course, workers, limits, layers
        self.where = f"local pool ({workers} workers)"

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Graded | Exception]]:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=worker.init,
                                 initargs=(str(self.course), self.limits, self.layers)) as pool:
            futures = {}
            for job in jobs:  # each submit may start a worker: they warm up while the next job is prepared
                with bare_main():  # a submit may spawn a worker, which would re-import our caller's __main__
                    futures[pool.submit(worker.grade_one, job)] = job
            for fut in as_completed(futures):
                try:
                    yield futures[fut], fut.result()
                except Exception as exc:
                    yield futures[fut], exc


def grade_course(course: Path, *, force: bool = False, workers: int | None = None, allow_weak: bool = False,
                 demo: bool = False, seed: int | None = None, progress=None, limits: dict | None = None,
                 runner=None, only: set[str] | None = None, locked: bool = False,
                 language: str | None = None) -> Summary:
    """Grade every changed submission of ``course`` into its gradebook.  ``runner``: where jobs run
    (default: a ``LocalPool``); ``only``: the keys (``student/assignment``) to consider, default all;
    ``locked``: the caller holds ``lock_course`` already (``--zip``); ``language``: the course's
    (``course_language``).  Scores never depend on a language."""
    nbgrader_tuning.install()
    course = Path(course).resolve()
    language = course_language(course, language)
    summary = Summary(course, isolation_layers(allow_weak or demo, language), seed=choose_seed(seed),
                      language=language)
    lock = None if locked else lock_course(course, language)
    try:
        return _grade(course, summary, force, workers, progress, limits, runner, only)
    finally:
        if lock is not None:
            os.close(lock)


def _grade(course: Path, summary: Summary, force: bool, workers: int | None, progress, limits: dict | None,
           runner, only: set[str] | None = None) -> Summary:
    db_url = ensure_gradebook(course)
    config = course_config(course)
    with Gradebook(db_url) as gb:
        known = {a: {c.name for c in gb.find_notebook(a, a).grade_cells + gb.find_notebook(a, a).task_cells}
                 for a in ASSIGNMENTS}

    found = collect(course, language=summary.language)
    summary.skipped = found.skipped
    chosen = [s for s in found.submissions if only is None or s.key in only]
    due, summary.unchanged = changed(course, chosen, force)
    summary.where = runner.where if runner else summary.where  # named in the report even with nothing to do
    if progress:
        progress.start(len(due))
    if not due:
        return summary

    def done(sub, fp, clean, graded: Graded | None, prepared: float = 0.0) -> None:
        started = time.thread_time()  # CPU time: the workers share the cores with this thread
        try:
            record(course, db_url, sub, clean, graded, fp, config, clean.language or summary.language,
                   summary.language)
        except Exception as exc:  # the submission's data broke nbgrader's recording: a 0, said why
            try:
                record(course, db_url, sub, Sanitized(None, problems=clean.problems + [
                    _in(summary.language, "{notebook}: 无法记录 ({error}); 计 0 分").format(
                        notebook=sub.notebook, error=f"{type(exc).__name__}: {str(exc)[:300]}")]),
                    None, fp, config, summary.language)
            except Exception as again:  # recording a plain 0 failed too: the gradebook, not the student
                summary.engine_failures.append(_in(summary.language, "{key}: 记录失败: {error}").format(
                    key=sub.key, error=f"{type(again).__name__}: {again}"))
                progress and progress.advance(sub.key)
                return
            graded = None
        summary.graded.append(sub.key)
        if graded is not None:  # this process's share of the notebook: sanitize before, record after
            graded.timing.main = prepared + time.thread_time() - started
            summary.timings[sub.key] = graded.timing
        progress and progress.advance(sub.key)

    pending = {}

    def jobs() -> Iterator[Job]:
        for sub, fp in due:
            started = time.thread_time()
            try:
                clean = sanitize(sub, db_url, known[sub.assignment], summary.language)
            except Exception as exc:  # nothing a notebook holds may stop the class: its 0, and why
                clean = Sanitized(None, problems=[_in(summary.language, "{notebook}: 无法准备评分 ({error}); 计 0 分")
                                                  .format(notebook=sub.notebook, error=f"{type(exc).__name__}: {str(exc)[:300]}")])
            if clean.nb is None:  # nothing to run: recorded at once
                done(sub, fp, clean, None)
                continue
            pending[sub.key] = (sub, fp, clean, time.thread_time() - started)
            yield Job(sub.key, sub.assignment, clean.cells, clean.parts, summary.seed, tuple(clean.locked),
                      clean.language or summary.language)

    runner = runner or LocalPool(course, min(workers or default_workers(), len(due)), limits, summary.layers)
    summary.where = runner.where
    for job, outcome in runner.run(jobs()):
        if job.key not in pending:  # a second completion of a job already recorded: never count it twice
            continue
        sub, fp, clean, prepared = pending.pop(job.key)
        summary.where = runner.where  # a cluster's runner names its workers once it has met them
        if isinstance(outcome, Exception):  # the engine failed on this one: say so, record nothing
            summary.engine_failures.append(f"{sub.key}: {type(outcome).__name__}: {outcome}")
            progress and progress.advance(sub.key)
        else:
            done(sub, fp, clean, outcome, prepared)
    summary.where, summary.refused = runner.where, list(getattr(runner, "refused", []))
    return summary
