"""Hidden checks of part `deep_mlp`: SGD diverges on the badly initialised MLP, LARS brings it back."""
from __future__ import annotations

import math

import pytest
import torch

from grader.i18n import _
from grader.checks.divergence.reference import deep_mlp_reference


WIDTHS = (16, 24, 40, 48)  # never the default 32: a width hard-coded to it shows


def _seed(rng):
    return int(torch.randint(0, 10**6, (1,), generator=rng))


def _losses(student, optimizer, steps, seed, device=None, **kw):
    if device is not None:
        kw["device"] = device
    losses = student.call("train_deep_mlp", optimizer, steps, seed, **kw)
    assert isinstance(losses, (list, tuple)) and len(losses) == steps, _("应当返回 {steps} 个损失组成的列表").format(steps=steps)
    assert all(isinstance(v, (int, float)) for v in losses), _("损失应当是 Python 浮点数")
    return [float(v) for v in losses]


def test_sgd_diverges(student, device, rng):
    for seed in (_seed(rng), _seed(rng)):
        losses = _losses(student, "sgd", 5, seed, device)
        assert math.isfinite(losses[0]) and losses[0] > 100, \
            _("seed {seed}: 用 2/sqrt(n_in) 初始化时, 初始损失 {losses:.3g} 应当很大而且有限").format(seed=seed, losses=losses[0])
        diverged = any(not math.isfinite(v) for v in losses) or max(losses) > 1e3 * losses[0]
        assert diverged, _("seed {seed}: 普通 SGD 在 5 步内没有发散").format(seed=seed)


def test_lars_recovers(student, device, rng):
    seed = _seed(rng)
    losses = _losses(student, "lars", 40, seed, device)
    assert all(math.isfinite(v) for v in losses), _("seed {seed}: LARS 训练中出现了 nan/inf").format(seed=seed)
    assert min(losses[-5:]) < 0.1 * losses[0], \
        _("seed {seed}: LARS 的损失从 {losses:.3g} 降到 {losses2:.3g}, 应当低于初始值的 10%").format(
                seed=seed, losses=losses[0], losses2=min(losses[-5:]))


def test_same_start_for_sgd_and_lars(student, rng):
    # the same seed gives the same data and initial weights whatever the optimizer; different seeds differ
    s1, s2 = _seed(rng), _seed(rng) + 1
    a = _losses(student, "sgd", 1, s1)
    b = _losses(student, "lars", 1, s1)
    c = _losses(student, "sgd", 1, s2)
    assert math.isclose(a[0], b[0], rel_tol=1e-6), _("第一个损失 (任何更新之前) 不应当依赖于优化器")
    assert not math.isclose(a[0], c[0], rel_tol=1e-6), _("不同的 seed 应当给出不同的数据和权重")


def test_reproducible(student, rng):
    seed = _seed(rng)
    a = _losses(student, "lars", 3, seed)
    b = _losses(student, "lars", 3, seed)
    assert all(math.isclose(x, y, rel_tol=1e-6) for x, y in zip(a, b)), _("同一个 seed 应当给出同样的损失")


def test_depth_controls_explosion(student, rng):
    # the explosion comes from depth: a shallow copy of the same recipe starts with a far smaller loss
    seed = _seed(rng)
    shallow = _losses(student, "sgd", 1, seed, depth=3)[0]
    deep = _losses(student, "sgd", 1, seed, depth=24)[0]
    assert math.isfinite(shallow) and math.isfinite(deep) and deep > 100 * shallow, \
        _("seed {seed}: 深度 24 的初始损失应当远大于深度 3 的 (实际 {deep:.3g} 对 {shallow:.3g})").format(
                seed=seed, deep=deep, shallow=shallow)


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
                assert not math.isfinite(g), _("seed {seed}, 深度 {depth}, 宽度 {width}, {optimizer}: 第 {t} 个损失应当溢出").format(
                        seed=seed, depth=depth, width=width, optimizer=optimizer, t=t + 1)
                continue
            assert math.isclose(g, w, rel_tol=1e-3), (
                _("seed {seed}, 深度 {depth}, 宽度 {width}, {optimizer}: 第 {t} 次更新前的损失是 {g:.6g}, 应当是 {w:.6g} (数据、初始化、网络或更新与题目的约定不同)").format(
                        seed=seed, depth=depth, width=width, optimizer=optimizer, t=t + 1, g=g, w=w))


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
            assert not math.isfinite(g), _("seed {seed}, 深度 {depth}, sgd: 第 {t} 个损失应当溢出").format(
                    seed=seed, depth=depth, t=t + 1)
            continue
        assert math.isclose(g, w, rel_tol=1e-3), (
            _("seed {seed}, 深度 {depth}, sgd: 第 {t} 次更新前的损失是 {g:.6g}, 应当是 {w:.6g} (按题目的约定, SGD 的 lr 为 0.01、动量为 0.9)").format(
                    seed=seed, depth=depth, t=t + 1, g=g, w=w))
