"""Course directories for nbgrader: the one place that builds nbgrader's API with our configuration.

nbgrader stores the source (with hidden tests) in the gradebook when it generates an assignment;
sanitize restores locked cells from there, as nbgrader's autograde does.  Importing this module also
makes nbgrader do once per process two things it repeats per cell or per preprocessor (below): same
results, a fraction of the time when a whole class is recorded in one process.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import warnings
from pathlib import Path

import jsonschema
import nbgrader.api
import nbgrader.nbgraderformat.common
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader

from grader import ASSIGNMENTS

REPO = Path(__file__).resolve().parents[1]

# nbgrader's own session use trips these on every update_or_create; they say nothing to an instructor.
warnings.filterwarnings("ignore", category=SAWarning)
# nbgrader builds a new SQLAlchemy engine for every Gradebook, and each of its preprocessors opens one,
# so every query was compiled afresh: a third of recording a submission.  One engine per gradebook in a
# process keeps SQLAlchemy's statement cache warm; Gradebook.close() still disposes of its connections.
nbgrader.api.create_engine = functools.lru_cache(maxsize=16)(nbgrader.api.create_engine)


class _SchemaOnceJsonschema:
    """``jsonschema`` as nbgrader's cell-metadata validator sees it, checking each schema once.

    ``jsonschema.validate`` first validates the schema itself against the metaschema, on every call:
    nbgrader calls it per cell, and that was 40 % of sanitizing a notebook.  nbgrader's schema is a
    constant file, so one checked validator per schema gives the same verdicts and the same errors.
    """

    def __init__(self):
        self._validators = {}

    def validate(self, instance, schema):
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):
        return getattr(jsonschema, name)


nbgrader.nbgraderformat.common.jsonschema = _SchemaOnceJsonschema()
# nbgrader's Gradebook shells out to `alembic`; make the venv's copy findable when run as .venv/bin/python.
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")


def db_url_for(course: Path) -> str:
    return f"sqlite:///{Path(course).resolve() / 'gradebook.db'}"


def nbgrader_api(root: Path, release_dir: Path | None = None):
    """NbGraderAPI for a course root, with the repo's nbgrader_config.py (stubs, source folder)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    cfg = PyFileConfigLoader("nbgrader_config.py", str(REPO)).load_config()
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
