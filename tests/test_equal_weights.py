"""The assignment `equal_weights`: solution scores full marks, release scores 0, mutants lose points where they should."""
from __future__ import annotations

import functools
import sys

import pytest
import torch

import grader.equal_weights.public_checks as public_checks
from grader.selfcheck import check
from tests.support import grade_namespace, namespace_from, release_path, solution_path

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
CPU_ONLY = {"Y = torch.zeros(n, k, dtype=X.dtype, device=X.device)": "Y = torch.zeros(n, k, dtype=X.dtype)"}


@functools.lru_cache(maxsize=None)
def mutant_ns(mutant_id: str) -> dict:
    """The solution notebook with one mutation, executed once per session."""
    return namespace_from(solution_path(A), replace=next(m[2] for m in MUTANTS if m[0] == mutant_id))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors: one intra-op thread avoids spin-waiting on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def solution_ns():
    return namespace_from(solution_path(A))


def test_solution_full_marks(solution_ns):
    assert grade_namespace(A, solution_ns) == {p: 1.0 for p in PARTS}


def test_release_scores_zero():
    path = release_path(A)
    assert path.is_file(), "run `nbgrader generate_assignment equal_weights` first"
    assert grade_namespace(A, namespace_from(path)) == {p: 0.0 for p in PARTS}


@pytest.mark.parametrize("mutant, part", [(m[0], m[1]) for m in MUTANTS], ids=[m[0] for m in MUTANTS])
def test_mutant_loses_points_only_on_its_part(mutant, part):
    scores = grade_namespace(A, mutant_ns(mutant))
    assert scores[part] < 1.0, scores
    assert all(scores[p] == 1.0 for p in PARTS if p != part), scores


def test_cpu_only_tensors_lose_cuda_checks():
    scores = grade_namespace(A, namespace_from(solution_path(A), replace=CPU_ONLY))
    assert all(scores[p] == 1.0 for p in PARTS if p != "softmax_gradient"), scores
    if torch.cuda.is_available():
        assert scores["softmax_gradient"] < 1.0, scores
    else:
        assert scores["softmax_gradient"] == 1.0, scores


@pytest.fixture
def public_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "public_checks", public_checks)


@pytest.mark.parametrize("part, mutant", [
    ("linear_regression", "linear_missing_bias"),
    ("softmax_gradient", "softmax_no_onehot"),
    ("softmax_training", "softmax_train_b_not_updated"),
    ("distinct_units", "count_ignores_atol"),
    ("mlp_ties", "mlp_random_hidden_bias"),
])
def test_public_checks(public_module, solution_ns, part, mutant):
    assert check(part, namespace=solution_ns) == 1.0
    assert check(part, namespace=mutant_ns(mutant)) < 1.0
