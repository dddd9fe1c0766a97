"""The exercises as the book hands them out: archives to download, and (instructor edition only)
the solutions folded under each exercise.

Which exercises exist and how one is archived is the grader's business (:mod:`.course`).
"""

import html
import zipfile
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from .i18n import gettext


def _ship_exercises(app, exception):
    """Ship each exercise as the release archive students download (``exercises/<name>.zip``: the
    notebook with ``selfcheck.py`` and ``public_checks.py``) and its notebook alone for a quick look;
    each edition ships the release in its own language where there is one."""
    if exception is not None or app.builder.format != "html":
        return
    from .course import ASSIGNMENTS, archive_assignment, release_folder

    out = Path(app.outdir) / "exercises"
    out.mkdir(parents=True, exist_ok=True)
    for name in ASSIGNMENTS:
        archive = archive_assignment(name, out / f"{name}.zip",
                                     release_folder(name, app.config.language))
        with zipfile.ZipFile(archive) as z:  # the notebook exactly as the archive carries it
            (out / f"{name}.ipynb").write_bytes(z.read(f"{name}/{name}.ipynb"))


class ExerciseSolutions(SphinxDirective):
    """``{exercise-solutions} <name>``: the instructor edition (``-t instructor``) folds the solution
    regions of ``solutions/<name>/<name>.ipynb`` here; the student edition gets nothing at all, so no
    solution text reaches its pages, search index or sources."""

    required_arguments = 1

    def run(self):
        if not self.env.app.tags.has("instructor"):
            return []
        import nbformat

        name = self.arguments[0]
        path = Path(self.env.app.confdir) / "solutions" / name / f"{name}.ipynb"
        self.env.note_dependency(str(path))
        nb = nbformat.read(path, as_version=4)
        summary = html.escape(f"{gettext(self.env.app, '参考答案')}: {name}")
        body = [nodes.raw("", f"<details class=\"exercise-solution\"><summary>{summary}</summary>",
                          format="html")]
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("solution") or "### BEGIN SOLUTION" not in cell.source:
                continue
            block = nodes.literal_block(cell.source, cell.source)
            block["language"] = "python" if cell.cell_type == "code" else "markdown"
            body.append(nodes.rubric("", meta.get("grade_id", "")))
            body.append(block)
        body.append(nodes.raw("", "</details>", format="html"))
        return body


def setup(app):
    app.add_directive("exercise-solutions", ExerciseSolutions)
    app.connect("build-finished", _ship_exercises)
