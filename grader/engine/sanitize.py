"""Stage `sanitize`: what nbgrader does before running a submission, with nbgrader's own preprocessors.

The notebook enters through grader/engine/boundary.py (typed, capped: what does not fit is scored 0
with a line naming file, cell and reason).  Then outputs are cleared, duplicate ids dropped, locked and
test cells restored from the gradebook (deleted ones added back), metadata checked.  What cannot be
repaired becomes a problem line.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells,
                                    OverwriteKernelspec)

from grader.engine.boundary import language_of, read_submission
from grader.engine.notebook import NotebookError, graded_parts, locked_cells, nbgrader_meta, student_code
from grader.engine.collect import Submission
from grader.i18n import SOURCE_LANGUAGE, _in


@dataclass
class Sanitized:
    nb: object | None
    parts: list[tuple[str, float]] = field(default_factory=list)
    cells: list[tuple[int, str]] = field(default_factory=list)
    locked: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    language: str | None = None  # the notebook's release language (metadata), None: the course's


def nbgrader_resources(sub: Submission, db_url: str) -> dict:
    return {"nbgrader": {"db_url": db_url, "assignment": sub.assignment, "notebook": sub.assignment,
                         "student": sub.student}}


def _drop_emptied_metadata(nb, resources):
    """DeduplicateIds empties the nbgrader metadata of earlier copies, which the later steps then
    index by grade_id and crash on; without the key such a copy is an ordinary cell."""
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", None) == {}:
            del cell.metadata["nbgrader"]
    return nb, resources


def sanitize(sub: Submission, db_url: str, known_ids: set[str], language: str = SOURCE_LANGUAGE) -> Sanitized:
    """``known_ids`` are the assignment's grade ids in the gradebook, to spot a notebook of another one;
    ``language``: the course's, for the problem lines."""
    if sub.notebook is None:
        return Sanitized(None)
    scored_0 = _in(language, "{problem}; 计 0 分")
    try:
        nb = read_submission(sub.notebook, language)
    except NotebookError as exc:
        return Sanitized(None, problems=[scored_0.format(problem=exc)])
    problems = []
    ids = [nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c)]
    if known_ids and not known_ids & set(ids):
        problems.append(_in(language, "{notebook}: 没有找到作业 '{assignment}' 的单元格; 这是另一个作业的笔记本吗?")
                        .format(notebook=sub.notebook, assignment=sub.assignment))
    duplicates = sorted({i for i in ids if i and ids.count(i) > 1})
    if duplicates:
        problems.append(_in(language, "{notebook}: 重复的单元格 {cells}; 保留最后一份").format(
            notebook=sub.notebook, cells=", ".join(duplicates)))
    missing = sorted(known_ids - set(ids))
    if missing:
        problems.append(_in(language, "{notebook}: 被删除的单元格 {cells} 已按作业恢复").format(
            notebook=sub.notebook, cells=", ".join(missing)))
    resources = nbgrader_resources(sub, db_url)
    steps = [ClearOutput(), DeduplicateIds(), _drop_emptied_metadata, OverwriteKernelspec(),
             OverwriteCells(add_missing_cells=True), CheckCellMetadata()]
    try:
        for step in steps:
            nb, resources = step.preprocess(nb, resources) if hasattr(step, "preprocess") else step(nb, resources)
    except Exception as exc:  # nbgrader raises plain exceptions for bad metadata; the message says which cell
        return Sanitized(None, problems=problems + [scored_0.format(
            problem=f"{sub.notebook}: {type(exc).__name__}: {str(exc)[:300]}")])
    return Sanitized(nb, graded_parts(nb), student_code(nb), locked_cells(nb), problems, language_of(nb))
