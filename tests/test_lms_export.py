"""Grades to the LMS (grader/course/export.py): each format's file parsed back with ``csv`` and held to the
documented header and identifier rules of that LMS.

The gradebook is nbgrader's, with the real assignments, and scores stored through nbgrader's API, as
autograding and formgrader store them.  The LMS exports are written as each LMS writes its own.
"""
from __future__ import annotations

import csv
import io

import pytest

from grader.__main__ import main
from grader.course.export import FORMATS, export_grades
from grader.engine.gradebook import Gradebook, ensure_gradebook

A, B = "divergence", "symmetry"  # 9 + 3 and 12 + 3 points


def give(gb, assignment, student, code: float, written: float | None) -> None:
    """Scores as nbgrader stores them: ``code`` of every autograded cell's points, ``written`` None = waiting
    for formgrader (as formgrader's GradeHandler stores a manual grade otherwise)."""
    sub = gb.add_submission(assignment, student)
    for g in sub.notebooks[0].grades:
        if g.cell.cell_type == "code":
            g.auto_score, g.needs_manual_grade = code * g.max_score, False
        elif written is not None:
            g.manual_score, g.needs_manual_grade = written, False
    gb.db.commit()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    url = ensure_gradebook(course)
    with Gradebook(url) as gb:
        for s in ("alice", "bob", "carol", "dave", "erin"):
            gb.add_student(s)
        give(gb, A, "alice", 1.0, 2.0)    # 9 + 2 of 12, final
        give(gb, B, "alice", 1.0, 3.0)    # 12 + 3 of 15, final
        give(gb, A, "bob", 1 / 3, None)   # his written answer still waits for formgrader: not final
        give(gb, B, "carol", 0.375, 0.0)  # 4.5 + 0 of 15; carol has no divergence submission at all
        give(gb, A, "dave", 1.0, 3.0)     # final, but dave is not enrolled in the LMS
        give(gb, A, "erin", 1 / 3, 1.0)   # final, but the roster's identifier differs in case
    return course


