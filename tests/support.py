"""Test helpers shared by the assignment suites: run a notebook's student code in-process and grade it."""
from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import grader.selfcheck
from grader.cells import graded_parts, load_notebook, student_code
from grader.check import run_parts
from grader.selfcheck import LocalStudent

ROOT = Path(__file__).resolve().parents[1]
# The release imports `selfcheck` from its own folder; in-process runs use the grader's copy.
sys.modules.setdefault("selfcheck", grader.selfcheck)


def solution_path(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def release_path(assignment: str) -> Path:
    return ROOT / "exercises" / assignment / f"{assignment}.ipynb"


def namespace_from(path: Path, replace: dict[str, str] | None = None) -> dict:
    """Execute a notebook's non-test code cells in a fresh namespace, continuing past errors as nbgrader does.

    ``replace`` maps an exact source snippet to its mutant; every snippet must occur, so a mutation
    can never silently stop applying when the notebook changes.
    """
    cells = [src for _, src in student_code(load_notebook(path))]
    source = "\n\n# <cell>\n".join(cells)
    for old, new in (replace or {}).items():
        assert source.count(old) >= 1, f"mutation target not found in {path.name}: {old!r}"
        source = source.replace(old, new)
    ns: dict = {"__name__": "__main__"}
    for cell in source.split("\n\n# <cell>\n"):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                exec(compile(cell, str(path), "exec"), ns)
            except Exception:
                pass
    return ns


def grade_namespace(assignment: str, ns: dict, seed: int = 1234) -> dict[str, float]:
    """Share of checks passed for every part of the assignment, keyed by part (grade_id)."""
    parts = [part for part, _ in graded_parts(load_notebook(solution_path(assignment)))]
    return {part: r.score for part, r in run_parts(assignment, parts, LocalStudent(ns), seed).items()}
