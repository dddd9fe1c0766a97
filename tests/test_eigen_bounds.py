"""The `eigen_bounds` assignment: the solution scores full marks, the release scores nothing, mutants lose points."""
from __future__ import annotations

import importlib
import sys

import pytest
import torch

import grader.selfcheck
from support import grade_namespace, namespace_from, release_path, solution_path

A = "eigen_bounds"
PARTS = ["product_bounds", "psd_bounds", "lyapunov", "critical_sigma"]

TOP_LOOP = """    for t in range(T):
        v = mats[t] @ v
        norm = torch.linalg.vector_norm(v)
        total = total + torch.log(norm)
        v = v / norm
    return total / T
"""

# (id, part it breaks, {exact solution snippet: wrong snippet})
MUTANTS = [
    ("sv_index_off_by_one", "product_bounds",
     {"U[k] = min(sA[a] * sB[k - a] for a in range(k + 1))": "U[k] = min(sA[a] * sB[k - a - 1] for a in range(k + 1))"}),
    ("spectral_from_eigenvalues", "product_bounds",
     {"return torch.linalg.matrix_norm(A, ord=2) * torch.linalg.matrix_norm(B, ord=2)":
      "return torch.linalg.eigvals(A).abs().max() * torch.linalg.eigvals(B).abs().max()"}),
    ("spectral_frobenius", "product_bounds", {"ord=2": 'ord="fro"'}),
    ("condition_inverted", "product_bounds",
     {"return (sA[0] / sA[-1]) * (sB[0] / sB[-1])": "return (sA[0] / sA[-1]) / (sB[0] / sB[-1])"}),
    ("psd_bounds_swapped", "psd_bounds",
     {"return wA[0] * wB[0], wA[-1] * wB[-1]": "return wA[-1] * wB[-1], wA[0] * wB[0]"}),
    ("psd_eigvalsh_of_nonsymmetric", "psd_bounds",
     {"return torch.linalg.eigvalsh((S + S.mT) / 2)": "return torch.linalg.eigvalsh(A @ B)"}),
    ("lyapunov_no_renormalisation", "lyapunov",
     {TOP_LOOP: "    for t in range(T):\n        v = mats[t] @ v\n    return torch.log(torch.linalg.vector_norm(v)) / T\n"}),
    ("lyapunov_divides_by_T_minus_1", "lyapunov", {"return total / T\n": "return total / (T - 1)\n"}),
    ("lyapunov_log10", "lyapunov", {"total = total + torch.log(norm)": "total = total + torch.log10(norm)"}),
    ("lyapunov_qr_signed_diagonal", "lyapunov",
     {"torch.log(torch.diagonal(R).abs())": "torch.log(torch.diagonal(R))"}),
    ("critical_forgets_half", "critical_sigma",
     {"return math.exp(-0.5 * (math.log(2.0) + psi))": "return math.exp(-(math.log(2.0) + psi))"}),
]

# Hard-codes the CPU: the start vector is created on the CPU while the matrices live on the device.
CPU_ONLY = ("lyapunov_cpu_start_vector", "lyapunov",
            {"v = torch.ones(n, dtype=mats.dtype, device=mats.device)": "v = torch.ones(n, dtype=mats.dtype)"})


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The checks multiply tiny matrices in long loops: extra BLAS threads only spin on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


@pytest.mark.parametrize("name,part,replace", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_mutant_loses_points_on_its_part_only(name, part, replace):
    scores = grade_namespace(A, namespace_from(solution_path(A), replace=replace))
    assert scores[part] < 1.0, f"mutant {name} keeps full marks on {part}"
    others = {p: s for p, s in scores.items() if p != part}
    assert others == {p: 1.0 for p in others}, f"mutant {name} also costs points elsewhere: {scores}"


def test_cpu_only_mutant():
    name, part, replace = CPU_ONLY
    scores = grade_namespace(A, namespace_from(solution_path(A), replace=replace))
    others = {p: s for p, s in scores.items() if p != part}
    assert others == {p: 1.0 for p in others}, scores
    if torch.cuda.is_available():
        assert scores[part] < 1.0, "a CPU-only submission must lose the cuda checks"
    else:
        assert scores[part] == 1.0, "without CUDA the CPU-only submission is indistinguishable"


def test_public_checks_pass_on_solution(solution_ns, monkeypatch):
    for part in PARTS:
        assert public_share(part, solution_ns, monkeypatch) == 1.0, part


@pytest.mark.parametrize("name", ["spectral_frobenius", "psd_bounds_swapped", "lyapunov_no_renormalisation",
                                  "critical_forgets_half"])
def test_public_checks_catch_mutant(name, monkeypatch):
    _, part, replace = next(m for m in MUTANTS if m[0] == name)
    ns = namespace_from(solution_path(A), replace=replace)
    assert public_share(part, ns, monkeypatch) < 1.0
