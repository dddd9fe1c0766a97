"""Reading notebooks: the one place that loads an .ipynb and tells test cells from the rest."""
from __future__ import annotations

from pathlib import Path

import nbformat

from grader.student.selfcheck import is_autograded_test, runnable_source  # noqa: F401 (one definition, shipped)


class NotebookError(ValueError):
    """A notebook that cannot be graded as it is; the message names the file, the cell and the fix."""


def load_notebook(path: Path) -> nbformat.NotebookNode:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotebookError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{path}: not UTF-8 text (byte {exc.start}); re-save the notebook from Jupyter") from None
    except Exception as exc:  # nbformat raises several JSON/validation errors; all mean the same to a user
        raise NotebookError(f"{path}: not a valid notebook ({type(exc).__name__}: {str(exc)[:200]})") from None
    return nb


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def graded_parts(nb) -> list[tuple[str, float]]:
    """(grade_id, points) of every autograded test cell, in notebook order; grade_id names the part."""
    return [(nbgrader_meta(c)["grade_id"], float(nbgrader_meta(c).get("points", 0)))
            for c in nb.cells if is_autograded_test(c)]


def locked_cells(nb) -> list[int]:
    """Indices of the instructor's locked code cells (restored from the gradebook by sanitize)."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and nbgrader_meta(c).get("locked")
            and not nbgrader_meta(c).get("solution") and not is_autograded_test(c)]


def student_code(nb) -> list[tuple[int, str]]:
    """(cell index, source) of the code cells the student's process runs: all but the test cells."""
    return [(i, runnable_source(c.source)) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and not is_autograded_test(c)]

