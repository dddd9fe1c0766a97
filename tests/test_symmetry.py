"""The `symmetry` assignment: the solution scores full marks, the release scores nothing, mutants lose points."""
from __future__ import annotations

import importlib
import sys

import pytest
import torch

import grader.selfcheck
from support import grade_namespace, namespace_from, release_path, solution_path

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


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors: intra-op threads only spin on this shared 2-core machine (8x the CPU time)."""
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


@pytest.mark.parametrize("name", ["perm_w2_wrong_dim", "ties_compare_columns", "cnn_random_bias"])
def test_public_checks_catch_mutant(name, monkeypatch):
    _, part, replace = next(m for m in MUTANTS if m[0] == name)
    ns = namespace_from(solution_path(A), replace=replace)
    assert public_share(part, ns, monkeypatch) < 1.0
