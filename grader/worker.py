"""One grading worker: a checker process with its own warm zygote and two sandbox uid slots.

The pool hands it plain jobs (cells, parts, seed); it answers with plain results.  Student code runs
only in the zygote's children; the checks run here, in one pytest session for the worker's life,
against the worker's own unpatched torch.
"""
from __future__ import annotations

import atexit
import os
import resource
import sys
import threading
import time
from pathlib import Path

from grader import ASSIGNMENTS, isolation
from grader.check import CheckSession
from grader.execute import Placement, Sandbox, SandboxStudent, spawn_child, warm_zygote, zygote_context

REPO = Path(__file__).resolve().parents[1]
# One sandbox is torn down (killed, reaped, its uid swept) and its successor forked and isolated while
# the next submission runs under the worker's other uid: both overlap with useful work instead of
# adding to every notebook.
SLOTS_PER_WORKER = 2
_state: dict = {}


def init(slot_counter, course: str, limits: dict | None) -> None:
    """Slot, zygote and checks session; returns when all are ready, so that jobs are timed warm."""
    started = time.perf_counter()
    with slot_counter.get_lock():
        first = slot_counter.value
        slot_counter.value += SLOTS_PER_WORKER
    import torch

    # One worker per core: BLAS threads beyond that only spin against the other workers.
    torch.set_num_threads(1)
    level = isolation.level()
    hide = [str(REPO), str(Path(course).resolve()), os.path.expanduser("~")]
    _state["ctx"] = zygote_context()
    zygote = warm_zygote(_state["ctx"])  # imports torch in its own process while this one collects the checks
    _state["checks"] = CheckSession(ASSIGNMENTS)
    _state["checks"].start()
    _state["places"] = [Placement(slot=slot, level=level, hide=hide, keep=[sys.prefix, sys.base_prefix],
                                  workdir=str(Path(course).resolve() / ".sandbox" / str(slot)),
                                  limits=isolation.Limits(**(limits or {})))
                        for slot in range(first, first + SLOTS_PER_WORKER)]
    for place in _state["places"]:
        Path(place.workdir).mkdir(parents=True, exist_ok=True)
    _state["teardowns"] = [None] * SLOTS_PER_WORKER
    _state["jobs"] = 0
    zygote.join()
    _state["spares"] = [spawn_child(_state["ctx"], place, torch.cuda.is_available()) for place in _state["places"]]
    atexit.register(_shut_down)
    _state["startup"] = time.perf_counter() - started


def _tear_down(box: Sandbox, turn: int) -> None:
    box.close()  # kills the child and sweeps its uid: nothing of this submission outlives it
    _state["spares"][turn] = spawn_child(_state["ctx"], box.place, box.cuda)


def _shut_down() -> None:
    for thread in filter(None, _state["teardowns"]):
        thread.join()
    for proc, sock in filter(None, _state["spares"]):
        sock.close()
        proc.kill()
        proc.join(5)
    if _state["places"][0].level == "namespaces":
        for place in _state["places"]:
            isolation.kill_uid(isolation.SANDBOX_UID_BASE + place.slot)


def grade_one(job: dict) -> dict:
    """Execute a submission's cells in a sandbox, then run its parts' checks against it."""
    started = time.perf_counter()
    turn = _state["jobs"] % SLOTS_PER_WORKER
    _state["jobs"] += 1
    if _state["teardowns"][turn] is not None:  # this uid's last sandbox must be gone before it is used again
        _state["teardowns"][turn].join()
    place = _state["places"][turn]
    spare, _state["spares"][turn] = _state["spares"][turn], None
    box = Sandbox(_state["ctx"], job["cells"], place, spare)
    try:
        runs = box.start()
        cells_seconds = box.busy
        spent: dict = {}
        results = _state["checks"].run_parts(job["assignment"], [p for p, _ in job["parts"]], SandboxStudent(box), job["seed"], spent)
    finally:
        box.note_peak()
        _state["teardowns"][turn] = threading.Thread(target=_tear_down, args=(box, turn), name=f"teardown-{place.slot}")
        _state["teardowns"][turn].start()
    return {
        "key": job["key"],
        "level": place.level,
        "runs": {str(i): vars(r) for i, r in runs.items()},
        # compute = the notebook's cells + the check bodies (student calls included); the rest is overhead
        "timing": {"wall": time.perf_counter() - started, "compute": cells_seconds + spent.get("checks", 0.0),
                   "child_peak_rss": box.peak_rss, "worker_startup": _state["startup"],
                   "worker_peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024},
        "parts": {p: {"score": r.score, "passed": r.passed, "total": r.total, "report": r.report(),
                      "outcomes": [vars(o) for o in r.outcomes]} for p, r in results.items()},
    }
