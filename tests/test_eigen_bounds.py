"""The `eigen_bounds` assignment: the solution scores full marks, the release scores nothing, mutants lose points."""
from __future__ import annotations

import pytest

from support import (assert_cpu_only_mutant, assert_mutant_costs_only, assert_public_checks_catch,
                     assert_public_checks_pass, assert_release_scores_zero, assert_solution_full_marks, mutant_ids,
                     solution_fixture)
from support import one_thread  # noqa: F401  (module-scoped autouse fixture: importing it turns it on here)

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


# Mutants the public checks (what students run themselves) must catch.
CAUGHT_BY_PUBLIC_CHECKS = ["spectral_frobenius", "psd_bounds_swapped", "lyapunov_no_renormalisation",
                           "critical_forgets_half"]


solution_ns = solution_fixture(A)


def test_solution_full_marks(solution_ns):
    assert_solution_full_marks(A, PARTS, solution_ns)


def test_release_scores_zero():
    assert_release_scores_zero(A, PARTS)


@pytest.mark.parametrize("name,part,replace", MUTANTS, ids=mutant_ids(MUTANTS))
def test_mutant_loses_points_on_its_part_only(name, part, replace):
    assert_mutant_costs_only(A, part, replace, name)


def test_cpu_only_mutant():
    name, part, replace = CPU_ONLY
    assert_cpu_only_mutant(A, part, replace, name)


def test_public_checks_pass_on_solution(solution_ns, monkeypatch):
    assert_public_checks_pass(A, PARTS, solution_ns, monkeypatch)


@pytest.mark.parametrize("name", CAUGHT_BY_PUBLIC_CHECKS)
def test_public_checks_catch_mutant(name, monkeypatch):
    assert_public_checks_catch(A, MUTANTS, name, monkeypatch)
