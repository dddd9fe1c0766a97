"""In-kernel grading: the hidden region of each test cell calls ``grade``, inside the notebook's own kernel.

That trusts the kernel the submission ran in, so it serves only where trust is not at stake: ``nbgrader
validate`` and an instructor running a solution notebook.  ``nbgrader autograde`` with this repository's
nbgrader_config.py never runs these cells (the engine grades, grader/engine/nbgrader_autograde.py); an
autograde that does reach them (nbgrader without that config) is refused, naming ``python -m grader grade``,
unless a measurement of plain nbgrader asks for it (``trusting_the_kernel``).  Output goes to stdout
only: nbgrader scores 0 on any stderr.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import sys

from grader.engine.check import run_part
from grader.student.selfcheck import LocalStudent

TRUST_ENV = "NUMSTAB_TRUST_KERNEL"  # set only by trusting_the_kernel(), in the grader's own process
REFUSED = ("refusing to autograde inside the student's kernel (a submission could patch torch or the checks): "
           "this is nbgrader autograde without the repository's nbgrader_config.py; run it from the repository "
           "root, whose config grades in the sandbox, or run `python -m grader grade COURSE`")


class InKernelRefused(RuntimeError):
    pass


@contextlib.contextmanager
def trusting_the_kernel():
    """Let plain nbgrader grade in the student's kernel (kernels started inside inherit it): for measuring
    plain nbgrader against the engine (`make bench`, the equivalence tests), never for a class's grades."""
    before = os.environ.get(TRUST_ENV)
    os.environ[TRUST_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(TRUST_ENV, None)
        else:
            os.environ[TRUST_ENV] = before


def grading_seed() -> int:
    """GRADER_SEED when set (to reproduce a run), otherwise fresh at every grading."""
    return int(os.environ.get("GRADER_SEED") or secrets.randbits(31))


def grade(assignment: str, part: str, points: float, namespace: dict | None = None) -> float:
    """Grade one part in this kernel; returns points earned, which nbgrader reads as partial credit."""
    # nbgrader sets NBGRADER_EXECUTION around its kernels: "autograde" in autograde, "validate" in validate
    if os.environ.get("NBGRADER_EXECUTION") == "autograde" and os.environ.get(TRUST_ENV) != "1":
        raise InKernelRefused(REFUSED)
    ns = namespace if namespace is not None else vars(sys.modules["__main__"])
    result = run_part(assignment, part, LocalStudent(ns), grading_seed())
    print(result.report(), end="")
    return round(result.score * points, 4)
