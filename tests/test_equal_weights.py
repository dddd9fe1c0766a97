"""The assignment `equal_weights`: solution scores full marks, release scores 0, mutants lose points where they should."""
from __future__ import annotations

import functools

import pytest

from support import (assert_cpu_only_mutant, assert_mutant_costs_only, assert_release_scores_zero,
                     assert_solution_full_marks, find_mutant, mutant_ids, namespace_from, public_share,
                     solution_fixture, solution_path)
from support import one_thread  # noqa: F401  (module-scoped autouse fixture: importing it turns it on here)

A = "equal_weights"
PARTS = ["linear_regression", "softmax_gradient", "softmax_training", "distinct_units", "mlp_ties"]

# (id, part it breaks, {exact solution snippet: wrong snippet})
MUTANTS = [
    ("linear_no_mean", "linear_regression",
     {"w - lr * (X.T @ r) / n,": "w - lr * (X.T @ r),"}),
    ("linear_missing_bias", "linear_regression",
     {"r = X @ w + b - y": "r = X @ w - y"}),
    ("linear_wrong_sign", "linear_regression",
     {"w, b = w - lr * (X.T @ r) / n, b - lr * r.sum() / n": "w, b = w + lr * (X.T @ r) / n, b + lr * r.sum() / n"}),
    ("linear_b_not_updated", "linear_regression",
     {"w, b = w - lr * (X.T @ r) / n, b - lr * r.sum() / n": "w, b = w - lr * (X.T @ r) / n, b"}),
    ("softmax_no_mean", "softmax_gradient",
     {"G = (P - Y) / n": "G = P - Y"}),
    ("softmax_no_onehot", "softmax_gradient",
     {"G = (P - Y) / n": "G = P / n"}),
    ("softmax_bias_wrong_dim", "softmax_gradient",
     {"db = G.sum(dim=0)": "db = G.sum(dim=1)"}),
    ("softmax_transposed_dW", "softmax_gradient",
     {"dW = G.T @ X": "dW = X.T @ G"}),
    ("softmax_k_from_labels", "softmax_gradient",
     {"n, k = X.shape[0], W.shape[0]": "n, k = X.shape[0], int(y.max()) + 1"}),
    ("softmax_train_b_not_updated", "softmax_training",
     {"W -= lr * gW\n            b -= lr * gb": "W -= lr * gW"}),
    ("count_ignores_atol", "distinct_units",
     {"if all(float((row - r).abs().max()) > atol for r in reps):": "if all(not torch.equal(row, r) for r in reps):"}),
    ("mlp_random_hidden_bias", "mlp_ties",
     {"b1 = torch.full((hidden,), value, **kw, requires_grad=True)": "b1 = torch.randn(hidden, **kw).requires_grad_(True)"}),
    ("mlp_update_rebinds_copy", "mlp_ties",
     {"p -= lr * g": "p = p - lr * g"}),
]
# Hard-codes the CPU: the one-hot targets are created on the CPU while the logits live on the device.
CPU_ONLY = ("softmax_onehot_on_cpu", "softmax_gradient",
            {"Y = torch.zeros(n, k, dtype=X.dtype, device=X.device)": "Y = torch.zeros(n, k, dtype=X.dtype)"})

# (part, mutant): the public checks (what students run themselves) pass the solution and catch the mutant.
CAUGHT_BY_PUBLIC_CHECKS = [
    ("linear_regression", "linear_missing_bias"),
    ("softmax_gradient", "softmax_no_onehot"),
    ("softmax_training", "softmax_train_b_not_updated"),
    ("distinct_units", "count_ignores_atol"),
    ("mlp_ties", "mlp_random_hidden_bias"),
]


@functools.lru_cache(maxsize=None)
def mutant_ns(mutant_id: str) -> dict:
    """The solution notebook with one mutation, executed once per session."""
    return namespace_from(solution_path(A), replace=find_mutant(MUTANTS, mutant_id)[2])


solution_ns = solution_fixture(A)


def test_solution_full_marks(solution_ns):
    assert_solution_full_marks(A, PARTS, solution_ns)


def test_release_scores_zero():
    assert_release_scores_zero(A, PARTS)


@pytest.mark.parametrize("mutant, part", [(m[0], m[1]) for m in MUTANTS], ids=mutant_ids(MUTANTS))
def test_mutant_loses_points_only_on_its_part(mutant, part):
    assert_mutant_costs_only(A, part, None, mutant, ns=mutant_ns(mutant))


def test_cpu_only_tensors_lose_cuda_checks():
    name, part, replace = CPU_ONLY
    assert_cpu_only_mutant(A, part, replace, name)


@pytest.mark.parametrize("part, mutant", CAUGHT_BY_PUBLIC_CHECKS)
def test_public_checks(solution_ns, part, mutant, monkeypatch):
    assert public_share(A, part, solution_ns, monkeypatch) == 1.0
    assert public_share(A, part, mutant_ns(mutant), monkeypatch) < 1.0
