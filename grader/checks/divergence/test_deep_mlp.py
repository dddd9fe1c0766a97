"""Hidden checks of part `deep_mlp`: SGD diverges on the badly initialised MLP, LARS brings it back."""
from __future__ import annotations

import math

import pytest
import torch

from grader.checks.divergence.reference import deep_mlp_reference


WIDTHS = (16, 24, 40, 48)  # never the default 32: a width hard-coded to it shows


def _seed(rng):
    return int(torch.randint(0, 10**6, (1,), generator=rng))


def _losses(student, optimizer, steps, seed, device=None, **kw):
    if device is not None:
        kw["device"] = device
    losses = student.call("train_deep_mlp", optimizer, steps, seed, **kw)
    assert isinstance(losses, (list, tuple)) and len(losses) == steps, f"expected a list of {steps} losses"
    assert all(isinstance(v, (int, float)) for v in losses), "losses should be Python floats"
    return [float(v) for v in losses]


def test_sgd_diverges(student, device, rng):
    for seed in (_seed(rng), _seed(rng)):
        losses = _losses(student, "sgd", 5, seed, device)
        assert math.isfinite(losses[0]) and losses[0] > 100, \
            f"seed {seed}: the initial loss {losses[0]:.3g} should be large and finite with the 2/sqrt(n_in) init"
        diverged = any(not math.isfinite(v) for v in losses) or max(losses) > 1e3 * losses[0]
        assert diverged, f"seed {seed}: plain SGD did not diverge within 5 steps"


def test_lars_recovers(student, device, rng):
    seed = _seed(rng)
    losses = _losses(student, "lars", 40, seed, device)
    assert all(math.isfinite(v) for v in losses), f"seed {seed}: LARS produced nan/inf"
    assert min(losses[-5:]) < 0.1 * losses[0], \
        f"seed {seed}: LARS loss went from {losses[0]:.3g} to {min(losses[-5:]):.3g}, expected below 10% of the start"


def test_same_start_for_sgd_and_lars(student, rng):
    # the same seed gives the same data and initial weights whatever the optimizer; different seeds differ
    s1, s2 = _seed(rng), _seed(rng) + 1
    a = _losses(student, "sgd", 1, s1)
    b = _losses(student, "lars", 1, s1)
    c = _losses(student, "sgd", 1, s2)
    assert math.isclose(a[0], b[0], rel_tol=1e-6), "the first loss (before any update) should not depend on the optimizer"
    assert not math.isclose(a[0], c[0], rel_tol=1e-6), "different seeds should give different data and weights"


def test_reproducible(student, rng):
    seed = _seed(rng)
    a = _losses(student, "lars", 3, seed)
    b = _losses(student, "lars", 3, seed)
    assert all(math.isclose(x, y, rel_tol=1e-6) for x, y in zip(a, b)), "the same seed should give the same losses"


def test_depth_controls_explosion(student, rng):
    # the explosion comes from depth: a shallow copy of the same recipe starts with a far smaller loss
    seed = _seed(rng)
    shallow = _losses(student, "sgd", 1, seed, depth=3)[0]
    deep = _losses(student, "sgd", 1, seed, depth=24)[0]
    assert math.isfinite(shallow) and math.isfinite(deep) and deep > 100 * shallow, \
        f"seed {seed}: depth 24 should start with a much larger loss than depth 3 (got {deep:.3g} vs {shallow:.3g})"


def test_trajectory_matches_reference(student, device, rng):
    """The losses of a few steps of SGD and of LARS equal the statement's recipe run here (float32, so a
    relative 1e-3 leaves room for another order of summation; any other network, data or update is far off)."""
    seed, width = _seed(rng), WIDTHS[int(torch.randint(0, len(WIDTHS), (1,), generator=rng))]
    # SGD on a shallow copy (depth 3-5 stays finite for 5 steps), so that its momentum shows from the third loss
    # on; LARS on a deep one over 12 steps.  The width varies too: the statement makes it a parameter.
    for optimizer, steps, depth in (("sgd", 5, int(torch.randint(3, 6, (1,), generator=rng))),
                                    ("lars", 12, int(torch.randint(6, 21, (1,), generator=rng)))):
        got = _losses(student, optimizer, steps, seed, device, depth=depth, width=width)
        want = deep_mlp_reference(optimizer, steps, seed, depth=depth, width=width)
        for t, (g, w) in enumerate(zip(got, want)):
            if not math.isfinite(w):  # SGD may overflow after its first update: then it must overflow too
                assert not math.isfinite(g), f"seed {seed}, depth {depth}, width {width}, {optimizer}: loss {t + 1} should overflow"
                continue
            assert math.isclose(g, w, rel_tol=1e-3), (
                f"seed {seed}, depth {depth}, width {width}, {optimizer}: loss before update {t + 1} is {g:.6g}, expected {w:.6g} "
                f"(data, initialisation, network or update differ from the statement)")


@pytest.fixture(autouse=True)
def _one_thread():
    """The matrices are 64 x 32: extra intra-op threads only spin, so grade with one (and restore it)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# -- added for `make mutants`: rules of the statement that the checks above leave open ------------------------
def test_sgd_momentum_over_several_steps(student, device, rng):
    """SGD's momentum 0.9 shows only from the third loss on: on a shallow copy of the recipe (depth 3 to 5, where
    SGD stays finite for a while) the first six losses must follow the statement's SGD."""
    seed, depth = _seed(rng), int(torch.randint(3, 6, (1,), generator=rng))
    got = _losses(student, "sgd", 6, seed, device, depth=depth)
    want = deep_mlp_reference("sgd", 6, seed, depth=depth)
    for t, (g, w) in enumerate(zip(got, want)):
        if not math.isfinite(w):
            assert not math.isfinite(g), f"seed {seed}, depth {depth}, sgd: loss {t + 1} should overflow"
            continue
        assert math.isclose(g, w, rel_tol=1e-3), (
            f"seed {seed}, depth {depth}, sgd: loss before update {t + 1} is {g:.6g}, expected {w:.6g} "
            "(SGD with lr 0.01 and momentum 0.9, as the statement says)")
