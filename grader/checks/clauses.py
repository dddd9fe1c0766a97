"""A statement's rules, each tied to the checks that would fail if an answer broke it.

Every assignment keeps `grader/checks/<a>/clauses.py` with `RULES`, a tuple of `Rule`s written from the
statement text (not from the checks).  `tests/test_clauses.py` fails for a rule that names no existing
check and for a hidden check that no rule names, so a clause of a statement cannot go unexercised.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    part: str
    # the rule as the statement states it, in the statement's language
    says: str
    # "test_<part>.py::test_name" for hidden checks, "public_checks.py::check_name" for public ones
    checks: tuple[str, ...]
