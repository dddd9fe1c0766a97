"""Grades to the LMS: each LMS's own gradebook-import CSV, written from nbgrader's gradebook.

``python -m grader export --to canvas|moodle|blackboard COURSE --lms-export FILE``.  The LMS's own
gradebook export (``--lms-export``) is the template: it is the only place that knows the LMS's column
names and ids and its students' identifiers, so a file built from it never carries a column the LMS
does not already have (Canvas would turn it into a new assignment, Blackboard into a new text column,
and Moodle rejects the file).  Which LMS identifier each nbgrader student is comes from ``--roster``
(CSV ``student_id,lms_id``), else from the gradebook's own ``lms_user_id`` or ``email``, else the
nbgrader id itself; it must equal the export's identifier column exactly (``--match-on``).

Re-importing never wipes what the LMS holds: one file per assignment, a row per student who has a
final grade in nbgrader (every written answer graded), nothing else.  None of the three formats has a
cell that reliably means "leave alone" against a grade the LMS already holds:

- Canvas posts every cell that differs from its current score, a blank one included, which clears
  that score (canvas-lms ``gradebook_uploads``: ``populateGradeDataPerSubmission``); a student
  left out of the file is not touched.
- Moodle reads an empty or ``-`` cell as "no grade" and sets it (``gradeimport_csv_load_data``);
  feedback imported without its grade column clears the grades (Moodle 3.11 docs, "Grade import").
- Blackboard's documentation does not say what an empty cell does, so none is written.

Reading grades goes through nbgrader's ``Gradebook``, as ``grades.csv`` does (``report.totals``).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.engine.gradebook import Gradebook, db_url_for
from grader.engine.report import Total, totals
from grader.i18n import N_, SOURCE_LANGUAGE, _in


class ExportError(ValueError):
    """The LMS export or the options cannot give a safe file (nothing is written)."""


@dataclass
class LmsExport:
    """The LMS's own gradebook export: its header and its student rows."""
    header: list[str]
    rows: list[dict[str, str]]
    extra: list[list[str]] = field(default_factory=list)  # non-student rows (Canvas's "Points Possible")


def read_csv_text(path: Path) -> str:
    """UTF-8 (with or without Excel's BOM) or UTF-16 (Blackboard's tab-separated download)."""
    data = Path(path).read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def read_export(path: Path, language: str = SOURCE_LANGUAGE) -> LmsExport:
    text = read_csv_text(path)
    first = text.split("\n", 1)[0]
    rows = list(csv.reader(io.StringIO(text), delimiter="\t" if first.count("\t") > first.count(",") else ","))
    if not rows:
        raise ExportError(_in(language, "{path}: 空文件").format(path=path))
    header = [h.strip() for h in rows[0]]
    students, extra = [], []
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        if "Points Possible" in row[0] or all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c, re.I) for c in row):
            extra.append(row)
            continue
        students.append(dict(zip(header, row)))
    return LmsExport(header, students, extra)


