"""The one place where the book reaches into the grader: which exercises exist and how one is archived.

The grader owns both facts (the assignment list is read from ``solutions/*/``); the book only
links to them and ships the archives students download.
"""

from __future__ import annotations

from pathlib import Path

from grader.course.release import archive_assignment  # noqa: F401  (re-exported)
from grader.layout import ASSIGNMENTS, EXERCISES  # noqa: F401  (re-exported)

from .i18n import SOURCE_LANGUAGE


def release_folder(assignment: str, language: str | None) -> Path:
    """The release an edition in ``language`` hands out: ``exercises/<lang>/<a>/`` where it exists
    (the English release), else nbgrader's own release folder ``exercises/<a>/`` (Chinese)."""
    if language and language != SOURCE_LANGUAGE:
        translated = EXERCISES / language
        if (translated / assignment / f"{assignment}.ipynb").is_file():
            return translated
    return EXERCISES
