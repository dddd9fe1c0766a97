"""The `symmetry` assignment: the solution scores full marks, the release scores nothing, mutants lose points."""
from __future__ import annotations

import pytest

from support import (assert_cpu_only_mutant, assert_mutant_costs_only, assert_public_checks_catch,
                     assert_public_checks_pass, assert_release_scores_zero, assert_solution_full_marks, mutant_ids,
                     solution_fixture)
from support import one_thread  # noqa: F401  (module-scoped autouse fixture: importing it turns it on here)

A = "symmetry"
PARTS = ["permute_channels", "detect_ties", "constant_init_cnn", "attention_heads", "tie_breakers"]

# (id, part it breaks, {exact solution snippet: wrong snippet})
MUTANTS = [
    ("perm_w2_wrong_dim", "permute_channels",
     {"w2_new = w2[:, perm].clone()": "w2_new = w2[perm].clone()"}),
    ("perm_forgets_bias", "permute_channels",
     {"b1_new = b1[perm].clone()": "b1_new = b1.clone()"}),
    ("perm_inverse", "permute_channels",
     {"    w1_new = w1[perm].clone()": "    perm = torch.argsort(perm)\n    w1_new = w1[perm].clone()"}),
    ("perm_identity_trick", "permute_channels",
     {"    return w1_new, b1_new, w2_new": "    return w1.clone(), b1.clone(), w2.clone()"}),
    ("ties_wrong_tolerance_direction", "detect_ties",
     {"(diff <= atol)": "(diff > atol)"}),
    ("ties_compare_columns", "detect_ties",
     {"rows = weight.detach().reshape(n, -1)": "rows = weight.detach().reshape(n, -1).T"}),
    ("ties_l2_norm", "detect_ties",
     {".abs().amax(dim=-1)": ".norm(dim=-1)"}),
    ("ties_not_transitive", "detect_ties",
     {"                    stack.append(k)": "                    pass"}),
    ("cnn_random_bias", "constant_init_cnn",
     {"                p.fill_(value)": "                if 'weight' in name:\n                    p.fill_(value)"}),
    ("cnn_dropout_ignored", "constant_init_cnn",
     {"self.drop = nn.Dropout(0.5) if dropout else nn.Identity()": "self.drop = nn.Identity()"}),
    ("cnn_dropout_after_pooling", "constant_init_cnn",
     {"h = self.drop(F.relu(self.conv1(x)))": "h = F.relu(self.conv1(x))",
      "return self.fc(h)": "return self.fc(self.drop(h))"}),
    ("attention_random_bias", "attention_heads",
     {"        for p in mha.parameters():": "        for p in (mha.q.weight, mha.k.weight, mha.v.weight, mha.o.weight):"}),
    ("attention_random_init_ignored", "attention_heads",
     {"    if not random_init:\n        for p in mha": "    if True:\n        for p in mha"}),
    ("breakers_momentum", "tie_breakers",
     {'"momentum": False': '"momentum": True'}),
    ("breakers_batchnorm", "tie_breakers",
     {'"batchnorm": False': '"batchnorm": True'}),
]

# Hard-codes the CPU: the model stays on the CPU while the data goes to the device.
CPU_ONLY = ("cnn_cpu_only", "constant_init_cnn", {"    net = net.to(device)\n": ""})


# Mutants the public checks (what students run themselves) must catch.
CAUGHT_BY_PUBLIC_CHECKS = ["perm_w2_wrong_dim", "ties_compare_columns", "cnn_random_bias"]


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