def read_roster(path: Path, language: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """nbgrader student id -> LMS identifier, exactly as written (case kept)."""
    reader = csv.DictReader(io.StringIO(read_csv_text(path)))
    if not {"student_id", "lms_id"} <= set(reader.fieldnames or []):
        raise ExportError(_in(language, "{path}: 名册需要 student_id 和 lms_id 两列").format(path=path))
    return {row["student_id"].strip(): row["lms_id"].strip() for row in reader if row["student_id"].strip()}


def gradebook_roster(db_url: str) -> dict[str, str]:
    with Gradebook(db_url) as gb:
        return {s.id: s.lms_user_id or s.email or s.id for s in gb.students}


def number(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Format:
    """One LMS's import format: which export columns identify a student, and how a grade column is named."""
    name: str
    versions: str         # whose documentation the format follows (README says the same)
    identity: str         # default column the roster's lms_id is matched against
    keep: tuple[str, ...]  # identity columns copied from the export row, in the export's order
    grade_column: str     # regex on a header: group "title" is the LMS's name of the assignment
    required: tuple[str, ...] = ()
    case_note: str = ""   # N_(): translated where it is shown

    def title(self, header: str) -> str | None:
        m = re.fullmatch(self.grade_column, header)
        return m.group("title").strip() if m else None

    def feedback_column(self, header: list[str], grade: str) -> str | None:
        return None

    def row(self, student_row: dict[str, str], header: list[str], grade: str, total: Total,
            language: str = SOURCE_LANGUAGE) -> dict[str, str]:
        out = {c: student_row.get(c, "") for c in header if c in self.keep}
        out[grade] = number(total.score)
        return out

    def columns(self, header: list[str], grade: str) -> list[str]:
        """The export's own columns, in its order: the identity ones and this assignment's."""
        return [c for c in header if c in self.keep or c == grade]


class Moodle(Format):
    def feedback_column(self, header, grade):
        title = self.title(grade)
        fb = [h for h in header if self.title_of_feedback(h) == title]
        return fb[0] if fb else None

    @staticmethod
    def title_of_feedback(header: str) -> str | None:
        m = re.fullmatch(r"(?:[^:]+: )?(?P<title>.+) \(Feedback\)", header)
        return m.group("title").strip() if m else None

    def title(self, header):
        if header.endswith("(Feedback)"):
            return None
        return super().title(header)

    def columns(self, header, grade):
        fb = self.feedback_column(header, grade)
        # grade and feedback always travel together: feedback alone clears the grades
        return [c for c in header if c in self.keep or c in (grade, fb)]

    def row(self, student_row, header, grade, total, language=SOURCE_LANGUAGE):
        out = super().row(student_row, header, grade, total, language)
        fb = self.feedback_column(header, grade)
        if fb:  # what the student reads in Moodle: in the course's language
            out[fb] = _in(language, "nbgrader: 自动评分 {auto}/{auto_max}, 书面答案 {written}/{written_max}").format(
                auto=number(total.auto), auto_max=number(total.auto_max), written=number(total.written),
                written_max=number(total.written_max)) + (
                _in(language, ", 迟交扣 {penalty} 分").format(penalty=number(total.penalty)) if total.penalty else "")
        return out


FORMATS = {
    # Canvas's importer: Student, ID, [SIS User ID, SIS Login ID,] Section, then "Name (id)" columns
    "canvas": Format("canvas", "Canvas LMS (Instructure's Instructor Guide, \"How do I import grades in the "
                     "Gradebook?\"; canvas-lms GradebookImporter, 2025)", "SIS Login ID",
                     ("Student", "ID", "SIS User ID", "SIS Login ID", "Section"),
                     r"(?P<title>.+) \((?P<id>\d+)\)", required=("Student", "ID", "Section")),
    # Moodle's "Export to plain text file": user fields, then "<Activity type>: <name> (Real)" and "(Feedback)"
    "moodle": Moodle("moodle", "Moodle 3.11-4.x (MoodleDocs \"Grade import\"; gradeimport_csv)", "Email address",
                     ("First name", "Last name", "Email address", "ID number", "Username",
                      "Last downloaded from this course"),
                     r"(?:[^:]+: )?(?P<title>.+) \((?P<display>Real|Percentage|Letter|Range|Scale)\)",
                     case_note=N_("Moodle 按大小写区分电子邮件标识")),
    # Blackboard Learn Original Grade Center: Last Name, First Name, Username, then "Column [..] |id"
    "blackboard": Format("blackboard", "Blackboard Learn Original Grade Center (\"Upload grades from external "
                         "sources\", Blackboard Help)", "Username", ("Last Name", "First Name", "Username"),
                         r"(?P<title>.+?)(?: \[[^\]]*\])? \|(?P<id>\d+)",
                         required=("Last Name", "First Name", "Username")),
}


@dataclass
class Exported:
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _columns_for(fmt: Format, export: LmsExport, assignments: list[str], given: dict[str, str],
                 warnings: list[str], language: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """nbgrader assignment -> the export's grade column (never a column the export lacks)."""
    out = {}
    for a in assignments:
        if a in given:
            if given[a] not in export.header or fmt.title(given[a]) is None:
                raise ExportError(_in(language, "--column {assignment}={column}: 不是 LMS 导出中的成绩列").format(
                    assignment=a, column=repr(given[a])))
            out[a] = given[a]
            continue
        found = [h for h in export.header if (fmt.title(h) or "").casefold() == a.casefold()]
        if fmt.name == "moodle" and len(found) > 1:  # one display type only: two columns on one item collide
            found = [h for h in found if h.endswith("(Real)")] or found[:1]
        if len(found) > 1:
            raise ExportError(_in(language, "{assignment}: LMS 导出中有几列都匹配 ({found}); 用 --column {assignment}=HEADER "
                                            "选一列").format(assignment=a, found=", ".join(found)))
        if not found:
            warnings.append(_in(language, "{assignment}: LMS 导出中没有这个名字的列; 未导出 (先在 LMS 中创建这个作业, 再导出一次"
                                          "成绩册, 或者给出 --column {assignment}=HEADER)").format(assignment=a))
            continue
        out[a] = found[0]
    return out


def _points_possible(fmt: Format, export: LmsExport, column: str) -> float | None:
    if fmt.name == "canvas":
        for row in export.extra:
            if "Points Possible" in row[0] and column in export.header:
                cell = row[export.header.index(column)] if export.header.index(column) < len(row) else ""
                try:
                    return float(cell)
                except ValueError:
                    return None
    if fmt.name == "blackboard":
        m = re.search(r"\[Total Pts: (?:up to )?([\d.]+)", column)
        return float(m.group(1)) if m else None
    return None


def export_grades(course: Path, to: str, lms_export: Path, roster: Path | None = None, match_on: str | None = None,
                  columns: dict[str, str] | None = None, out: Path | None = None,
                  language: str | None = None) -> Exported:
    """``language``: the warnings' and the feedback column's (default: the course's)."""
    from grader.engine.pipeline import course_language

    fmt = FORMATS[to]
    course = Path(course).resolve()
    language = course_language(course, language)
    export = read_export(lms_export, language)
    identity = match_on or fmt.identity
    missing = [c for c in (*fmt.required, identity) if c not in export.header]
    if missing:
        raise ExportError(_in(language, "{path}: 不是 {lms} 的成绩册导出 (没有 {missing} 列; 它的表头是: {header}…)").format(
            path=lms_export, lms=to, missing=", ".join(map(repr, missing)), header=", ".join(export.header[:8])))
    db_url = db_url_for(course)
    ids = read_roster(roster, language) if roster else gradebook_roster(db_url)
    grid = totals(db_url)
    result = Exported()
    target = _columns_for(fmt, export, sorted(grid), columns or {}, result.warnings, language)

    by_id = {row[identity]: row for row in export.rows if row.get(identity)}
    by_fold: dict[str, list[str]] = {}
    for lms_id in by_id:
        by_fold.setdefault(lms_id.casefold(), []).append(lms_id)
    seen: dict[str, str] = {}
    for student, lms_id in sorted(ids.items()):
        if lms_id.casefold() in seen and seen[lms_id.casefold()] != lms_id:
            result.warnings.append(_in(language, "{student}: 名册中的标识 {ours} 与 {other} 只差大小写").format(
                student=student, ours=repr(lms_id), other=repr(seen[lms_id.casefold()])))
        seen.setdefault(lms_id.casefold(), lms_id)

    def lms_row(student: str) -> dict[str, str] | None:
        lms_id = ids.get(student)
        if lms_id is None:
            result.warnings.append(_in(language, "{student}: 不在名册中; 未导出").format(student=student))
            return None
        if lms_id in by_id:
            return by_id[lms_id]
        near = by_fold.get(lms_id.casefold())
        if near:
            why = _in(language, fmt.case_note) if fmt.case_note else _in(language, "{lms} 不会匹配它").format(lms=to)
            result.warnings.append(_in(language, "{student}: 名册中是 {ours}, LMS 导出中是 {theirs} (只差大小写); {why}, "
                                                 "所以这一行未导出: 请改正名册中的大小写").format(
                student=student, ours=repr(lms_id), theirs=repr(near[0]), why=why))
        else:
            result.warnings.append(_in(language, "{student}: {ours} 不在 LMS 导出的 {identity} 列中 (没有在那里注册?); 未导出")
                                   .format(student=student, ours=repr(lms_id), identity=repr(identity)))
        return None

    folder = Path(out) if out else course / "lms" / to
    for a, column in sorted(target.items()):
        possible = _points_possible(fmt, export, column)
        max_points = max((t.auto_max + t.written_max for t in grid[a].values()), default=None)
        if possible is not None and max_points is not None and abs(possible - max_points) > 1e-9:
            result.warnings.append(_in(language, "{assignment}: LMS 中满分是 {possible}, nbgrader 中是 {ours}; 按 nbgrader 的分数导出")
                                   .format(assignment=a, possible=number(possible), ours=number(max_points)))
        rows = []
        for student, total in sorted(grid[a].items()):
            if total.pending_answers:
                result.warnings.append(_in(language, "{key}: 还有 {points} 分待人工评分 (formgrader); 评完之前不导出")
                                       .format(key=f"{student}/{a}", points=number(total.pending)))
                continue
            row = lms_row(student)
            if row is None:
                continue
            rows.append(fmt.row(row, export.header, column, total, language))
        header = fmt.columns(export.header, column)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{a}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, header, quoting=csv.QUOTE_ALL if to == "blackboard" else csv.QUOTE_MINIMAL,
                                    extrasaction="raise")
            writer.writeheader()
            writer.writerows(rows)
        result.files.append(path)
    # a student's unknown identifier is one warning, not one per assignment
    result.warnings = list(dict.fromkeys(result.warnings))
    return result
