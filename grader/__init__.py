"""Grading for the chapter's exercises.

- ``grader.layout``: where things live, and the assignment list (read from ``solutions/``).
- ``grader.engine``: `make grade`, one module per stage: collect -> sanitize -> execute -> check ->
  record -> report, chained by ``pipeline``; ``worker`` runs execute + check in a pool process.
- ``grader.checks.<assignment>``: hidden checks (``test_<part>.py``), the shipped ``public_checks.py``
  and the references they compare with.
- ``grader.student``: ``selfcheck.py``, the file students get beside each notebook.
- ``grader.course``: the instructor's tooling around grading (release, leak scan, LMS archives, demo
  class, benchmark).
"""
