"""One grading worker: a checker process with its own warm zygote and two sandbox slots.

The pool (or a Dask worker) hands it plain jobs (cells, parts, seed); it answers with plain results.
Student code runs only in the zygote's children; the checks run here, in one pytest session for the
worker's life, against the worker's own unpatched torch.
"""
from __future__ import annotations

import fcntl
import os
import resource
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.engine import isolation
from multiprocessing import forkserver

from grader.engine.check import CheckSession, cache_bytecode
from grader.engine.execute import (Placement, Sandbox, SandboxStudent, bare_main, spawn_child, warm_zygote,
                                   zygote_context)
from grader.layout import ASSIGNMENTS, REPO
from grader.student.selfcheck import cuda_present

# One sandbox is torn down (killed, reaped, its uid swept) and its successor forked and isolated while
# the next submission runs under the worker's other uid: both overlap with useful work instead of
# adding to every notebook.
SLOTS_PER_WORKER = 2
# Slots are numbered per node, whoever runs the engine: two grading runs on one machine must never
# share a uid, since a slot's uid is swept (every process of it killed) when its sandbox is torn down.
# 512: above the numbers engines before this scheme used (0, 1, 2, ...), which may still run beside.
FIRST_SLOT = 512
MAX_WORKERS_PER_NODE = 256


@dataclass(frozen=True)
class Job:
    """One submission to grade: plain data only (it crosses process and machine boundaries)."""
    key: str
    assignment: str
    cells: list[tuple[int, str]]
    parts: list[tuple[str, float]]
    seed: int


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
    def __init__(self, first_slot: int, course: str, limits: dict | None):
        self.first_slot, self.course, self.limits = first_slot, Path(course).resolve(), limits
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
        level = isolation.level()
        hide = [str(REPO), str(self.course), os.path.expanduser("~")]
        cache_bytecode()
        self.checks = CheckSession(ASSIGNMENTS)
        self.checks.start()
        self.places = [Placement(slot=slot, level=level, hide=hide, keep=[sys.prefix, sys.base_prefix],
                                 workdir=str(self.course / ".sandbox" / str(slot)),
                                 limits=isolation.Limits(**(self.limits or {})))
                       for slot in range(self.first_slot, self.first_slot + SLOTS_PER_WORKER)]
        for place in self.places:
            Path(place.workdir).mkdir(parents=True, exist_ok=True)
        self.teardowns: list[threading.Thread | None] = [None] * SLOTS_PER_WORKER
        warm_zygote(self.ctx).join()  # returns once the zygote's imports are done
        self.spares = [spawn_child(self.ctx, place, cuda_present()) for place in self.places]
        self.startup = time.perf_counter() - started

    def _tear_down(self, box: Sandbox, turn: int) -> None:
        box.close()  # kills the child and sweeps its uid: nothing of this submission outlives it
        self.spares[turn] = spawn_child(self.ctx, box.place, box.cuda)

    def close(self) -> None:
        for thread in filter(None, self.teardowns):
            thread.join()
        for proc, sock in filter(None, self.spares):
            sock.close()
            proc.kill()
            proc.join(5)
        if self.places[0].level == "namespaces":
            for place in self.places:
                isolation.kill_uid(isolation.SANDBOX_UID_BASE + place.slot)

    def grade(self, job: Job) -> Graded:
        """Execute a submission's cells in a sandbox, then run its parts' checks against it."""
        started = time.perf_counter()
        turn = self.jobs % SLOTS_PER_WORKER
        self.jobs += 1
        if self.teardowns[turn] is not None:  # this uid's last sandbox must be gone before it is used again
            self.teardowns[turn].join()
        place = self.places[turn]
        spare, self.spares[turn] = self.spares[turn], None
        box = Sandbox(self.ctx, job.cells, place, spare)
        try:
            runs = box.start()
            checked = self.checks.run_parts(job.assignment, [p for p, _ in job.parts], SandboxStudent(box), job.seed)
        finally:
            box.note_peak()
            self.teardowns[turn] = threading.Thread(target=self._tear_down, args=(box, turn),
                                                    name=f"teardown-{place.slot}")
            self.teardowns[turn].start()
        timing = Timing(wall=time.perf_counter() - started, compute=box.busy + checked.check_seconds,
                        child_peak_rss=box.peak_rss, worker_startup=self.startup,
                        worker_peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        return Graded(job.key, place.level, {str(i): vars(r) for i, r in runs.items()},
                      {p: {"score": r.score, "passed": r.passed, "total": r.total, "report": r.report(),
                           "outcomes": [vars(o) for o in r.outcomes]} for p, r in checked.items()}, timing)


def claim_slots(lock_dir: Path | None = None) -> tuple[int, int]:
    """The first sandbox slot of a new engine on this node (local pool or Dask worker, any run), and
    the fd of the lock that holds it for the process's life.

    One lock file per engine number in a node-local folder: the kernel drops the lock when its
    process dies (kill -9 included), so a restarted worker takes the number back; what its
    predecessor's sandboxes left behind is swept first.  The one place that numbers slots.
    """
    lock_dir = lock_dir or Path(tempfile.gettempdir()) / f"numstab-grader-slots-{os.getuid()}"
    lock_dir.mkdir(mode=0o700, exist_ok=True)
    for n in range(MAX_WORKERS_PER_NODE):
        fd = os.open(lock_dir / f"{n}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        first = FIRST_SLOT + n * SLOTS_PER_WORKER
        if isolation.level() == "namespaces":
            for slot in range(first, first + SLOTS_PER_WORKER):
                isolation.kill_uid(isolation.SANDBOX_UID_BASE + slot)
        return first, fd
    raise RuntimeError(f"more than {MAX_WORKERS_PER_NODE} grading workers on this node ({lock_dir})")


# -- the local pool's entry points (ProcessPoolExecutor needs module-level functions) -----------------
_worker: Worker | None = None


def init(course: str, limits: dict | None) -> None:
    global _worker
    import atexit

    first, _lock = claim_slots()  # the lock is held until this process exits
    _worker = Worker(first, course, limits)
    _worker.start()
    atexit.register(_worker.close)


def grade_one(job: Job) -> Graded:
    return _worker.grade(job)
