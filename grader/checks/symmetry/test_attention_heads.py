"""Hidden checks of part `attention_heads`: train_constant_attention(steps, seed, lr, value, embed_dim, num_heads, random_init, device)."""
import torch

from grader.i18n import _
from grader.checks.symmetry.reference import attention_constant_reference, max_spread, min_pair_gap, trajectory_tolerance

TIE_ATOL = 1e-5
MOVED = 1e-3
APART = 1e-4
SHAPES = [(2, 8), (4, 8), (2, 12), (3, 12), (4, 16)]


def _lr(rng):
    """A learning rate other than the default 0.5 (an answer that hard-codes it shows)."""
    lr = 0.25 + 0.55 * float(torch.rand(1, generator=rng))
    return lr if abs(lr - 0.5) > 0.05 else lr + 0.1


def _draw(rng):
    heads, embed = SHAPES[int(torch.randint(0, len(SHAPES), (1,), generator=rng))]
    return dict(seed=int(torch.randint(0, 2**20, (1,), generator=rng)), num_heads=heads, embed_dim=embed,
                value=round(0.1 + 0.1 * float(torch.rand(1, generator=rng)), 4),
                steps=int(torch.randint(6, 11, (1,), generator=rng)), lr=_lr(rng))


def _train(student, device, steps, seed, num_heads, embed_dim, value, lr=0.5, **kw):
    w = student.call("train_constant_attention", steps, seed=seed, lr=lr, value=value, embed_dim=embed_dim,
                     num_heads=num_heads, device=str(device), **kw)
    expected = (num_heads, embed_dim // num_heads, embed_dim)
    assert isinstance(w, torch.Tensor), _("train_constant_attention 必须返回一个张量")
    assert tuple(w.shape) == expected, _("查询权重的形状是 {w_shape}, 应当是 {expected}").format(
            w_shape=tuple(w.shape), expected=expected)
    assert w.device.type == device.type, _("查询权重在 {w_device} 上, 应当在 {device} 上").format(
            w_device=w.device, device=device)
    assert torch.isfinite(w).all(), _("查询权重中有非有限的元素")
    return w


def test_initial_weight_is_the_constant(student, device, rng):
    c = _draw(rng)
    c["steps"] = 0
    w = _train(student, device, **c)
    torch.testing.assert_close(w, torch.full_like(w, c["value"]), msg=_("steps=0 时每个查询权重都必须等于 value"))


def test_heads_stay_tied(student, device, rng):
    c = _draw(rng)
    w = _train(student, device, random_init=False, **c)
    assert max_spread(w) <= TIE_ATOL, _("常数初始化下所有的头应当保持相同, 但它们不同")
    assert (w - c["value"]).abs().max().item() > MOVED, _("查询权重没有变化: 没有训练吗?")


def test_random_init_unties_heads(student, device, rng):
    c = _draw(rng)
    w = _train(student, device, random_init=True, **c)
    assert min_pair_gap(w) > APART, _("random_init=True 时每个头都应当与其他头不同")
    a = _train(student, device, random_init=True, **c)
    torch.testing.assert_close(w, a, msg=_("同一个 seed 必须给出同样的结果"))


def test_trajectory_matches_reference(student, device, rng):
    """The query weights after a few constant-init steps equal the statement's attention trained here: this is
    what sees the attention itself (scaling, softmax axis, head split, biases, output projection).  Constant init
    keeps every feature of a projection equal, so a split into head_dim groups of num_heads only shows through the
    1/sqrt(d) scale: the shape drawn here has num_heads != head_dim, where that scale differs."""
    c = _draw(rng)
    while c["num_heads"] == c["embed_dim"] // c["num_heads"]:
        c = _draw(rng)
    w = _train(student, device, **c)
    want = attention_constant_reference(c["steps"], c["seed"], c["lr"], c["value"], c["embed_dim"], c["num_heads"])
    torch.testing.assert_close(w.cpu(), want, **trajectory_tolerance(device),
                               msg=lambda m: _("{c_steps} 步之后的查询权重与题目规定的注意力不一致\n{details}").format(
                                       c_steps=c['steps'], details=m))
