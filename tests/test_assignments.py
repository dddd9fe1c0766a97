"""Every assignment's table (tests/assignments/<a>.py) through the real engine, under several seeds.

- the solution keeps full marks under every seed, in the sandbox and in-kernel, within the time budget;
- every mutant loses points on its parts and only there, under every seed, in the sandbox and in-kernel;
- every correct alternative keeps full marks under every seed;
- a submission that does nothing (the untouched release, every answer returning None, returning its
  first input, or an always-equal object) scores 0 on every part;
- the public checks pass the solution and catch the mutants marked ``public``.
"""
from __future__ import annotations

import ast
import importlib
import sys

import pytest
import torch

import grader.student.selfcheck
from assignments import Alternative, Mutant
from conftest import SEEDS, cells_of, parts_of
from grader.engine.notebook import load_notebook, nbgrader_meta, student_code
from grader.layout import ASSIGNMENTS, release_notebook, source_notebook
from grader.student.selfcheck import LocalStudent
from support import namespace_from

TABLES = {a: importlib.import_module(f"assignments.{a}") for a in ASSIGNMENTS}
CPU_SECONDS = 10.0  # the hidden suite of one assignment, for a correct submission, per seed


def _entries(kind: str):
    return [pytest.param(a, e, id=f"{a}-{e.name}") for a in ASSIGNMENTS for e in getattr(TABLES[a], kind, [])]


def _inkernel(engine, assignment: str, cells: list[tuple[int, str]], parts=None, seed: int = SEEDS[0]) -> dict[str, float]:
    """In-kernel grading (plain nbgrader's way): the cells run in this process, the checks call them directly.
    The engine's pytest session serves it too: a session takes any student backend."""
    ns = namespace_from(cells)
    parts = parts or parts_of(assignment)
    return {p: r.score for p, r in engine.checks.run_parts(assignment, parts, LocalStudent(ns), seed).items()}


def _why(graded, seed, parts):
    return {p: graded.failures[seed][p][:3] for p in parts}


# -- the solution -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_marks_within_budget(engine, assignment):
    cells = cells_of(source_notebook(assignment))
    graded = engine.grade(assignment, cells)
    parts = parts_of(assignment)
    for seed, scores in graded.scores.items():
        assert scores == {p: 1.0 for p in parts}, (seed, _why(graded, seed, parts))
    per_seed = graded.compute / len(SEEDS)
    assert per_seed < CPU_SECONDS, f"{assignment}: {per_seed:.1f} s of cells and checks per seed"
    assert _inkernel(engine, assignment, cells) == {p: 1.0 for p in parts}


# -- mutants ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("assignment,mutant", _entries("MUTANTS"))
def test_mutant_loses_points_on_its_parts_only(engine, assignment, mutant: Mutant):
    cells = cells_of(source_notebook(assignment), replace=mutant.replace)
    # every part under the first seed (the others keep full marks), its own parts under every seed
    graded = engine.grade(assignment, cells, later_parts=sorted(mutant.broken))
    for seed, scores in graded.scores.items():
        for part in sorted(mutant.broken):
            assert scores[part] < 1.0, f"seed {seed}: {mutant.name} keeps full marks on {part}"
        others = {p: s for p, s in scores.items() if p not in mutant.broken}
        assert others == {p: 1.0 for p in others}, (seed, _why(graded, seed, others))
    inkernel = _inkernel(engine, assignment, cells, parts=sorted(mutant.broken))
    assert all(s < 1.0 for s in inkernel.values()), f"in-kernel: {mutant.name} is not caught: {inkernel}"


@pytest.mark.parametrize("assignment,mutant", _entries("CPU_ONLY"))
def test_cpu_only_mutant_loses_only_cuda_checks(engine, assignment, mutant: Mutant):
    graded = engine.grade(assignment, cells_of(source_notebook(assignment), replace=mutant.replace), seeds=SEEDS[:1])
    scores = graded.scores[SEEDS[0]]
    for part in sorted(mutant.broken):
        if torch.cuda.is_available():
            assert scores[part] < 1.0, f"{mutant.name}: a CPU-only submission must lose the cuda checks of {part}"
            assert all("[cuda]" in f for f in graded.failures[SEEDS[0]][part]), graded.failures[SEEDS[0]][part]
        else:
            assert scores[part] == 1.0, f"{mutant.name}: without CUDA it is indistinguishable from the solution"
    assert all(s == 1.0 for p, s in scores.items() if p not in mutant.broken), scores


# -- correct alternatives -----------------------------------------------------------------------------------
@pytest.mark.parametrize("assignment,alternative", _entries("ALTERNATIVES"))
def test_alternative_keeps_full_marks(engine, assignment, alternative: Alternative):
    graded = engine.grade(assignment, cells_of(source_notebook(assignment), append=alternative.code))
    assert not graded.cell_errors, graded.cell_errors
    for seed, scores in graded.scores.items():
        assert all(s == 1.0 for s in scores.values()), (seed, _why(graded, seed, [p for p, s in scores.items() if s < 1]))


# -- the no-op gate -----------------------------------------------------------------------------------------
def answered_names(assignment: str) -> list[str]:
    """The top-level names the solution regions define (functions, classes, variables)."""
    names = []
    for cell in load_notebook(source_notebook(assignment)).cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
            for node in ast.parse(cell.source).body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    names.append(node.name)
                elif isinstance(node, ast.Assign):
                    names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


