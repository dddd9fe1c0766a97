"""Every assignment's clause table (grader/checks/<a>/clauses.py) against its statement and its checks.

- every rule quotes its statement: ``says`` occurs in the notebook's text (whitespace aside), so the table is
  written from the statement and a reworded statement cannot leave a stale rule behind;
- every rule names at least one check, and every key names a check function that exists, of the rule's part;
- every hidden check function and every public check is named by some rule: a check that tests no clause
  of the statement, or a clause of it that no rule records, shows up here.
"""
from __future__ import annotations

import ast
import importlib
import re
import sys

import pytest

from grader.checks.clauses import Rule
from grader.engine.notebook import graded_parts, load_notebook
from grader.layout import ASSIGNMENTS, checks_of, source_notebook


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _statement(assignment: str) -> str:
    nb = load_notebook(source_notebook(assignment))
    return _squash(" ".join(c.source for c in nb.cells if c.cell_type == "markdown"))


def _functions(path, prefix: str) -> set[str]:
    return {n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef) and n.name.startswith(prefix)}


def _rules(assignment: str) -> tuple[Rule, ...]:
    return importlib.import_module(f"grader.checks.{assignment}.clauses").RULES


def _all_checks(assignment: str) -> set[str]:
    """Every check key of the assignment: hidden ``test_<part>.py::test_*`` and ``public_checks.py::check_*``."""
    folder = checks_of(assignment)
    keys = {f"public_checks.py::{f}" for f in _functions(folder / "public_checks.py", "check_")}
    for path in sorted(folder.glob("test_*.py")):
        keys |= {f"{path.name}::{f}" for f in _functions(path, "test_")}
    return keys


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_rule_quotes_the_statement(assignment):
    text = _statement(assignment)
    missing = [r.says for r in _rules(assignment) if _squash(r.says) not in text]
    assert not missing, f"{assignment}: rules whose text is not in the statement (reworded?): {missing}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_rule_names_existing_checks_of_its_part(assignment):
    parts = {p for p, _ in graded_parts(load_notebook(source_notebook(assignment)))}
    existing = _all_checks(assignment)
    for rule in _rules(assignment):
        assert isinstance(rule, Rule) and rule.part in parts, f"{assignment}: {rule.part!r} is not a graded part"
        assert rule.says.strip() and rule.checks, f"{assignment}/{rule.part}: a rule without text or without a check: {rule}"
        for key in rule.checks:
            assert key in existing, f"{assignment}/{rule.part}: {key!r} names no check function"
            file, func = key.split("::")
            owner = file == f"test_{rule.part}.py" or (file == "public_checks.py" and func.startswith(f"check_{rule.part}__"))
            assert owner, f"{assignment}/{rule.part}: {key!r} is a check of another part"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_check_is_named_by_a_rule(assignment):
    named = {key for rule in _rules(assignment) for key in rule.checks}
    unnamed = sorted(_all_checks(assignment) - named)
    assert not unnamed, f"{assignment}: checks that no rule of clauses.py names: {unnamed}"


def test_the_table_tests_catch_a_broken_table(monkeypatch):
    """Each failure is real: a rule off the statement, a rule without checks, a key to nowhere or to another
    part's check, and a check that no rule names."""
    good = _rules("divergence")
    first = good[0]
    broken = {
        "reworded": (test_every_rule_quotes_the_statement, good + (Rule("lars_step", "超参数从 group 里读", first.checks),)),
        "no check": (test_every_rule_names_existing_checks_of_its_part, good + (Rule("lars_step", first.says, ()),)),
        "dangling": (test_every_rule_names_existing_checks_of_its_part,
                     good + (Rule("lars_step", first.says, ("test_lars_step.py::test_no_such_check",)),)),
        "other part": (test_every_rule_names_existing_checks_of_its_part,
                       good + (Rule("lars_step", first.says, ("test_deep_mlp.py::test_reproducible",)),)),
        "unnamed": (test_every_check_is_named_by_a_rule,
                    tuple(r for r in good if "test_lars_step.py::test_param_groups" not in r.checks)),
    }
    test_every_rule_quotes_the_statement("divergence")  # the real table passes all three
    for kind, (test, rules) in broken.items():
        monkeypatch.setattr(sys.modules[__name__], "_rules", lambda a, rules=rules: rules)
        with pytest.raises(AssertionError):
            test("divergence")
        monkeypatch.undo()
