"""Fixtures of the assignment suite: the real grading engine, started once per test session.

``engine`` is what a grading worker holds: a warm zygote, one pytest ``CheckSession`` over every
assignment's checks, and a sandbox placement.  ``engine.grade(assignment, cells, seeds)`` runs the cells
in one sandboxed child and the checks of every part against it once per seed, as ``make grade`` does.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from grader.engine import isolation
from grader.engine.check import CheckSession
from grader.engine.execute import Sandbox, SandboxStudent, warm_zygote, zygote_context
from grader.engine.notebook import graded_parts, load_notebook, student_code
from grader.layout import ASSIGNMENTS, REPO, source_notebook

# Every mutant must be caught, and every alternative keep full marks, under each of these grading seeds.
SEEDS = (11, 2024, 31337, 4242, 777)


def parts_of(assignment: str) -> list[str]:
    return [p for p, _ in graded_parts(load_notebook(source_notebook(assignment)))]


def cells_of(path: Path, replace: dict[str, str] | None = None, append: str | None = None) -> list[tuple[int, str]]:
    """The student cells of a notebook with ``replace`` applied (every snippet must occur somewhere, so a
    mutation never silently stops applying when the notebook changes) and ``append`` run last."""
    cells = student_code(load_notebook(path))
    for old, new in (replace or {}).items():
        hits = sum(src.count(old) for _, src in cells)
        assert hits >= 1, f"mutation target not found in {path.name}: {old!r}"
        cells = [(i, src.replace(old, new)) for i, src in cells]
    if append is not None:
        cells.append((max(i for i, _ in cells) + 1, append))
    return cells


@dataclass
class Graded:
    """One submission graded under several seeds: ``scores[seed][part]`` and the seconds it cost."""
    scores: dict[int, dict[str, float]]
    failures: dict[int, dict[str, list[str]]]
    compute: float  # the child's cells plus the check bodies (student calls included), summed over seeds
    cell_errors: dict[int, str]


class Engine:
    def __init__(self, workdir: Path):
        self.ctx = zygote_context()
        zygote = warm_zygote(self.ctx)
        self.checks = CheckSession(list(ASSIGNMENTS))
        self.checks.start()
        zygote.join()
        workdir.mkdir(parents=True, exist_ok=True)
        # What a grading worker hides and keeps, with a sandbox uid of its own where root
        layers = isolation.detect()
        self.uid, self.uid_lock = isolation.claim_uid() if layers.root and layers.namespaces else (None, None)
        workdir.chmod(0o777)
        self.place = isolation.Policy(layers=layers, uid=self.uid,
                                      hide=[str(REPO), os.path.expanduser("~")], keep=isolation.interpreter_paths(),
                                      workdir=str(workdir), limits=isolation.Limits(cell_seconds=60, submission_seconds=600))

    def grade(self, assignment: str, cells: list[tuple[int, str]], seeds=SEEDS, parts=None, later_parts=None) -> Graded:
        """``parts`` (default: all) under the first seed; ``later_parts`` (default: ``parts``) under the others."""
        parts = parts or parts_of(assignment)
        box = Sandbox(self.ctx, cells, self.place)
        scores, failures = {}, {}
        try:
            runs = box.start()
            check_seconds = 0.0
            for n, seed in enumerate(seeds):
                run = self.checks.run_parts(assignment, parts if n == 0 or later_parts is None else later_parts,
                                            SandboxStudent(box), seed)
                scores[seed] = {p: r.score for p, r in run.items()}
                failures[seed] = {p: [f"{o.nodeid.split('::')[-1]}: {o.message[:200]}" for o in r.outcomes
                                      if not o.passed] for p, r in run.items()}
                check_seconds += run.check_seconds
        finally:
            box.close()
        errors = {i: r.error[:300] for i, r in runs.items() if r.status != "ok"}
        return Graded(scores, failures, box.busy + check_seconds, errors)

    def close(self) -> None:
        self.checks.close()
        if self.uid_lock is not None:
            os.close(self.uid_lock)


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the checks use tiny tensors: extra threads only spin on a shared machine
    eng = Engine(tmp_path_factory.mktemp("engine") / "work")
    yield eng
    eng.close()
    torch.set_num_threads(before)
