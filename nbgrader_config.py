"""nbgrader course configuration: `solutions/` is nbgrader's source, `exercises/` its release."""
import os

from grader.engine import nbgrader_tuning

nbgrader_tuning.install()  # nbgrader's own commands too: its SQLAlchemy warnings quiet, `alembic` found

c = get_config()  # noqa: F821 (injected by traitlets)

here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = os.environ.get("NUMSTAB_COURSE_ROOT", here)
c.CourseDirectory.source_directory = os.path.join(here, "solutions")
c.CourseDirectory.release_directory = os.path.join(here, "exercises")
# public_checks.py and selfcheck.py ship with each release; nothing else beside the notebook.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

c.ClearSolutions.code_stub = {"python": "# 在这里写你的代码\nraise NotImplementedError()"}  # English: solutions/.locale/
# A written answer's cell is a grade cell: its stub is the same bytes in every language's release, so that
# nbgrader's checksum still tells an untouched answer (a 0) from one to grade by hand.
c.ClearSolutions.text_stub = "在这里写下你的回答。(Write your answer here.)"
c.ClearSolutions.enforce_metadata = True
c.Execute.timeout = 120
c.ExecutePreprocessor.kernel_name = "python3"
# formgrader and the feedback render student markup: nbconvert's sanitize_html with nh3 as its filter,
# markdown cells (which nbgrader's templates never sanitize) through nh3 too, and image sizes only when
# they are numbers (the templates write them unquoted) (grader/engine/markup.py), for
# any notebook that reaches them uncleaned, such as one graded before the cleaning.
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"clean_html": "grader.engine.markup.clean_html",
                          "markdown2html": "grader.engine.markup.markdown2html",
                          "get_metadata": "grader.engine.markup.get_metadata"}

# Feedback pages typeset their math offline, with the MathJax shipped beside each page.
from grader.engine.feedback_math import configure_feedback  # noqa: E402

configure_feedback(c)

# `nbgrader autograde` and formgrader's Autograde grade through the engine (grader/engine/nbgrader_autograde.py):
# the student's cells run in the sandbox, the hidden checks in a worker outside it, with the scores of
# `python -m grader grade`.  nbgrader's own steps (Execute in the student's kernel, SaveAutoGrades reading
# what that kernel printed) are emptied out; putting them back, or --no-execute, is refused.
# `nbgrader validate` still runs in-kernel (Execute.timeout above is its per-cell limit).
c.Autograde.exporter_class = "grader.engine.nbgrader_autograde.SandboxedAutograde"
c.Autograde.sanitize_preprocessors = []
c.Autograde.autograde_preprocessors = []
