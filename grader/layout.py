"""Where things live: the one place that knows the repository's folders and its assignments.

An assignment is a folder ``solutions/<name>/`` holding the nbgrader source notebook ``<name>.ipynb``;
its checks live in ``grader/checks/<name>/``.  Nothing else lists the assignments.
"""
from __future__ import annotations

from pathlib import Path

from grader.i18n import SOURCE_LANGUAGE

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
SOLUTIONS = REPO / "solutions"      # nbgrader's source folder
EXERCISES = REPO / "exercises"      # nbgrader's release folder (generated): the Chinese release
# The statements' catalogs, <language>/LC_MESSAGES/<assignment>.po, beside the source notebooks; a dot
# folder, because nbgrader takes every other folder of its source folder for an assignment (formgrader lists it)
STATEMENT_LOCALE = SOLUTIONS / ".locale"
CHECKS = REPO / "grader" / "checks"
SELFCHECK = REPO / "grader" / "student" / "selfcheck.py"
BUILD = REPO / "_build"
DIST = REPO / "dist"
NBGRADER_CONFIG = REPO / "nbgrader_config.py"
PUBLIC_CHECKS = "public_checks.py"  # file name of an assignment's shipped checks
MUTANTS_BUILD = BUILD / "mutants"  # `make mutants`: the generated class of mutants and its gradebook
EQUIVALENT_MUTANTS = "equivalent_mutants.py"  # per assignment: the surviving mutants reviewed as equivalent (never ships)
BOOK_SECTIONS = "book_sections.py"  # where the book teaches each part, and the public checks' hints (shipped)


def _assignments() -> tuple[str, ...]:
    return tuple(sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file()))


ASSIGNMENTS = _assignments()


def source_notebook(assignment: str) -> Path:
    return SOLUTIONS / assignment / f"{assignment}.ipynb"


def release_folder(language: str = SOURCE_LANGUAGE) -> Path:
    """nbgrader's release folder of one language: ``exercises/`` (the source language), ``exercises/<language>/``."""
    return EXERCISES if language == SOURCE_LANGUAGE else EXERCISES / language


def release_notebook(assignment: str, language: str = SOURCE_LANGUAGE) -> Path:
    return release_folder(language) / assignment / f"{assignment}.ipynb"


def statement_catalog(assignment: str, language: str) -> Path:
    """The gettext catalog of ``assignment``'s statements in ``language`` (instructor side: never ships)."""
    return STATEMENT_LOCALE / language / "LC_MESSAGES" / f"{assignment}.po"


def checks_of(assignment: str) -> Path:
    return CHECKS / assignment


def shipped_files(assignment: str) -> dict[str, Path]:
    """The files a release of ``assignment`` carries beside its notebook, and where each comes from."""
    return {"selfcheck.py": SELFCHECK, PUBLIC_CHECKS: CHECKS / assignment / PUBLIC_CHECKS,
            BOOK_SECTIONS: CHECKS / assignment / BOOK_SECTIONS}
