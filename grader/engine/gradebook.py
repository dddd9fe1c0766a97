"""nbgrader's course directory and gradebook, built with this repository's configuration.

nbgrader stores the source (with hidden tests) in the gradebook when it generates an assignment;
sanitize restores locked cells from there, as nbgrader's autograde does.
"""
from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry  # noqa: F401 (the stages take Gradebook from here)
from traitlets.config.loader import PyFileConfigLoader

from grader.engine import nbgrader_tuning
from grader.layout import ASSIGNMENTS, NBGRADER_CONFIG


def db_url_for(course: Path) -> str:
    return f"sqlite:///{Path(course).resolve() / 'gradebook.db'}"


def repo_config():
    """The repository's nbgrader_config.py (stubs, source and release folders)."""
    return PyFileConfigLoader(NBGRADER_CONFIG.name, str(NBGRADER_CONFIG.parent)).load_config()


def nbgrader_api(root: Path, release_dir: Path | None = None):
    """NbGraderAPI for a course root, with the repo's nbgrader_config.py (stubs, source folder)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    nbgrader_tuning.install()
    cfg = repo_config()
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    cfg.CourseDirectory.root = str(root)
    cfg.CourseDirectory.release_directory = str(Path(release_dir or root / "release").resolve())
    cfg.CourseDirectory.db_url = db_url_for(root)
    return NbGraderAPI(CourseDirectory(config=cfg), config=cfg)


def generate(api, assignment: str) -> None:
    result = api.generate_assignment(assignment, force=True)
    if not result["success"]:
        detail = result.get("error") or result.get("log") or ""
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{detail[-3000:]}")


def ensure_gradebook(course: Path) -> str:
    """Generate into the course's own release folder any assignment its gradebook lacks."""
    nbgrader_tuning.install()
    course = Path(course).resolve()
    course.mkdir(parents=True, exist_ok=True)
    db_url = db_url_for(course)
    with Gradebook(db_url) as gb:
        missing = []
        for a in ASSIGNMENTS:
            try:
                gb.find_notebook(a, a)
            except MissingEntry:
                missing.append(a)
    if missing:
        api = nbgrader_api(course)
        for a in missing:
            generate(api, a)
    return db_url
