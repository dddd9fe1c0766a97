"""Our adaptations of nbgrader 0.9, in one place and installed explicitly (``install()``).

nbgrader does two things once per cell or per preprocessor that a whole class recorded in one process
pays for again and again; ``install`` makes it do them once, with the same results (both guarded by
tests that compare against the untuned behaviour).  A new gradebook asks the ``alembic`` command for
the schema's head revision: ``install`` reads it in-process through alembic's own API instead, so
grading works wherever ``alembic`` is not on ``PATH`` (an ordinary user's venv made from the system's
python has no console scripts).  It also quiets nbgrader's SQLAlchemy warnings and puts the
interpreter's folder on ``PATH`` for nbgrader's other commands.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import warnings

import jsonschema
import nbgrader.api
import nbgrader.nbgraderformat.common
from sqlalchemy.exc import SAWarning

_UNTUNED_CREATE_ENGINE = nbgrader.api.create_engine


class SchemaOnceJsonschema:
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


@functools.lru_cache(maxsize=1)
def alembic_head() -> str:
    """What ``alembic heads`` prints first for nbgrader's migrations (nbgrader.api.get_alembic_version)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def install() -> None:
    """Idempotent; every entry point that drives nbgrader (pipeline, release, tests, and nbgrader's own
    commands through nbgrader_config.py) calls it."""
    # nbgrader's own session use trips these on every update_or_create; they say nothing to an instructor.
    warnings.filterwarnings("ignore", category=SAWarning)
    # nbgrader builds a new SQLAlchemy engine for every Gradebook, and each of its preprocessors opens one,
    # so every query was compiled afresh: a third of recording a submission.  One engine per gradebook in a
    # process keeps SQLAlchemy's statement cache warm; Gradebook.close() still disposes of its connections.
    if nbgrader.api.create_engine is _UNTUNED_CREATE_ENGINE:
        nbgrader.api.create_engine = functools.lru_cache(maxsize=16)(_UNTUNED_CREATE_ENGINE)
    nbgrader.api.get_alembic_version = alembic_head
    if not isinstance(nbgrader.nbgraderformat.common.jsonschema, SchemaOnceJsonschema):
        nbgrader.nbgraderformat.common.jsonschema = SchemaOnceJsonschema()
    # nbgrader's Gradebook shells out to `alembic`; make the venv's copy findable when run as .venv/bin/python.
    folder = os.path.dirname(sys.executable)
    if folder not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = folder + os.pathsep + os.environ.get("PATH", "")
