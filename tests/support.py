"""Test helpers: run a notebook's student code in-process (in-kernel, as plain nbgrader would)."""
from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import grader.student.selfcheck
from grader.engine.notebook import load_notebook, student_code
from grader.layout import release_notebook as release_path, source_notebook as solution_path  # noqa: F401 (re-exported)

# The release imports `selfcheck` from its own folder; in-process runs use the grader's copy.
sys.modules.setdefault("selfcheck", grader.student.selfcheck)


def namespace_from(notebook: Path | list[tuple[int, str]], replace: dict[str, str] | None = None) -> dict:
    """Execute a notebook's non-test code cells (or the given ``(index, source)`` cells) in a fresh
    namespace, continuing past errors as nbgrader does.

    ``replace`` maps an exact source snippet to its mutant; every snippet must occur, so a mutation
    can never silently stop applying when the notebook changes.
    """
    cells = student_code(load_notebook(notebook)) if isinstance(notebook, (str, Path)) else list(notebook)
    for old, new in (replace or {}).items():
        assert any(old in src for _, src in cells), f"mutation target not found: {old!r}"
        cells = [(i, src.replace(old, new)) for i, src in cells]
    ns: dict = {"__name__": "__main__"}
    for index, source in cells:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                exec(compile(source, f"<cell {index}>", "exec"), ns)
            except Exception:
                pass
    return ns
