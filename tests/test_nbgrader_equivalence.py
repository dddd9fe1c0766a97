"""Honest submissions score the same under `make grade` as under plain `nbgrader autograde`.

Also the assignments issue's acceptance: under plain nbgrader the solution gets full marks on every
autograded cell and the untouched release gets 0.
"""
import os
import shutil

import pytest

from grader.layout import ASSIGNMENTS
from grader.course.bench import build_batch, code_scores
from grader.engine.pipeline import grade_course
from grader.engine.gradebook import Gradebook, db_url_for, ensure_gradebook, nbgrader_api


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    ours = tmp_path_factory.mktemp("engine")
    build_batch(ours, students=3)  # s00 correct, s01 first answer blank, s02 untouched release
    theirs = tmp_path_factory.mktemp("nbgrader")
    shutil.copytree(ours / "submitted", theirs / "submitted")
    ensure_gradebook(theirs)
    os.environ["GRADER_SEED"] = "7"
    api = nbgrader_api(theirs)
    for a in ASSIGNMENTS:
        for student in ("s00", "s01", "s02"):
            result = api.autograde(a, student, force=True, create=True)
            assert result["success"], (result.get("error") or result.get("log") or "")[-2000:]
    grade_course(ours, demo=True, workers=2, seed=7)
    return code_scores(ours), code_scores(theirs), theirs


def test_plain_nbgrader_gives_the_solution_full_marks_and_the_release_zero(both):
    _, theirs, course = both
    with Gradebook(db_url_for(course)) as gb:
        for a in ASSIGNMENTS:
            full = sum(c.max_score for c in gb.find_notebook(a, a).grade_cells if c.cell_type == "code")
            assert theirs[("s00", a)] == pytest.approx(full), a
            assert theirs[("s02", a)] == 0, a
            assert 0 < theirs[("s01", a)] < full, a


def test_engine_and_nbgrader_agree_on_every_honest_submission(both):
    ours, theirs, _ = both
    assert ours == theirs
