"""An LMS download archive grades with `make grade` (nbgrader's zip_collect conventions)."""
import zipfile

import nbformat

from grader.__main__ import main
from grader.engine.notebook import graded_parts, load_notebook
from grader.course.demo import _answers, solved
from grader.layout import REPO
from grader.engine.gradebook import Gradebook, db_url_for


def test_archive_is_collected_and_graded(tmp_path):
    a = "eigen_bounds"
    release = load_notebook(REPO / "exercises" / a / f"{a}.ipynb")
    good = solved(release, _answers(load_notebook(REPO / "solutions" / a / f"{a}.ipynb")))
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"numstab_alice_attempt_2026-11-20-12-00-00_{a}.ipynb", nbformat.writes(good))
        z.writestr(f"numstab_carol_attempt_2026-11-21-08-30-00_{a}.ipynb", nbformat.writes(release))
        z.writestr("numstab_readme.txt", "not a submission")
    course = tmp_path / "course"
    assert main(["grade", str(course), "--demo", "--no-feedback", "--workers", "1", "--zip", f"{a}={archive}"]) == 0
    assert (course / "submitted" / "alice" / a / f"{a}.ipynb").is_file()
    with Gradebook(db_url_for(course)) as gb:
        scores = {s.student.id: s.code_score for s in gb.find_assignment(a).submissions}
    full = sum(points for _, points in graded_parts(load_notebook(REPO / "solutions" / a / f"{a}.ipynb")))
    assert scores == {"alice": full, "carol": 0}


def test_a_missing_archive_is_a_clear_error_not_a_crash(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "c"), "--demo", "--zip", f"symmetry={tmp_path / 'nope.zip'}"]) == 2
    assert "nope.zip" in capsys.readouterr().out
