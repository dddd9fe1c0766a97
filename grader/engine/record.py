"""Stage `record`: write the autograded notebook and the scores into nbgrader's gradebook.

Scores go through nbgrader's own ``SaveAutoGrades`` (one transaction per notebook) and
``AssignLatePenalties``, reading the outputs we place on the test cells exactly as they would read a
kernel's.  Every write overwrites, never adds,
and the marker that says "done" is written last: a run killed anywhere regrades that one submission
and counts nothing twice.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
from nbgrader.preprocessors import AssignLatePenalties, NbGraderPreprocessor, SaveAutoGrades
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from grader.engine.gradebook import Gradebook
from grader.i18n import SOURCE_LANGUAGE
from grader.engine.markup import clean_notebook

from grader.engine.notebook import is_autograded_test, nbgrader_meta
from grader.engine.collect import Submission
from grader.engine.sanitize import Sanitized, nbgrader_resources
from grader.engine.worker import Graded

MARKER = ".numstab-grade.json"


def course_config(course: Path) -> Config:
    """The course's nbgrader_config.py, so late-penalty plugins and the like apply as in nbgrader."""
    path = Path(course) / "nbgrader_config.py"
    if not path.is_file():
        return Config()
    return PyFileConfigLoader(path.name, str(path.parent)).load_config()


def autograded_dir(course: Path, sub: Submission) -> Path:
    return Path(course) / "autograded" / sub.student / sub.assignment


def read_marker(course: Path, sub: Submission) -> dict | None:
    try:
        return json.loads((autograded_dir(course, sub) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class _CommitAtEnd:
    """A gradebook session whose ``commit`` only flushes: the caller commits once, at the end."""

    def __init__(self, session):
        self._session = session

    def commit(self):
        self._session.flush()

    def __getattr__(self, name):
        return getattr(self._session, name)


class SaveAutoGradesAtOnce(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, writing a notebook's grades in one transaction.

    nbgrader commits after every cell (a third of recording a submission went to those commits, and a
    kill between two of them left half a notebook's grades); the per-cell work is nbgrader's own.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.db_url = info["student"], info["db_url"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            session = self.gradebook.db
            self.gradebook.db = _CommitAtEnd(session)
            nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
            session.commit()
        return nb, resources


def _stream(text: str) -> list:
    return [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []


def _advice(part_name: str, part: dict, language: str) -> list:
    """Clickable hints and links for the failed checks (feedback HTML renders it; SaveAutoGrades reads
    only the execute_result after it)."""
    from grader.engine.sections import Check, advice_html

    page = advice_html([Check.from_nodeid(part_name, o["nodeid"]) for o in part.get("outcomes", []) if not o["passed"]],
                       language)
    return [nbformat.v4.new_output("display_data", data={"text/html": page})] if page else []


def fill_outputs(nb, runs: dict, parts: dict, language: str = SOURCE_LANGUAGE) -> None:
    """Put what the sandbox printed on student cells, and each part's report and points on its test cell;
    the hints and links in ``language``."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if is_autograded_test(cell):
            part = parts.get(nbgrader_meta(cell)["grade_id"])
            if part is None:
                cell.outputs = [nbformat.v4.new_output("error", ename="GradingError", evalue="part was not checked",
                                                       traceback=["part was not checked"])]
                continue
            points = float(nbgrader_meta(cell).get("points", 0))
            cell.outputs = _stream(part["report"]) + _advice(nbgrader_meta(cell)["grade_id"], part, language) + [nbformat.v4.new_output(
                "execute_result", data={"text/plain": repr(round(part["score"] * points, 4))}, execution_count=None)]
        elif index in runs:
            run = runs[index]
            cell.outputs = _stream(run["stdout"])
            if run["status"] != "ok":
                cell.outputs.append(nbformat.v4.new_output("error", ename=run["status"], evalue=run["error"],
                                                           traceback=[run["error"]]))


def record(course: Path, db_url: str, sub: Submission, clean: Sanitized, graded: Graded | None,
           fingerprint: str, config: Config, language: str = SOURCE_LANGUAGE,
           course_language: str | None = None) -> None:
    """Store one submission.  ``graded`` is the worker's result (cell runs, part results), None when nothing ran;
    ``language``: the submission's (its feedback's); ``course_language``: the problem lines' (default
    ``language``)."""
    out = autograded_dir(course, sub)
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(sub.student)
        kwargs = {"timestamp": sub.timestamp} if sub.timestamp else {}
        gb.update_or_create_submission(sub.assignment, sub.student, **kwargs)
        if clean.nb is None or graded is None:
            # nbgrader's rule for a missing notebook: every grade of it is an automatic 0
            notebook = gb.find_submission_notebook(sub.assignment, sub.assignment, sub.student)
            for grade in notebook.grades:
                grade.auto_score, grade.needs_manual_grade = 0, False
            gb.db.commit()
    cleaned = []  # what clean_notebook removed, one line per cell
    if clean.nb is not None and graded is not None:
        nb = clean.nb
        fill_outputs(nb, {int(k): v for k, v in graded.runs.items()}, graded.parts, language)
        resources = nbgrader_resources(sub, db_url)
        for step in (SaveAutoGradesAtOnce(config=config), AssignLatePenalties(config=config)):
            nb, resources = step.preprocess(nb, resources)
        # graded as handed in; shown to the instructor only once made safe
        cleaned = clean_notebook(nb, course_language or language)
        _atomic_write(out / f"{sub.assignment}.ipynb", nbformat.writes(nb))
    marker = {"fingerprint": fingerprint, "problems": sub.problems + clean.problems + cleaned,
              "parts": graded.parts if graded else {}, "runs": graded.runs if graded else {},
              "level": graded.level if graded else None, "language": language}
    _atomic_write(out / MARKER, json.dumps(marker, ensure_ascii=False, indent=1))
