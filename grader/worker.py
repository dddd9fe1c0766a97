"""One grading worker: a checker process with its own warm zygote and its own sandbox uid slot.

The pool hands it plain jobs (cells, parts, seed); it answers with plain results.  Student code runs
only in the zygote's children; the checks run here, in one pytest session for the worker's life,
against the worker's own unpatched torch.
"""
from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

from grader import ASSIGNMENTS, isolation
from grader.check import CheckSession
from grader.execute import Placement, Sandbox, SandboxStudent, warm_zygote, zygote_context

REPO = Path(__file__).resolve().parents[1]
_state: dict = {}


def init(slot_counter, course: str, limits: dict | None) -> None:
    """Slot, zygote and checks session; returns when all are ready, so that jobs are timed warm."""
    started = time.perf_counter()
    with slot_counter.get_lock():
        slot = slot_counter.value
        slot_counter.value += 1
    import torch

    # One worker per core: BLAS threads beyond that only spin against the other workers.
    torch.set_num_threads(1)
    level = isolation.level()
    hide = [str(REPO), str(Path(course).resolve()), os.path.expanduser("~")]
    _state["ctx"] = zygote_context()
    zygote = warm_zygote(_state["ctx"])  # imports torch in its own process while this one collects the checks
    _state["checks"] = CheckSession(ASSIGNMENTS)
    _state["checks"].start()
    _state["place"] = Placement(slot=slot, level=level, hide=hide, keep=[sys.prefix, sys.base_prefix],
                                workdir=str(Path(course).resolve() / ".sandbox" / str(slot)),
                                limits=isolation.Limits(**(limits or {})))
    Path(_state["place"].workdir).mkdir(parents=True, exist_ok=True)
    zygote.join()
    _state["startup"] = time.perf_counter() - started


def grade_one(job: dict) -> dict:
    """Execute a submission's cells in a sandbox, then run its parts' checks against it."""
    started = time.perf_counter()
    box = Sandbox(_state["ctx"], job["cells"], _state["place"])
    try:
        runs = box.start()
        cells_seconds = box.busy
        spent: dict = {}
        results = _state["checks"].run_parts(job["assignment"], [p for p, _ in job["parts"]], SandboxStudent(box), job["seed"], spent)
    finally:
        box.close()
    return {
        "key": job["key"],
        "level": _state["place"].level,
        "runs": {str(i): vars(r) for i, r in runs.items()},
        # compute = the notebook's cells + the check bodies (student calls included); the rest is overhead
        "timing": {"wall": time.perf_counter() - started, "compute": cells_seconds + spent.get("checks", 0.0),
                   "child_peak_rss": box.peak_rss, "worker_startup": _state["startup"],
                   "worker_peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024},
        "parts": {p: {"score": r.score, "passed": r.passed, "total": r.total, "report": r.report(),
                      "outcomes": [vars(o) for o in r.outcomes]} for p, r in results.items()},
    }
