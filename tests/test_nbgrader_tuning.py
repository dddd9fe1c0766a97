"""grader.engine.nbgrader_tuning makes nbgrader do once per process what it repeats per cell or preprocessor:
the results must stay exactly nbgrader's."""
import copy

import jsonschema
import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.preprocessors import CheckCellMetadata

from grader.engine import nbgrader_tuning
from grader.engine.gradebook import Gradebook, db_url_for
from grader.layout import ASSIGNMENTS
from grader.engine.notebook import nbgrader_meta

from support import solution_path


def metadata_cases():
    """Every nbgrader cell of the solutions, and broken copies of a few."""
    cases = []
    for a in ASSIGNMENTS:
        cases += [copy.deepcopy(nbgrader_meta(c)) for c in nbformat.read(solution_path(a), 4).cells if nbgrader_meta(c)]
    broken = []
    for meta in cases[:6]:
        for key, bad in (("points", "ten"), ("grade", "yes"), ("grade_id", 7), ("extra", 1)):
            broken.append(dict(copy.deepcopy(meta), **{key: bad}))
    return cases + broken


def verdict(check, instance, schema):
    try:
        check(instance, schema)
        return None
    except jsonschema.ValidationError as exc:
        return (exc.message, list(exc.path))


def test_the_schema_checked_once_gives_jsonschemas_verdicts():
    schema = MetadataValidator().schema
    once = nbgrader_tuning.SchemaOnceJsonschema()
    verdicts = [(verdict(jsonschema.validate, m, schema), verdict(once.validate, m, schema)) for m in metadata_cases()]
    assert all(plain == ours for plain, ours in verdicts)
    assert sum(plain is None for plain, _ in verdicts) > 20 and sum(plain is not None for plain, _ in verdicts) >= 6


def test_nbgrader_still_refuses_corrupted_metadata_every_time():
    nb = nbformat.read(solution_path("divergence"), 4)
    CheckCellMetadata().preprocess(nb, {})  # a valid notebook passes
    nb.cells[0].metadata["nbgrader"] = dict(nbgrader_meta(nb.cells[0]) or {"schema_version": 3}, points="ten")
    for _ in range(2):
        with pytest.raises(ValidationError, match="metadata may be corrupted"):
            CheckCellMetadata().preprocess(nb, {})


def test_gradebooks_of_one_course_share_one_engine(tmp_path):
    nbgrader_tuning.install()
    url = db_url_for(tmp_path)
    with Gradebook(url) as first:
        engine = first.engine
    with Gradebook(url) as second:
        assert second.engine is engine  # SQLAlchemy's statement cache lives on the engine
    (tmp_path / "other").mkdir()
    with Gradebook(db_url_for(tmp_path / "other")) as other:
        assert other.engine is not engine


def test_the_schema_head_read_in_process_is_what_the_alembic_command_says():
    import subprocess
    import sys
    from pathlib import Path

    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
        out = subprocess.check_output([str(Path(sys.executable).parent / "alembic"), "-c", ini, "heads"], text=True)
    assert nbgrader_tuning.alembic_head() == out.split("\n")[0].split(" ")[0] != ""
