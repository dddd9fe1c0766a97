"""The `divergence` assignment: the solution scores full marks, the release scores nothing, mutants lose points."""
from __future__ import annotations

import importlib
import sys

import pytest
import torch

import grader.selfcheck
from support import grade_namespace, namespace_from, release_path, solution_path

# The networks here are tiny: several threads only fight over the shared cores.
torch.set_num_threads(1)

A = "divergence"
PARTS = ["lars_step", "clip_global_norm", "deep_mlp"]

# (id, parts it breaks, {exact solution snippet: wrong snippet}).  train_deep_mlp uses the notebook's own LARS,
# so a LARS mutant that no longer trains the network loses points on deep_mlp too, by design.
MUTANTS = [
    ("lars_momentum_ignored", {"lars_step"},
     {"buf.mul_(momentum)": "buf.mul_(0.0)"}),
    ("lars_decay_after_trust_ratio", {"lars_step"},
     {"buf.mul_(momentum).add_(d * (lr * local_lr))": "buf.mul_(momentum).add_(lr * (local_lr * g + wd * p))"}),
    ("lars_decay_not_in_denominator", {"lars_step"},
     {"(g_norm + wd * w_norm + eps)": "(g_norm + eps)"}),
    ("lars_elementwise_abs", {"lars_step"},
     {"w_norm = torch.linalg.vector_norm(p)\n": "w_norm = p.abs()\n",
      "g_norm = torch.linalg.vector_norm(g)\n": "g_norm = g.abs()\n"}),
    ("lars_no_zero_norm_rule_no_eps", {"lars_step"},
     {"local_lr = torch.where((w_norm > 0) & (g_norm > 0), ratio, torch.ones_like(ratio))":
      "local_lr = trust * w_norm / (g_norm + wd * w_norm)"}),
    ("lars_grad_norm_in_numerator", {"lars_step", "deep_mlp"},
     {"ratio = trust * w_norm /": "ratio = trust * g_norm /"}),
    ("clip_per_tensor", {"clip_global_norm"},
     {"clipped = [g.detach() * coef for g in grads]":
      "clipped = [g.detach() * torch.clamp(max_norm / (g.norm() + 1e-6), max=1.0) for g in grads]"}),
    ("clip_without_min_1", {"clip_global_norm"},
     {"coef = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)": "coef = max_norm / (total_norm + 1e-6)"}),
    ("clip_squared_norm", {"clip_global_norm"},
     {"total_norm = total_sq.sqrt()": "total_norm = total_sq"}),
    ("deep_he_init", {"deep_mlp"},
     {"* 2 / math.sqrt(n_in)": "* math.sqrt(2 / n_in)"}),
    ("deep_seed_ignored", {"deep_mlp"},
     {"gen = torch.Generator().manual_seed(seed)": "gen = torch.Generator().manual_seed(0)"}),
    ("deep_depth_ignored", {"deep_mlp"},
     {"dims = [8] + [width] * (depth - 1) + [1]": "dims = [8] + [width] * 19 + [1]"}),
]

# Hard-coded CPU tensors: (id, parts that lose the cuda checks, replacement).
CPU_ONLY = [
    ("lars_buffer_on_cpu", {"lars_step", "deep_mlp"},
     {"torch.zeros(p.shape, dtype=p.dtype, device=p.device)": "torch.zeros(p.shape, dtype=p.dtype)"}),
    ("deep_data_on_cpu", {"deep_mlp"},
     {"    X, y = X.to(device), y.to(device)\n": ""}),
]


def public_share(part, ns, monkeypatch) -> float:
    """Share of the public checks of `part` passed, as a student's `check(part)` reports it."""
    monkeypatch.setitem(sys.modules, "public_checks", importlib.import_module(f"grader.{A}.public_checks"))
    return grader.selfcheck.check(part, namespace=ns)


@pytest.fixture(scope="module")
def solution_ns():
    return namespace_from(solution_path(A))


def test_solution_full_marks(solution_ns):
    assert grade_namespace(A, solution_ns) == {p: 1.0 for p in PARTS}


def test_release_scores_zero():
    path = release_path(A)
    assert path.is_file(), f"{path} is missing: run `nbgrader generate_assignment {A}` first"
    assert grade_namespace(A, namespace_from(path)) == {p: 0.0 for p in PARTS}


@pytest.mark.parametrize("name,broken,replace", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_mutant_loses_points_on_its_part_only(name, broken, replace):
    scores = grade_namespace(A, namespace_from(solution_path(A), replace=replace))
    for part in broken:
        assert scores[part] < 1.0, f"mutant {name} keeps full marks on {part}: {scores}"
    others = {p: s for p, s in scores.items() if p not in broken}
    assert others == {p: 1.0 for p in others}, f"mutant {name} also costs points elsewhere: {scores}"


@pytest.mark.parametrize("name,broken,replace", CPU_ONLY, ids=[m[0] for m in CPU_ONLY])
def test_cpu_only_mutant(name, broken, replace):
    scores = grade_namespace(A, namespace_from(solution_path(A), replace=replace))
    others = {p: s for p, s in scores.items() if p not in broken}
    assert others == {p: 1.0 for p in others}, scores
    for part in broken:
        if torch.cuda.is_available():
            assert scores[part] < 1.0, f"{name}: a CPU-only submission must lose the cuda checks of {part}"
        else:
            assert scores[part] == 1.0, f"{name}: without CUDA the CPU-only submission is indistinguishable"


def test_public_checks_pass_on_solution(solution_ns, monkeypatch):
    for part in PARTS:
        assert public_share(part, solution_ns, monkeypatch) == 1.0, part


@pytest.mark.parametrize("name", ["lars_grad_norm_in_numerator", "lars_no_zero_norm_rule_no_eps",
                                  "clip_without_min_1", "deep_he_init"])
def test_public_checks_catch_mutant(name, monkeypatch):
    _, broken, replace = next(m for m in MUTANTS if m[0] == name)
    ns = namespace_from(solution_path(A), replace=replace)
    for part in broken:
        assert public_share(part, ns, monkeypatch) < 1.0, part
