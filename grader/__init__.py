"""Grading for the chapter's exercises.

Stages of `make grade`, one module each: collect -> sanitize -> execute -> check -> record -> report.
Hidden checks live in one package per assignment (``grader/<assignment>/test_<part>.py``); the public
subset, which ships to students, is ``grader/<assignment>/public_checks.py``.
"""
ASSIGNMENTS = ("symmetry", "equal_weights", "eigen_bounds", "divergence")
