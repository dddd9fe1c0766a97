"""Checks per assignment: ``<assignment>/test_<part>.py`` (hidden), ``public_checks.py`` (shipped)."""
