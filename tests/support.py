"""Test helpers shared by the assignment suites: run a notebook's student code in-process and grade it."""
from __future__ import annotations

import contextlib
import importlib
import io
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
import torch

import grader.student.selfcheck
from grader.engine.notebook import graded_parts, load_notebook, student_code
from grader.engine.check import run_parts
from grader.student.selfcheck import LocalStudent

# The release imports `selfcheck` from its own folder; in-process runs use the grader's copy.
sys.modules.setdefault("selfcheck", grader.student.selfcheck)


from grader.layout import release_notebook as release_path, source_notebook as solution_path  # noqa: E402,F401


def namespace_from(path: Path, replace: dict[str, str] | None = None) -> dict:
    """Execute a notebook's non-test code cells in a fresh namespace, continuing past errors as nbgrader does.

    ``replace`` maps an exact source snippet to its mutant; every snippet must occur, so a mutation
    can never silently stop applying when the notebook changes.
    """
    cells = [src for _, src in student_code(load_notebook(path))]
    source = "\n\n# <cell>\n".join(cells)
    for old, new in (replace or {}).items():
        assert source.count(old) >= 1, f"mutation target not found in {path.name}: {old!r}"
        source = source.replace(old, new)
    ns: dict = {"__name__": "__main__"}
    for cell in source.split("\n\n# <cell>\n"):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                exec(compile(cell, str(path), "exec"), ns)
            except Exception:
                pass
    return ns


def grade_namespace(assignment: str, ns: dict, seed: int = 1234) -> dict[str, float]:
    """Share of checks passed for every part of the assignment, keyed by part (grade_id)."""
    parts = [part for part, _ in graded_parts(load_notebook(solution_path(assignment)))]
    return {part: r.score for part, r in run_parts(assignment, parts, LocalStudent(ns), seed).items()}


# -- the scaffolding every assignment suite shares -------------------------------------------------------------
# A suite module defines A (the assignment), PARTS, MUTANTS as (id, part or parts it breaks, {snippet: mutant})
# and uses these; `from support import one_thread  # noqa: F401` turns the thread fixture on for the module.


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The checks run tiny tensors: extra intra-op threads only spin on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def solution_fixture(assignment: str):
    """A module-scoped `solution_ns` fixture: the solution notebook of `assignment`, executed once per module."""
    @pytest.fixture(scope="module", name="solution_ns")
    def solution_ns() -> dict:
        return namespace_from(solution_path(assignment))
    return solution_ns


def find_mutant(mutants: list[tuple], name: str) -> tuple:
    """The entry of `mutants` whose id is `name`."""
    return next(m for m in mutants if m[0] == name)


def mutant_ids(mutants: list[tuple]) -> list[str]:
    return [m[0] for m in mutants]


def public_share(assignment: str, part: str, ns: dict, monkeypatch) -> float:
    """Share of the public checks of `part` passed, as a student's `check(part)` reports it."""
    monkeypatch.setitem(sys.modules, "public_checks", importlib.import_module(f"grader.checks.{assignment}.public_checks"))
    return grader.student.selfcheck.check(part, namespace=ns)


def _part_set(parts: str | Iterable[str]) -> set[str]:
    return {parts} if isinstance(parts, str) else set(parts)


def assert_solution_full_marks(assignment: str, parts: list[str], ns: dict) -> None:
    assert grade_namespace(assignment, ns) == {p: 1.0 for p in parts}


def assert_release_scores_zero(assignment: str, parts: list[str]) -> None:
    path = release_path(assignment)
    assert path.is_file(), f"{path} is missing: run `nbgrader generate_assignment {assignment}` first"
    assert grade_namespace(assignment, namespace_from(path)) == {p: 0.0 for p in parts}


def assert_mutant_costs_only(assignment: str, parts_it_breaks: str | Iterable[str], replace: dict[str, str] | None,
                             name: str, ns: dict | None = None) -> None:
    """The solution with `replace` applied (or `ns`, that notebook already executed) loses points on every part
    it breaks and keeps full marks on all the others."""
    broken = _part_set(parts_it_breaks)
    if ns is None:
        ns = namespace_from(solution_path(assignment), replace=replace)
    scores = grade_namespace(assignment, ns)
    for part in sorted(broken):
        assert scores[part] < 1.0, f"mutant {name} keeps full marks on {part}: {scores}"
    others = {p: s for p, s in scores.items() if p not in broken}
    assert others == {p: 1.0 for p in others}, f"mutant {name} also costs points elsewhere: {scores}"


def assert_cpu_only_mutant(assignment: str, parts: str | Iterable[str], replace: dict[str, str],
                           name: str = "CPU-only mutant") -> None:
    """A solution that hard-codes CPU tensors keeps full marks elsewhere; on `parts` it loses the cuda checks
    where CUDA is present and is indistinguishable from the solution where it is not."""
    broken = _part_set(parts)
    scores = grade_namespace(assignment, namespace_from(solution_path(assignment), replace=replace))
    others = {p: s for p, s in scores.items() if p not in broken}
    assert others == {p: 1.0 for p in others}, scores
    for part in sorted(broken):
        if torch.cuda.is_available():
            assert scores[part] < 1.0, f"{name}: a CPU-only submission must lose the cuda checks of {part}: {scores}"
        else:
            assert scores[part] == 1.0, f"{name}: without CUDA the CPU-only submission is indistinguishable: {scores}"


def assert_public_checks_pass(assignment: str, parts: list[str], ns: dict, monkeypatch) -> None:
    for part in parts:
        assert public_share(assignment, part, ns, monkeypatch) == 1.0, part


def assert_public_checks_catch(assignment: str, mutants: list[tuple], name: str, monkeypatch) -> None:
    """The public checks of every part that mutant `name` breaks notice it."""
    _, broken, replace = find_mutant(mutants, name)
    ns = namespace_from(solution_path(assignment), replace=replace)
    for part in sorted(_part_set(broken)):
        assert public_share(assignment, part, ns, monkeypatch) < 1.0, part