def write(path, rows, delimiter=",", encoding="utf-8"):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def parse(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def roster(tmp_path, ids: dict[str, str]):
    return write(tmp_path / "roster.csv", [["student_id", "lms_id"], *ids.items()])


def assert_no_unknown_columns(header, export_header):
    assert set(header) <= set(export_header), set(header) - set(export_header)
    assert len(header) == len(set(header))


def test_canvas(course, tmp_path, capsys):
    # Canvas's "Export Entire Gradebook": Student, ID, SIS User ID, SIS Login ID, [Integration ID,] Section,
    # then "Name (id)" per assignment, calculated columns, and a "Points Possible" row
    head = ["Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section", f"{A} (101)",
            f"{B} (102)", "Quiz 1 (103)", "Current Score", "Final Score"]
    export = write(tmp_path / "canvas.csv", [
        head, ["    Points Possible", "", "", "", "", "", "12", "10", "5", "(read only)", "(read only)"],
        ["Liu, Alice", "7001", "S1", "aliu", "", "NumStab 1", "8", "", "4", "80", "80"],
        ["Bo, Bob", "7002", "S2", "bbo", "", "NumStab 1", "7", "", "", "70", "70"],
        ["Cai, Carol", "7003", "S3", "ccai", "", "NumStab 1", "", "", "", "", ""],
        ["Eng, Erin", "7005", "S5", "EEng", "", "NumStab 1", "", "", "", "", ""]])
    ids = roster(tmp_path, {"alice": "aliu", "bob": "bbo", "carol": "ccai", "dave": "dzhu", "erin": "eeng"})
    assert main(["export", "--to", "canvas", str(course), "--lms-export", str(export), "--roster", str(ids),
                 "--out", str(tmp_path / "out"), "--language", "en"]) == 0
    printed = capsys.readouterr().out
    header, rows = parse(tmp_path / "out" / f"{A}.csv")
    # Canvas's importer: Student first, ID second, Section last of the student columns, then "Name (id)"
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{A} (101)"]
    assert_no_unknown_columns(header, head)
    assert rows == [{"Student": "Liu, Alice", "ID": "7001", "SIS User ID": "S1", "SIS Login ID": "aliu",
                     "Section": "NumStab 1", f"{A} (101)": "11"}]  # bob waits for formgrader: his 7 stays
    header_b, rows_b = parse(tmp_path / "out" / f"{B}.csv")
    assert header_b[-1] == f"{B} (102)"
    assert {r["SIS Login ID"]: r[f"{B} (102)"] for r in rows_b} == {"aliu": "15", "ccai": "4.5"}
    assert all(r[f"{B} (102)"] not in ("", "0") for r in rows_b)  # no blank that would clear a Canvas score
    assert "bob/divergence: 3 points still to grade by hand" in printed
    assert "dave: 'dzhu' is not in the LMS export" in printed
    assert "erin: roster has 'eeng', the LMS export has 'EEng' (case only)" in printed
    assert "divergence: the LMS says 12 points possible" not in printed  # 9 + 3 = 12 agrees
    assert "symmetry: the LMS says 10 points possible, nbgrader 15" in printed


def test_moodle(course, tmp_path):
    # Moodle's "Export to plain text file": user fields, "<type>: <name> (<display>)" and "(Feedback)"
    head = ["First name", "Last name", "ID number", "Institution", "Department", "Email address",
            f"Assignment: {A} (Real)", f"Assignment: {A} (Feedback)", f"Assignment: {B} (Real)",
            f"Assignment: {B} (Percentage)", "Course total (Real)", "Last downloaded from this course"]
    export = write(tmp_path / "moodle.csv", [
        head, ["Alice", "Liu", "1001", "", "", "Alice.Liu@Example.edu", "8.00", "", "-", "-", "8.00", "1764700000"],
        ["Carol", "Cai", "1003", "", "", "carol@example.edu", "-", "", "-", "-", "-", "1764700000"],
        ["Erin", "Eng", "1005", "", "", "Erin.Eng@Example.edu", "-", "", "-", "-", "-", "1764700000"]],
        encoding="utf-8-sig")  # Excel's BOM, as a re-saved export has
    ids = roster(tmp_path, {"alice": "Alice.Liu@Example.edu", "carol": "carol@example.edu",
                            "erin": "erin.eng@example.edu"})
    done = export_grades(course, "moodle", export, ids, out=tmp_path / "out", language="en")
    header, rows = parse(tmp_path / "out" / f"{A}.csv")
    assert header == ["First name", "Last name", "ID number", "Email address", f"Assignment: {A} (Real)",
                      f"Assignment: {A} (Feedback)", "Last downloaded from this course"]
    assert_no_unknown_columns(header, head)
    # the e-mail exactly as the roster (and Moodle) spell it; the grade always beside its feedback
    assert [r["Email address"] for r in rows] == ["Alice.Liu@Example.edu"]
    assert rows[0][f"Assignment: {A} (Real)"] == "11" and "9/9 autograded, 2/3 written" in rows[0][
        f"Assignment: {A} (Feedback)"]
    assert rows[0]["Last downloaded from this course"] == "1764700000"  # Moodle's own guard stays
    assert any("erin: roster has 'erin.eng@example.edu', the LMS export has 'Erin.Eng@Example.edu' (case only); "
               "Moodle matches e-mail identifiers case-sensitively" in w for w in done.warnings), done.warnings
    header_b, rows_b = parse(tmp_path / "out" / f"{B}.csv")
    assert header_b == ["First name", "Last name", "ID number", "Email address", f"Assignment: {B} (Real)",
                        "Last downloaded from this course"]  # one display type: two would map to one item
    assert {r["Email address"]: r[f"Assignment: {B} (Real)"] for r in rows_b} == {
        "Alice.Liu@Example.edu": "15", "carol@example.edu": "4.5"}
    for r in rows + rows_b:  # no empty or "-" grade: Moodle would store "no grade" over what it holds
        assert all(r[c] not in ("", "-") for c in r if c.endswith("(Real)"))
    # what the student reads in Moodle, and the warnings, follow the course's language (zh_CN by default)
    chinese = export_grades(course, "moodle", export, ids, out=tmp_path / "zh")
    _, rows_zh = parse(tmp_path / "zh" / f"{A}.csv")
    assert "自动评分 9/9, 书面答案 2/3" in rows_zh[0][f"Assignment: {A} (Feedback)"]
    assert any("Moodle 按大小写区分电子邮件标识" in w for w in chinese.warnings), chinese.warnings


def test_blackboard(course, tmp_path):
    # Blackboard's Grade Center download: tab-separated UTF-16, "Column [Total Pts: ..] |id" headers
    head = ["Last Name", "First Name", "Username", "Student ID", "Last Access", "Availability",
            "Weighted Total [Total Pts: up to 0] |1001", f"{A} [Total Pts: 12 Score] |1002",
            f"{B} [Total Pts: 15 Score] |1003"]
    export = write(tmp_path / "bb.xls", [
        head, ["Liu", "Alice", "aliu", "1001", "2026-11-20", "Yes", "", "", ""],
        ["Bo", "Bob", "bbo", "1002", "2026-11-20", "Yes", "", "7", ""],
        ["Cai", "Carol", "ccai", "1003", "2026-11-20", "Yes", "", "", ""]], delimiter="\t", encoding="utf-16")
    ids = roster(tmp_path, {"alice": "aliu", "bob": "bbo", "carol": "ccai"})
    done = export_grades(course, "blackboard", export, ids, out=tmp_path / "out")
    assert sorted(p.name for p in done.files) == [f"{A}.csv", f"{B}.csv"]
    header, rows = parse(tmp_path / "out" / f"{A}.csv")
    assert header == ["Last Name", "First Name", "Username", f"{A} [Total Pts: 12 Score] |1002"]
    assert_no_unknown_columns(header, head)
    assert rows == [{"Last Name": "Liu", "First Name": "Alice", "Username": "aliu",
                     f"{A} [Total Pts: 12 Score] |1002": "11"}]
    raw = (tmp_path / "out" / f"{A}.csv").read_text(encoding="utf-8").splitlines()
    assert raw[0].startswith('"Last Name","First Name","Username"')  # every field quoted, as documented
    _, rows_b = parse(tmp_path / "out" / f"{B}.csv")
    assert {r["Username"]: r[f"{B} [Total Pts: 15 Score] |1003"] for r in rows_b} == {"aliu": "15", "ccai": "4.5"}


def test_an_assignment_the_lms_lacks_is_never_a_new_column(course, tmp_path):
    head = ["Student", "ID", "SIS Login ID", "Section", f"{A} (101)"]
    export = write(tmp_path / "canvas.csv", [head, ["Liu, Alice", "7001", "aliu", "S"]])
    done = export_grades(course, "canvas", export, roster(tmp_path, {"alice": "aliu"}), out=tmp_path / "out",
                         language="en")
    assert [p.name for p in done.files] == [f"{A}.csv"]
    assert any(w.startswith(f"{B}: no column named so in the LMS export") for w in done.warnings)


def test_every_format_states_the_documentation_it_follows():
    assert set(FORMATS) == {"canvas", "moodle", "blackboard"}
    assert all(f.versions for f in FORMATS.values())
