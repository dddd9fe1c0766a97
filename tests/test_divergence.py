"""The `divergence` assignment: the solution scores full marks, the release scores nothing, mutants lose points."""
from __future__ import annotations

import pytest

from support import (assert_cpu_only_mutant, assert_mutant_costs_only, assert_public_checks_catch,
                     assert_public_checks_pass, assert_release_scores_zero, assert_solution_full_marks, mutant_ids,
                     solution_fixture)
from support import one_thread  # noqa: F401  (module-scoped autouse fixture: importing it turns it on here)

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

# Mutants the public checks (what students run themselves) must catch on every part they break.
CAUGHT_BY_PUBLIC_CHECKS = ["lars_grad_norm_in_numerator", "lars_no_zero_norm_rule_no_eps", "clip_without_min_1",
                           "deep_he_init"]


solution_ns = solution_fixture(A)


def test_solution_full_marks(solution_ns):
    assert_solution_full_marks(A, PARTS, solution_ns)


def test_release_scores_zero():
    assert_release_scores_zero(A, PARTS)


@pytest.mark.parametrize("name,broken,replace", MUTANTS, ids=mutant_ids(MUTANTS))
def test_mutant_loses_points_on_its_part_only(name, broken, replace):
    assert_mutant_costs_only(A, broken, replace, name)


@pytest.mark.parametrize("name,broken,replace", CPU_ONLY, ids=mutant_ids(CPU_ONLY))
def test_cpu_only_mutant(name, broken, replace):
    assert_cpu_only_mutant(A, broken, replace, name)


def test_public_checks_pass_on_solution(solution_ns, monkeypatch):
    assert_public_checks_pass(A, PARTS, solution_ns, monkeypatch)


@pytest.mark.parametrize("name", CAUGHT_BY_PUBLIC_CHECKS)
def test_public_checks_catch_mutant(name, monkeypatch):
    assert_public_checks_catch(A, MUTANTS, name, monkeypatch)
