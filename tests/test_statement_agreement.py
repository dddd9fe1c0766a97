"""What a student reads agrees with what is graded (issue 21).

- the product-bound formulas of eigen_bounds, in the statement, in the hidden hint and in the failure messages
  of the bound checks, are read out of their text and evaluated: each must hold on the diag(1, 0) example and on
  random matrices and give the reference's U[k], so an off-by-one in any of them fails here;
- every part whose own statement allows float32 has a float32 answer in its table (``FLOAT32``), and that answer
  really computes in float32, passes the public checks (what the student's selfcheck runs) and keeps full marks
  on the hidden checks through the engine under every seed;
- every correct alternative of every table passes the public checks too: a public check that refuses a correct
  answer tells a student something false;
- the answers issue 21 found refused stay in the tables, which tests/test_assignments.py grades under ``SEEDS``.
"""
from __future__ import annotations

import ast
import importlib
import math
import re
import sys

import pytest
import torch

from conftest import SEEDS, cells_of, parts_of
from grader.checks.eigen_bounds import reference as R
from grader.engine.notebook import load_notebook, nbgrader_meta
from grader.layout import ASSIGNMENTS, checks_of, source_notebook
from support import namespace_from
from test_assignments import TABLES, _public_share


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one thread avoids oversubscription on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# -- the product bound, read from the text ------------------------------------------------------------------
def _plain(text: str) -> str:
    """Markdown/LaTeX and the hints' plain text in one spelling: σ_{..}, ≤, no spaces, no math delimiters."""
    for old, new in ((r"\sigma", "σ"), (r"\le", "≤"), (r"\;", ""), (r"\,", ""), (r"\geq", "≥"), (r"\ge", "≥"),
                     ("$", "")):
        text = text.replace(old, new)
    text = re.sub(r"\s+", "", text)
    return re.sub(r"σ_([A-Za-z0-9])", r"σ_{\1}", text)  # σ_i -> σ_{i}


_SIGMA = r"σ_\{([^{}]+)\}"
_PRODUCT_BOUND = re.compile(_SIGMA + r"\(AB\)≤" + _SIGMA + r"\(A\)" + _SIGMA + r"\(B\)")


