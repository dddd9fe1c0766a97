"""Honest totals: the console table and report.html show autograded points apart from the written answers,
and the points still waiting for a manual grade in formgrader; a manual grade, once given, counts."""
from __future__ import annotations

import re
import shutil

import pytest

from grader.__main__ import main
from grader.course.demo import build_demo_class
from grader.engine.gradebook import Gradebook, db_url_for
from grader.engine.report import totals

pytestmark = pytest.mark.slow
ASSIGNMENT = "divergence"  # 9 autograded points, one written answer worth 3
CLASS = ("alice", "carol", "grace")  # correct code, blank; the release untouched; correct code + written answer


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = build_demo_class(tmp_path_factory.mktemp("course"))
    for student in (course / "submitted").iterdir():
        for folder in student.iterdir():
            if student.name not in CLASS or folder.name != ASSIGNMENT:
                shutil.rmtree(folder)
    return course


def grade(course, capsys, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps table cells at the terminal's width
    # the course in English: these are the words an English-speaking instructor reads (zh_CN: tests/test_messages.py)
    assert main(["grade", str(course), "--demo", "--no-feedback", "--workers", "1", "--seed", "11",
                 "--language", "en"]) == 0
    return capsys.readouterr().out


def row(console: str, student: str) -> str:
    return re.search(rf"│ {student}\s+│\s*(.+?)\s*│", console).group(1)


def test_before_formgrader_the_written_points_are_apart_and_counted_as_waiting(course, capsys, monkeypatch):
    console = grade(course, capsys, monkeypatch)
    assert row(console, "alice") == "9/9 · written 0/3"  # her untouched answer is nbgrader's automatic 0
    assert row(console, "grace") == "9/9 · 3 to grade by hand"
    assert row(console, "carol") == "0/9 · written 0/3"
    assert "1 answer (3 points) waits for a manual grade in formgrader" in console and "grace/divergence" in console
    report = (course / "report.html").read_text(encoding="utf-8")
    top = report[:report.index("Isolation in force")]  # the count is at the top of the report
    assert "1 answer (3 points) waits for a manual grade in formgrader" in top
    assert "<td>9/9 · 3 to grade by hand</td>" in report and "<td>9/9 · written 0/3</td>" in report
    assert "1 answers to grade by hand" in report
    assert totals(db_url_for(course))[ASSIGNMENT]["grace"].score == 9


def test_a_manual_grade_given_in_the_gradebook_counts(course, capsys, monkeypatch):
    grade(course, capsys, monkeypatch)  # graded (or unchanged) first, whatever ran before
    with Gradebook(db_url_for(course)) as gb:  # what formgrader's GradeHandler.put stores for a manual grade
        written = [g for nb in gb.find_submission(ASSIGNMENT, "grace").notebooks for g in nb.grades
                   if g.cell.cell_type == "markdown"]
        assert len(written) == 1 and written[0].needs_manual_grade
        written[0].manual_score, written[0].needs_manual_grade = 2.5, False
        gb.db.commit()
    console = grade(course, capsys, monkeypatch)
    assert row(console, "grace") == "9/9 · written 2.5/3"
    assert "no answer waits for a manual grade" in console
    report = (course / "report.html").read_text(encoding="utf-8")
    assert "<td>9/9 · written 2.5/3</td>" in report and "no answer waits for a manual grade" in report
    assert totals(db_url_for(course))[ASSIGNMENT]["grace"].score == 11.5
