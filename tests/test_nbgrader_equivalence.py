"""Honest submissions score the same under `make grade` as under plain, stock `nbgrader autograde`.

Plain nbgrader here is nbgrader's own Autograde (cells and hidden checks in the student's kernel),
measured under ``trusting_the_kernel()``: the repository's nbgrader_config.py sends `nbgrader autograde`
through the engine instead (tests/test_nbgrader_commands.py).  Also the assignments issue's acceptance:
under plain nbgrader the solution gets full marks on every autograded cell and the untouched release
gets 0; and without the explicit trust, plain nbgrader's in-kernel grading is refused.
"""
import os
import shutil

import nbformat
import pytest

from grader.layout import ASSIGNMENTS, REPO
from grader.course.bench import build_batch, code_scores
from grader.engine.inkernel import trusting_the_kernel
from grader.engine.nbgrader_autograde import plain_nbgrader_api
from grader.engine.pipeline import grade_course
from grader.engine.gradebook import Gradebook, db_url_for, ensure_gradebook


@pytest.fixture
def kernel_env(monkeypatch):
    """The kernels nbgrader starts import this checkout's grader, with a fixed seed."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("GRADER_SEED", "7")


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    ours = tmp_path_factory.mktemp("engine")
    build_batch(ours, students=3)  # s00 correct, s01 first answer blank, s02 untouched release
    theirs = tmp_path_factory.mktemp("nbgrader")
    shutil.copytree(ours / "submitted", theirs / "submitted")
    ensure_gradebook(theirs)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYTHONPATH", str(REPO))
        env.setenv("GRADER_SEED", "7")
        api = plain_nbgrader_api(theirs)
        with trusting_the_kernel():
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


def test_plain_nbgrader_without_the_trust_refuses_to_grade_in_the_kernel(both, kernel_env, tmp_path):
    """nbgrader autograde that runs the hidden cells in the kernel (not the repository's config) scores
    nothing and says, in every test cell, to grade with the engine."""
    _, _, graded = both
    a = ASSIGNMENTS[0]
    shutil.copytree(graded / "submitted" / "s00" / a, tmp_path / "submitted" / "s00" / a)
    ensure_gradebook(tmp_path)
    assert plain_nbgrader_api(tmp_path).autograde(a, "s00", force=True, create=True)["success"]
    assert code_scores(tmp_path)[("s00", a)] == 0
    nb = nbformat.read(tmp_path / "autograded" / "s00" / a / f"{a}.ipynb", as_version=4)
    refused = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if o.get("ename") == "InKernelRefused"]
    with Gradebook(db_url_for(tmp_path)) as gb:
        assert len(refused) == len([c for c in gb.find_notebook(a, a).grade_cells if c.cell_type == "code"]) > 0
    assert "python -m grader grade" in refused[0]["evalue"]


def test_plain_nbgrader_is_fooled_by_a_submission_that_replaces_its_grade(kernel_env, tmp_path):
    """Why nbgrader autograde must not grade in the kernel: the unsolved release plus one cell that
    replaces ``grade`` gets full marks from plain nbgrader (the same submission scores 0 through the
    engine: tests/test_nbgrader_commands.py)."""
    from test_nbgrader_commands import cheaters

    a = "equal_weights"
    cheaters(tmp_path, a)
    ensure_gradebook(tmp_path)
    with trusting_the_kernel():
        assert plain_nbgrader_api(tmp_path).autograde(a, "cheat-grader", force=True, create=True)["success"]
    with Gradebook(db_url_for(tmp_path)) as gb:
        full = sum(c.max_score for c in gb.find_notebook(a, a).grade_cells if c.cell_type == "code")
    assert full > 0 and code_scores(tmp_path)[("cheat-grader", a)] == pytest.approx(full)
