"""The one place where the book reaches into the grader: which exercises exist and how one is archived.

The grader owns both facts (the assignment list is read from ``solutions/*/``); the book only
links to them and ships the archives students download.
"""

from grader.course.release import archive_assignment  # noqa: F401  (re-exported)
from grader.layout import ASSIGNMENTS  # noqa: F401  (re-exported)
