"""One grading worker: a checker process with its own warm zygote and two sandbox slots.

The pool (or a Dask worker) hands it plain jobs (cells, parts, seed); it answers with plain results.
Student code runs only in the zygote's children; the checks run here, in one pytest session for the
worker's life, against the worker's own unpatched torch.
"""
from __future__ import annotations

import os
import resource
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.engine import isolation
from multiprocessing import forkserver

from grader.engine.check import CheckSession, cache_bytecode
from grader.engine.execute import Sandbox, SandboxStudent, bare_main, spawn_child, warm_zygote, zygote_context
from grader.i18n import SOURCE_LANGUAGE
from grader.layout import ASSIGNMENTS, REPO
from grader.student.selfcheck import cuda_present

# One sandbox is torn down (its namespace killed) and its successor forked and isolated while the next
# submission runs in the worker's other slot: both overlap with useful work instead of adding to every
# notebook.
SLOTS_PER_WORKER = 2
# A failed check's message can quote what the student's code returned: kept this long in the marker.
MAX_CHECK_MESSAGE = 500


@dataclass(frozen=True)
class Job:
    """One submission to grade: plain data only (it crosses process and machine boundaries)."""
    key: str
    assignment: str
    cells: list[tuple[int, str]]
    parts: list[tuple[str, float]]
    seed: int
    locked: tuple[int, ...] = ()  # indices of the instructor's locked cells among ``cells``
    language: str = SOURCE_LANGUAGE  # what the checks' messages and hints are written in (never the score)


@dataclass
class Timing:
    """Seconds and bytes of one job; ``compute`` is the notebook's own (cells + check bodies)."""
    wall: float
    compute: float
    child_peak_rss: int
    worker_startup: float
    worker_peak_rss: int
    main: float = 0.0  # the main process's CPU time on this notebook (sanitize + record), set there


@dataclass
class Graded:
    """What a worker answers: cell runs and part results as plain dicts (they go into the marker file)."""
    key: str
    level: str
    runs: dict[str, dict]
    parts: dict[str, dict]
    timing: Timing = field(repr=False)


class Worker:
    """Warm state for grading one submission after another: zygote, slots, one pytest session."""

    def __init__(self, course: str, limits: dict | None, layers: isolation.Layers | None = None):
        self.course, self.limits, self.layers = Path(course).resolve(), limits, layers
        self.jobs = 0

    def start(self) -> None:
        """Zygote, checks session and the first children; returns when all are ready, so that jobs are
        timed warm."""
        started = time.perf_counter()
        self.ctx = zygote_context()
        with bare_main():  # the zygote starts importing torch and torch._dynamo in its own process now,
            forkserver.ensure_running()  # while this one imports torch and collects the checks
        import torch

        # One worker per core: BLAS threads beyond that only spin against the other workers.
        torch.set_num_threads(1)
        self.layers = self.layers or isolation.detect()
        cache_bytecode()
        self.checks = CheckSession(ASSIGNMENTS)
        self.checks.start()
        # used as the working folder only where there is no mount namespace (then Landlock confines to it)
        self.scratch = tempfile.mkdtemp(prefix="numstab-sandbox-")
        os.chmod(self.scratch, 0o711)
        base = isolation.Policy(layers=self.layers, uid=None, cuda=cuda_present(),
                                hide=[str(REPO), str(self.course), os.path.expanduser("~")],
                                keep=isolation.interpreter_paths(), workdir=self.scratch,
                                limits=isolation.Limits(**(self.limits or {})))
        self.uid_locks = []
        self.policies = []
        for slot in range(SLOTS_PER_WORKER):
            uid = None
            if self.layers.root and self.layers.namespaces:
                uid, lock = isolation.claim_uid()
                self.uid_locks.append(lock)
            workdir = os.path.join(self.scratch, str(slot))
            os.makedirs(workdir, mode=0o777)
            os.chmod(workdir, 0o777)
            self.policies.append(replace(base, uid=uid, workdir=workdir))
        self.teardowns: list[threading.Thread | None] = [None] * SLOTS_PER_WORKER
        warm_zygote(self.ctx).join()  # returns once the zygote's imports are done
        self.spares = [spawn_child(self.ctx, policy) for policy in self.policies]
        self.startup = time.perf_counter() - started

    def _tear_down(self, box: Sandbox, turn: int) -> None:
        box.close()  # kills the sandbox's namespace: nothing of this submission outlives it
        self.spares[turn] = spawn_child(self.ctx, box.policy)

    def close(self) -> None:
        for thread in filter(None, self.teardowns):
            thread.join()
        for proc, sock in filter(None, self.spares):
            sock.close()
            proc.terminate()
            proc.join(5)
        self.checks.close()
        for lock in self.uid_locks:
            os.close(lock)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def grade(self, job: Job) -> Graded:
        """Execute a submission's cells in a sandbox, then run its parts' checks against it."""
        started = time.perf_counter()
        turn = self.jobs % SLOTS_PER_WORKER
        self.jobs += 1
        if self.teardowns[turn] is not None:  # this slot's last sandbox must be gone before it is used again
            self.teardowns[turn].join()
        spare, self.spares[turn] = self.spares[turn], None
        box = Sandbox(self.ctx, job.cells, self.policies[turn], spare, locked=frozenset(job.locked),
                      language=job.language)
        try:
            runs = box.start()
            checked = self.checks.run_parts(job.assignment, [p for p, _ in job.parts], SandboxStudent(box), job.seed,
                                            job.language)
        finally:
            box.note_peak()
            self.teardowns[turn] = threading.Thread(target=self._tear_down, args=(box, turn), name=f"teardown-{turn}")
            self.teardowns[turn].start()
        timing = Timing(wall=time.perf_counter() - started, compute=box.busy + checked.check_seconds,
                        child_peak_rss=box.peak_rss, worker_startup=self.startup,
                        worker_peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        return Graded(job.key, self.layers.summary(), {str(i): vars(r) for i, r in runs.items()},
                      {p: {"score": r.score, "passed": r.passed, "total": r.total, "report": r.report(),
                           "outcomes": [{**vars(o), "message": o.message[:MAX_CHECK_MESSAGE]} for o in r.outcomes]}
                       for p, r in checked.items()}, timing)


# -- the local pool's entry points (ProcessPoolExecutor needs module-level functions) -----------------
_worker: Worker | None = None


def init(course: str, limits: dict | None, layers: isolation.Layers) -> None:
    global _worker
    import atexit

    _worker = Worker(course, limits, layers)
    _worker.start()
    atexit.register(_worker.close)


def grade_one(job: Job) -> Graded:
    return _worker.grade(job)
