"""In-kernel grading for plain ``nbgrader autograde``: the hidden region of each test cell calls ``grade``.

This trusts the kernel the submission ran in; ``make grade`` instead keeps checks out of the student's
process (see grader/execute.py).  Output goes to stdout only: nbgrader scores 0 on any stderr.
"""
from __future__ import annotations

import os
import secrets
import sys

from grader.engine.check import run_part
from grader.student.selfcheck import LocalStudent


def grading_seed() -> int:
    """GRADER_SEED when set (to reproduce a run), otherwise fresh at every grading."""
    return int(os.environ.get("GRADER_SEED") or secrets.randbits(31))


def grade(assignment: str, part: str, points: float, namespace: dict | None = None) -> float:
    """Grade one part in this kernel; returns points earned, which nbgrader reads as partial credit."""
    ns = namespace if namespace is not None else vars(sys.modules["__main__"])
    result = run_part(assignment, part, LocalStudent(ns), grading_seed())
    print(result.report(), end="")
    return round(result.score * points, 4)
