"""Hidden checks of part `constant_init_cnn`: train_constant_cnn(steps, seed, lr, value, channels, dropout, random_init, device)."""
import torch

from grader.i18n import _
from grader.checks.symmetry.reference import (cnn_constant_reference, max_spread, min_pair_gap, tie_groups,
                                             trajectory_tolerance)

TIE_ATOL = 1e-5      # float32 weights of size ~0.1: identical computations agree far better than this
MOVED = 1e-3         # training at lr >= 0.25 for >= 6 steps moves the weights by more than this
APART = 1e-4         # channels that were separated differ by more than this


def _lr(rng):
    """A learning rate other than the default 0.5 (an answer that hard-codes it shows)."""
    lr = 0.25 + 0.55 * float(torch.rand(1, generator=rng))
    return lr if abs(lr - 0.5) > 0.05 else lr + 0.1


def _draw(rng):
    return dict(seed=int(torch.randint(0, 2**20, (1,), generator=rng)),
                channels=int(torch.randint(3, 9, (1,), generator=rng)),
                value=round(0.08 + 0.07 * float(torch.rand(1, generator=rng)), 4),
                steps=int(torch.randint(6, 11, (1,), generator=rng)), lr=_lr(rng))


def _train(student, device, steps, seed, channels, value, lr=0.5, **kw):
    w = student.call("train_constant_cnn", steps, seed=seed, lr=lr, value=value, channels=channels,
                     device=str(device), **kw)
    assert isinstance(w, torch.Tensor), _("train_constant_cnn 必须返回 conv1 的权重张量")
    assert tuple(w.shape) == (channels, 3, 3, 3), _("conv1 权重的形状是 {w_shape}, 应当是 {channels}").format(
            w_shape=tuple(w.shape), channels=(channels, 3, 3, 3))
    assert w.device.type == device.type, _("conv1 权重在 {w_device} 上, 应当在 {device} 上").format(
            w_device=w.device, device=device)
    assert torch.isfinite(w).all(), _("conv1 权重中有非有限的元素")
    return w


def test_initial_weight_is_the_constant(student, device, rng):
    c = _draw(rng)
    w = _train(student, device, 0, c["seed"], c["channels"], c["value"])
    torch.testing.assert_close(w, torch.full_like(w, c["value"]), msg=_("steps=0 时 conv1 的每个元素都必须等于 value"))


def test_channels_stay_tied(student, device, rng):
    c = _draw(rng)
    w = _train(student, device, dropout=False, random_init=False, **c)
    assert max_spread(w) <= TIE_ATOL, _("常数初始化下 conv1 的各通道应当保持相同, 但它们不同")
    assert (w - c["value"]).abs().max().item() > MOVED, _("conv1 的权重没有离开初始常数: 没有训练吗?")


def test_dropout_unties(student, device, rng):
    c = _draw(rng)
    w = _train(student, device, dropout=True, **c)
    assert tie_groups(w, APART) == [[i] for i in range(c["channels"])], \
        _("conv1 之后有暂退法 (dropout) 时, conv1 的每个通道最终都应当与其他通道不同")


def test_random_init_unties(student, device, rng):
    c = _draw(rng)
    w = _train(student, device, random_init=True, **c)
    assert min_pair_gap(w) > APART, _("random_init=True 时 conv1 的各通道应当互不相同")
    assert (w - c["value"]).abs().max().item() > MOVED, _("random_init=True 时不能使用这个常数")


def test_seed_controls_random_init(student, device, rng):
    c = _draw(rng)
    a = _train(student, device, 0, c["seed"], c["channels"], c["value"], random_init=True)
    b = _train(student, device, 0, c["seed"], c["channels"], c["value"], random_init=True)
    d = _train(student, device, 0, c["seed"] + 1, c["channels"], c["value"], random_init=True)
    torch.testing.assert_close(a, b, msg=_("同一个 seed 必须给出同样的初始权重"))
    assert not torch.allclose(a, d), _("不同的 seed 应当给出不同的随机初始权重")


def test_trajectory_matches_reference(student, device, rng):
    """conv1's weight after a few constant-init steps equals the statement's network trained here: this is what
    sees the layers after conv1 (conv2, its ReLU, the average pooling, fc) and the update itself."""
    c = _draw(rng)
    # a negative value too: conv2's pre-activations are then all negative, so its ReLU decides everything
    for value in (c["value"], -c["value"]):
        w = _train(student, device, c["steps"], c["seed"], c["channels"], value, lr=c["lr"])
        want = cnn_constant_reference(c["steps"], c["seed"], c["lr"], value, c["channels"])
        torch.testing.assert_close(w.cpu(), want, **trajectory_tolerance(device), msg=lambda m: (
            _("value={value}, lr={c_lr:.3f}: {c_steps} 步之后 conv1 的权重与题目规定的网络不一致\n{details}").format(
                    value=value, c_lr=c['lr'], c_steps=c['steps'], details=m)))


# The statement fixes the rate at 0.5.  The masks come from the student's global RNG, and an answer may build
# its modules in another order (so draw other masks), so the rate is measured as a class of networks shows it,
# not by one trajectory: how far conv1's channels drift apart, relative to how far they move together, after
# 3 steps (the first step sends no gradient below fc: its constant rows see a uniform softmax).  Over 10 of
# the draws below this averages 0.52 at rate 0.5 (lowest of 40 repeats: 0.36) and 0.12 at rate 0.05 (highest:
# 0.18); the bound sits between them.
DROPOUT_RUNS = 10
DROPOUT_SPREAD_AT_HALF = 0.26


def _relative_spread(w: torch.Tensor, value: float) -> float:
    moved = w.detach().cpu().double().reshape(w.shape[0], -1) - value
    together = moved.mean(0)
    return ((moved - together).pow(2).mean().sqrt() / together.abs().mean()).item()


def test_dropout_rate_is_one_half(student, device, rng):
    spreads = []
    for _unused in range(DROPOUT_RUNS):
        c = _draw(rng)  # value > 0: conv1's ReLU passes, so every channel gets a gradient
        w = _train(student, device, 3, c["seed"], c["channels"], c["value"], lr=c["lr"], dropout=True)
        spreads.append(_relative_spread(w, c["value"]))
    mean = sum(spreads) / len(spreads)
    assert mean > DROPOUT_SPREAD_AT_HALF, _(
        "dropout=True 时, conv1 各通道彼此分开的程度平均为它们共同移动量的 {mean:.3f} ({runs} 次运行); "
        "紧接第一个 ReLU 的 nn.Dropout(0.5) 约为 0.5 (比率更小, 这个值也更小)").format(mean=mean, runs=DROPOUT_RUNS)