ALWAYS_EQUAL = '''
class _Anything:
    """Equal to everything, every attribute and call gives itself back: changes nothing."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    def __getattr__(self, name): return self
    def __call__(self, *args, **kwargs): return self
    def __iter__(self): return iter(())
    def __len__(self): return 0
    def __float__(self): return 0.0
    def __int__(self): return 0
    def __index__(self): return 0
    def __hash__(self): return 0
'''
NO_OPS = {
    "returns_none": lambda n: f"def {n}(*args, **kwargs):\n    return None\n",
    "returns_first_input": lambda n: f"def {n}(*args, **kwargs):\n    return args[0] if args else None\n",
    "always_equal": lambda n: f"{n} = _Anything()\n",
}


def _no_op_cells(assignment: str, kind: str) -> list[tuple[int, str]]:
    """The release notebook, with every answered name defined as a no-op of ``kind`` in a last cell."""
    cells = student_code(load_notebook(release_notebook(assignment)))
    body = ALWAYS_EQUAL + "".join(NO_OPS[kind](n) for n in answered_names(assignment))
    return cells + [(max(i for i, _ in cells) + 1, body)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.parametrize("kind", ["untouched_release", *NO_OPS])
def test_doing_nothing_scores_zero_on_every_part(engine, assignment, kind):
    path = release_notebook(assignment)
    assert path.is_file(), f"{path} is missing: run `make exercises` first"
    cells = student_code(load_notebook(path)) if kind == "untouched_release" else _no_op_cells(assignment, kind)
    graded = engine.grade(assignment, cells, seeds=SEEDS[:1])
    for seed, scores in graded.scores.items():
        passed = {p: [f for f in graded.failures[seed][p]] for p in scores}
        assert scores == {p: 0.0 for p in scores}, (seed, scores, kind)
        assert passed  # every part ran
    if kind == "untouched_release":
        assert _inkernel(engine, assignment, cells) == {p: 0.0 for p in parts_of(assignment)}


# -- the public checks (what students run themselves) --------------------------------------------------------
def _public_share(assignment: str, part: str, ns: dict, monkeypatch) -> float:
    monkeypatch.setitem(sys.modules, "public_checks", importlib.import_module(f"grader.checks.{assignment}.public_checks"))
    return grader.student.selfcheck.check(part, namespace=ns)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_public_checks_pass_the_solution(assignment, monkeypatch):
    ns = namespace_from(cells_of(source_notebook(assignment)))
    for part in parts_of(assignment):
        assert _public_share(assignment, part, ns, monkeypatch) == 1.0, part


@pytest.mark.parametrize("assignment,mutant", [p for p in _entries("MUTANTS") if p.values[1].public])
def test_public_checks_catch_the_mutant(assignment, mutant: Mutant, monkeypatch):
    ns = namespace_from(cells_of(source_notebook(assignment), replace=mutant.replace))
    for part in sorted(mutant.broken):
        assert _public_share(assignment, part, ns, monkeypatch) < 1.0, part


# -- one class of mutants through `make grade` itself --------------------------------------------------------
E2E_ASSIGNMENT = "equal_weights"
E2E_MUTANTS = ["linear_updates_w0_in_place", "softmax_by_autograd", "count_l2_distance"]


class OneWorker:
    """`grade_course`'s runner: the real grading ``Worker``, in this process."""
    where = "one in-process worker"

    def __init__(self, course):
        from grader.engine.worker import Worker
        self.worker = Worker(str(course), {"cell_seconds": 60, "submission_seconds": 300})

    def run(self, jobs):
        self.worker.start()
        try:
            for job in jobs:
                try:
                    yield job, self.worker.grade(job)
                except Exception as exc:
                    yield job, exc
        finally:
            self.worker.close()


def test_make_grade_end_to_end_on_a_class_of_mutants(tmp_path):
    """The whole pipeline (collect, sanitize, sandbox workers, record into nbgrader's gradebook) on a class of
    students who each hand in the solution with one mutation: each loses points on its part and only there."""
    import nbformat

    from grader.course.demo import _answers, copy_public_files, solved
    from grader.engine.gradebook import Gradebook, db_url_for
    from grader.engine.pipeline import grade_course

    a = E2E_ASSIGNMENT
    answers = _answers(load_notebook(source_notebook(a)))
    mutants = {m.name: m for m in TABLES[a].MUTANTS if m.name in E2E_MUTANTS}
    students = {"solution": answers}
    for name, m in mutants.items():
        mutated = dict(answers)
        for old, new in m.replace.items():
            hits = [gid for gid, src in mutated.items() if old in src]
            assert hits, f"{name}: {old!r} is not in any answer cell"
            mutated.update({gid: mutated[gid].replace(old, new) for gid in hits})
        students[name.replace("_", "-")] = mutated
    release_nb = load_notebook(release_notebook(a))
    for student, ans in students.items():
        folder = tmp_path / "submitted" / student / a
        folder.mkdir(parents=True)
        nbformat.write(solved(release_nb, ans), folder / f"{a}.ipynb")
        copy_public_files(release_notebook(a).parent, folder)
    summary = grade_course(tmp_path, seed=SEEDS[0], runner=OneWorker(tmp_path))
    assert not summary.engine_failures, summary.engine_failures
    with Gradebook(db_url_for(tmp_path)) as gb:
        got = {sub.student.id: {g.name: (g.score, g.max_score) for g in sub.notebooks[0].grades if g.cell_type == "code"}
               for sub in gb.find_assignment(a).submissions}
    parts = parts_of(a)
    assert all(got["solution"][p][0] == got["solution"][p][1] for p in parts), got["solution"]
    for name, m in mutants.items():
        scores = got[name.replace("_", "-")]
        assert all(scores[p][0] < scores[p][1] for p in m.broken), (name, scores)
        assert all(scores[p][0] == scores[p][1] for p in parts if p not in m.broken), (name, scores)