def _index(expr: str, env: dict[str, int]) -> int:
    """An index expression of the text (names, integers, + and -), evaluated without eval()."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in env:
            return env[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            return ev(node.left) + ev(node.right) if isinstance(node.op, ast.Add) else ev(node.left) - ev(node.right)
        raise AssertionError(f"cannot read the index expression {expr!r}")
    return ev(ast.parse(expr, mode="eval"))


def _sigma(values: torch.Tensor, i: int) -> float:
    """σ_i, counted from 1 as the statement does, 0 past the last singular value."""
    assert i >= 1, f"σ_{i}: the statement counts singular values from σ_1"
    return float(values[i - 1]) if i <= values.numel() else 0.0


def _examples():
    """A = B = diag(1, 0) (issue 21's counterexample to σ_k(AB) ≤ σ_{a+1}(A)σ_{b+1}(B)), then random square,
    rectangular and rank-deficient pairs."""
    d = torch.diag(torch.tensor([1.0, 0.0], dtype=torch.float64))
    pairs = [(d, d)]
    rng = torch.Generator().manual_seed(21)
    for m, n, p in [(4, 4, 4), (5, 3, 6), (6, 2, 5), (3, 5, 4), (7, 7, 3)]:
        pairs.append((R.gaussian(rng, m, n), R.gaussian(rng, n, p)))
    pairs.append((R.nearly_singular(rng, 5, 5), R.nearly_singular(rng, 5, 5, smallest=1e-5)))
    return pairs


def _check_zero_based_bound(lhs: str, ya: str, zb: str, constraint: str, bounded: str | None = None) -> None:
    """The claim "σ_{lhs}(AB) ≤ σ_{ya}(A) σ_{zb}(B) for all a + b = k (a, b, k from 0), the least of them is U[k]":
    true on every example, and its least bound is the reference's U[k].  ``bounded``: the index of the singular
    value the text says U[k] bounds ("第 k+1 大"), which must be the same one."""
    left, right = constraint.split("=")
    for A, B in _examples():
        s_ab, s_a, s_b = (torch.linalg.svdvals(X) for X in (A @ B, A, B))
        U = R.singular_value_bounds(A, B)
        for k in reversed(range(len(U))):  # from the top: diag(1, 0) refutes σ_k(AB) at k = 1, not only at σ_0
            bounds = []
            for a in range(len(U) + 1):
                for b in range(len(U) + 1):
                    env = {"a": a, "b": b, "k": k}
                    if _index(left, env) != _index(right, env):
                        continue
                    bound = _sigma(s_a, _index(ya, env)) * _sigma(s_b, _index(zb, env))
                    assert _sigma(s_ab, _index(lhs, env)) <= bound * (1 + 1e-12) + 1e-14, (
                        f"σ_{{{lhs}}}(AB) ≤ σ_{{{ya}}}(A) σ_{{{zb}}}(B) fails at k={k}, a={a}, b={b} for A {tuple(A.shape)}")
                    bounds.append(bound)
            assert bounds, f"no a, b with {constraint} at k={k}"
            assert min(bounds) == pytest.approx(float(U[k]), rel=1e-12, abs=1e-15), (
                f"the least bound over {constraint} is not the graded U[{k}]")
            if bounded is not None:
                assert _index(bounded, {"k": k}) == _index(lhs, {"k": k, "a": 0, "b": k}), (
                    f"the text says U[k] bounds σ_{{{bounded}}} but its inequality bounds σ_{{{lhs}}}")
            # the graded U[k] bounds exactly that singular value, and it is tight for diag(1, 0)
            assert _sigma(s_ab, _index(lhs, {"k": k, "a": 0, "b": k})) <= float(U[k]) * (1 + 1e-12) + 1e-14


def _hint_claim(hint: str) -> tuple[str, str, str, str, str]:
    text = _plain(hint)
    m = re.search(_PRODUCT_BOUND.pattern + r"对所有([abk0-9+\-]+=[abk0-9+\-]+)成立", text)
    assert m, f"the hint no longer states σ_{{..}}(AB) ≤ σ_{{..}}(A) σ_{{..}}(B) for all a + b = k: {hint!r}"
    assert "(a,b,k从0起算)" in text, "the hint must say that a, b and k count from 0"
    bounded = re.search(r"U\[k\]界的是乘积的第([k0-9+\-]+)大奇异值", text)
    assert bounded, f"the hint no longer says which singular value U[k] bounds: {hint!r}"
    return (*m.groups(), bounded.group(1))


def test_the_product_bounds_hint_agrees_with_the_statement_and_the_reference():
    hint = importlib.import_module("grader.checks.eigen_bounds.hints").HINTS["product_bounds"]
    lhs, ya, zb, constraint, bounded = _hint_claim(hint)
    _check_zero_based_bound(lhs, ya, zb, constraint, bounded)


def _statement(part_text_id: str) -> str:
    nb = load_notebook(source_notebook("eigen_bounds"))
    # a statement is an ordinary markdown cell (its text differs between languages), named by its cell id
    return next(c.source for c in nb.cells if c.get("id") == part_text_id)


def test_the_product_bounds_statement_holds_in_both_of_its_forms():
    text = _plain(_statement("product_bounds_text"))
    # Horn and Fan's form, from 1: σ_{i+j-1}(AB) ≤ σ_i(A) σ_j(B) for all i, j ≥ 1
    forms = _PRODUCT_BOUND.findall(text)
    assert "对所有i,j≥1有" in text and forms, "the statement no longer gives the bound for all i, j ≥ 1"
    lhs, ya, zb = forms[0]
    for A, B in _examples():
        s_ab, s_a, s_b = (torch.linalg.svdvals(X) for X in (A @ B, A, B))
        for i in range(1, 5):
            for j in range(1, 5):
                env = {"i": i, "j": j}
                assert _sigma(s_ab, _index(lhs, env)) <= _sigma(s_a, _index(ya, env)) * _sigma(s_b, _index(zb, env)) * (
                    1 + 1e-12) + 1e-14, f"σ_{{{lhs}}}(AB) ≤ σ_{{{ya}}}(A) σ_{{{zb}}}(B) fails at i={i}, j={j}"
    # the task's form, from 0: s_A[a] = σ_{a+1}(A), σ_{k+1}(AB) ≤ s_A[a] s_B[b] for all a + b = k, U[k] their least
    shift = re.search(r"s_A\[a\]=" + _SIGMA + r"\(A\)", text)
    task = re.search(_SIGMA + r"\(AB\)≤s_A\[a\]s_B\[b\]对所有([abk0-9+\-]+=[abk0-9+\-]+)成立", text)
    bounded = re.search(r"也就是AB第([k0-9+\-]+)大奇异值", text)
    assert shift and task and bounded, "the statement no longer spells the 0-based bound as s_A[a] = σ_{a+1}(A) ..."
    assert r"U[k]=\min_{a+b=k}s_A[a]s_B[b]" in text, "the statement no longer defines U[k] as the least bound"
    _check_zero_based_bound(task.group(1), shift.group(1), shift.group(1).replace("a", "b"), task.group(2),
                            bounded.group(1))


def _violation_message(source: str) -> str:
    """The failure message of the check that U bounds the singular values of AB (f-string parts included)."""
    texts = [n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    found = [t for t in texts if "(AB) > U[k]" in t]
    assert len(found) == 1, f"the bound check's failure message no longer names σ(AB) > U[k]: {found}"
    return found[0]


@pytest.mark.parametrize("where", ["public_checks.py", "test_product_bounds.py"])
def test_the_bound_checks_name_the_singular_value_they_compare(where):
    """The check compares svdvals(AB)[k] (the (k+1)-th largest) with U[k]: its message must say σ_{k+1}(AB)."""
    source = (checks_of("eigen_bounds") / where).read_text()
    assert "s[: len(U)] <= U" in source or "s <= U" in source, f"{where}: the comparison changed, reread this test"
    message = _plain(_violation_message(source).replace("sigma", "σ"))
    m = re.search(_SIGMA + r"\(AB\)>U\[k\]", message)
    assert m, f"{where}: cannot read the index in {message!r}"
    for k in range(4):
        assert _index(m.group(1), {"k": k}) == k + 1, f"{where}: U[k] bounds σ_{{k+1}}(AB), the message says σ_{{{m.group(1)}}}"


@pytest.mark.parametrize("wrong", [
    # issue 21's hint: the k-th singular value of the product
    "U[k] 界的是乘积的第 k 大奇异值: σ_{k}(AB) ≤ σ_{a+1}(A) σ_{b+1}(B) 对所有 a + b = k 成立 (a, b, k 从 0 起算)",
    # the right singular value, bounded by the wrong factors
    "U[k] 界的是乘积的第 k+1 大奇异值: σ_{k+1}(AB) ≤ σ_{a+1}(A) σ_{b}(B) 对所有 a + b = k 成立 (a, b, k 从 0 起算)",
    # the right inequality, but U[k] said to bound another singular value
    "U[k] 界的是乘积的第 k 大奇异值: σ_{k+1}(AB) ≤ σ_{a+1}(A) σ_{b+1}(B) 对所有 a + b = k 成立 (a, b, k 从 0 起算)",
    # a constraint that does not give the graded U[k]
    "U[k] 界的是乘积的第 k+1 大奇异值: σ_{k+1}(AB) ≤ σ_{a+1}(A) σ_{b+1}(B) 对所有 a + b = k + 1 成立 (a, b, k 从 0 起算)",
    # the old wording: no formula to check any more
    "乘积的第 k 个奇异值不超过 σ_{a+1}(A) σ_{b+1}(B) (a + b = k)",
])
def test_an_off_by_one_hint_fails(wrong):
    with pytest.raises(AssertionError):
        _check_zero_based_bound(*_hint_claim(wrong))


# -- float32 where the statement allows it ------------------------------------------------------------------
def _part_texts(assignment: str) -> dict[str, str]:
    """The markdown of each part: the cells after the previous graded part up to the part's test cell (the
    introduction, before the first code cell, speaks for the whole assignment and belongs to none)."""
    nb = load_notebook(source_notebook(assignment))
    texts, pending, seen_code = {}, [], False
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and seen_code:
            pending.append(cell.source)
        seen_code = seen_code or cell.cell_type == "code"
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            texts[meta["grade_id"]] = "\n".join(pending)
            pending = []
    return texts


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_part_that_speaks_of_float32_has_a_float32_decision(assignment):
    """A part whose own text mentions float32 has an entry in its table's FLOAT32: a float32 answer to grade
    below, or None where the statement itself fixes the precision (the table says why)."""
    table = TABLES[assignment].FLOAT32
    assert set(table) <= set(parts_of(assignment)), f"{assignment}: FLOAT32 names parts that do not exist"
    speaking = {p for p, text in _part_texts(assignment).items() if "float32" in text}
    assert speaking <= set(table), f"{assignment}: parts whose statement mentions float32 without a FLOAT32 entry: {speaking - set(table)}"


def _float32_entries():
    return [pytest.param(a, p, code, id=f"{a}-{p}") for a in ASSIGNMENTS
            for p, code in TABLES[a].FLOAT32.items() if code is not None]


def _probe_critical_sigma(ns) -> float:
    """Largest error of λ_1 against float64: above 1e-9 (the bar issue 21's float32 answer failed)."""
    return max(abs(ns["gaussian_top_lyapunov"](n, 1.0) - R.gaussian_lyapunov(n, 1.0)) for n in (2, 7, 64))


def _probe_clip_global_norm(ns) -> float:
    """Relative error of the global norm of float64 gradients against float64."""
    g = [torch.randn(40, 30, dtype=torch.float64, generator=torch.Generator().manual_seed(s)) for s in range(3)]
    _, total = ns["clip_by_global_norm"](g, 1.0)
    want = torch.linalg.vector_norm(torch.cat([x.flatten() for x in g]))
    return abs(float(total) - float(want)) / float(want)


# what "computes in float32" shows as, per part: an error float64 cannot have, still inside the statement's tolerance
PROBES = {("eigen_bounds", "critical_sigma"): (_probe_critical_sigma, 1e-9, 1e-5),
          ("divergence", "clip_global_norm"): (_probe_clip_global_norm, 1e-12, 1e-5)}


def test_every_float32_answer_has_a_probe():
    assert {(a, p) for a in ASSIGNMENTS for p, code in TABLES[a].FLOAT32.items() if code} == set(PROBES)


@pytest.mark.parametrize("assignment,part,code", _float32_entries())
def test_float32_answer_is_float32_and_passes_the_public_checks(assignment, part, code, monkeypatch):
    ns = namespace_from(cells_of(source_notebook(assignment), append=code))
    probe, above, below = PROBES[(assignment, part)]
    err = probe(ns)
    assert above < err < below, f"{assignment}/{part}: the float32 answer's error {err:.2e} (should be float32's)"
    assert _public_share(assignment, part, ns, monkeypatch) == 1.0, f"{assignment}/{part}: the public checks refuse float32"


@pytest.mark.parametrize("assignment,part,code", _float32_entries())
def test_float32_answer_keeps_full_marks_on_the_hidden_checks(engine, assignment, part, code):
    graded = engine.grade(assignment, cells_of(source_notebook(assignment), append=code), parts=[part])
    assert not graded.cell_errors, graded.cell_errors
    assert set(graded.scores) == set(SEEDS)
    for seed, scores in graded.scores.items():
        assert scores == {part: 1.0}, (seed, graded.failures[seed][part][:3])


def test_the_public_float32_test_has_teeth(monkeypatch):
    """With issue 21's absolute 1e-9 back in the public critical_sigma checks, the float32 answer is refused."""
    code = TABLES["eigen_bounds"].FLOAT32["critical_sigma"]
    ns = namespace_from(cells_of(source_notebook("eigen_bounds"), append=code))
    public = importlib.import_module("grader.checks.eigen_bounds.public_checks")
    monkeypatch.setattr(public, "TOL", 1e-9 / 2)
    monkeypatch.setattr(public, "_allowed", lambda *values: 1e-9)
    assert _public_share("eigen_bounds", "critical_sigma", ns, monkeypatch) < 1.0


# -- every correct answer passes what the student runs ------------------------------------------------------
def _alternatives():
    return [pytest.param(a, alt, id=f"{a}-{alt.name}") for a in ASSIGNMENTS for alt in TABLES[a].ALTERNATIVES]


@pytest.mark.parametrize("assignment,alternative", _alternatives())
def test_every_correct_alternative_passes_the_public_checks(assignment, alternative, monkeypatch):
    ns = namespace_from(cells_of(source_notebook(assignment), append=alternative.code))
    refused = {p: s for p in parts_of(assignment) if (s := _public_share(assignment, p, ns, monkeypatch)) < 1.0}
    assert not refused, f"{alternative.name}: the public checks refuse a correct answer: {refused}"


# -- issue 21's answers stay graded -------------------------------------------------------------------------
def test_issue_21s_answers_stay_in_the_table():
    """tests/test_assignments.py::test_alternative_keeps_full_marks grades every alternative through the engine
    under every seed, and test_mutant_loses_points_on_its_parts_only every mutant: these must stay listed."""
    table = TABLES["eigen_bounds"]
    alternatives = {alt.name: alt.code for alt in table.ALTERNATIVES}
    assert "torch.special.digamma(torch.tensor(n / 2))" in alternatives["critical_sigma_all_float32"]
    assert "math." not in alternatives["critical_sigma_all_float32"], "the float32 answer must do all its arithmetic in float32 tensors"
    assert "torch.relu(w)" in alternatives["psd_relu_before_sqrt"]
    assert "psd_root_without_clamp" in {m.name for m in table.MUTANTS}
    assert len(set(SEEDS)) >= 5
