"""nbgrader course configuration: `solutions/` is nbgrader's source, `exercises/` its release."""
import os

c = get_config()  # noqa: F821 (injected by traitlets)

here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = os.environ.get("NUMSTAB_COURSE_ROOT", here)
c.CourseDirectory.source_directory = os.path.join(here, "solutions")
c.CourseDirectory.release_directory = os.path.join(here, "exercises")
# public_checks.py and selfcheck.py ship with each release; nothing else beside the notebook.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

c.ClearSolutions.code_stub = {"python": "# 在这里写你的代码\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "在这里写下你的回答。"
c.ClearSolutions.enforce_metadata = True
c.Execute.timeout = 120
c.ExecutePreprocessor.kernel_name = "python3"

# Feedback pages typeset their math offline, with the MathJax shipped beside each page.
from grader.engine.feedback_math import configure_feedback  # noqa: E402

configure_feedback(c)
