"""Checks per assignment: ``<assignment>/test_<part>.py`` (hidden), ``public_checks.py`` (shipped)."""
from grader import i18n

i18n.install()  # the public checks import `_` from `selfcheck`, as beside a student's notebook
