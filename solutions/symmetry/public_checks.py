"""Public self-checks of the `symmetry` assignment (ships to students; needs nothing but torch).

Each ``check_<part>__<what>(student, device, rng)`` checks a property (shape, device, an invariance)
on inputs it draws itself; the graders run more checks on other random inputs.
"""
import torch

# the self-check beside this file: its `_` gives a message in the exercise's language (in the grader, the
# submission's)
from selfcheck import _
import torch.nn.functional as F


def _tensor_like(name, got, ref):
    assert isinstance(got, torch.Tensor), _("{name} 应当是张量, 实际是 {got_type}").format(
            name=name, got_type=type(got).__name__)
    assert got.shape == ref.shape, _("{name} 的形状是 {got_shape}, 应当与输入相同: {ref_shape}").format(
            name=name, got_shape=tuple(got.shape), ref_shape=tuple(ref.shape))
    assert got.dtype == ref.dtype, _("{name} 的数据类型是 {got_dtype}, 应当是 {ref_dtype}").format(
            name=name, got_dtype=got.dtype, ref_dtype=ref.dtype)
    assert got.device.type == ref.device.type, _("{name} 在 {got_device} 上, 应当与输入同在 {ref_device} 上").format(
            name=name, got_device=got.device, ref_device=ref.device)


def _permute(student, w1, b1, w2, perm):
    out = student.call("permute_conv_channels", w1, b1, w2, perm)
    assert isinstance(out, (tuple, list)) and len(out) == 3, _("permute_conv_channels 应当返回三元组 (w1_new, b1_new, w2_new)")
    for name, got, ref in zip(("w1_new", "b1_new", "w2_new"), out, (w1, b1, w2)):
        _tensor_like(name, got, ref)
    return out


def _conv_case(rng, device):
    t = lambda *s: torch.randn(*s, generator=rng, dtype=torch.float64).to(device)
    w1, b1, w2, b2 = t(5, 2, 3, 3), t(5), t(3, 5, 3, 3), t(3)
    perm = torch.randperm(5, generator=rng).to(device)
    return t(2, 2, 7, 7), w1, b1, w2, b2, perm


def check_permute_channels__shapes_and_device(student, device, rng):
    _, w1, b1, w2, _, perm = _conv_case(rng, device)
    _permute(student, w1, b1, w2, perm)


def check_permute_channels__network_unchanged(student, device, rng):
    x, w1, b1, w2, b2, perm = _conv_case(rng, device)
    net = lambda a, b, c: F.conv2d(F.relu(F.conv2d(x, a, b, padding=1)), c, b2)
    p1, pb1, p2 = _permute(student, w1, b1, w2, perm)
    torch.testing.assert_close(net(p1, pb1, p2), net(w1, b1, w2),
                               msg=_("置换通道之后 conv2(relu(conv1(x))) 的输出变了: 检查 b1 和 w2 是否按同一个置换、沿正确的维度重排"))


def check_permute_channels__inverse_restores(student, device, rng):
    _unused, w1, b1, w2, _unused, perm = _conv_case(rng, device)
    p1, pb1, p2 = _permute(student, w1, b1, w2, perm)
    q1, qb1, q2 = _permute(student, p1, pb1, p2, torch.argsort(perm))
    assert torch.equal(q1, w1) and torch.equal(qb1, b1) and torch.equal(q2, w2), \
        _("先用 perm 再用 torch.argsort(perm) 置换, 应当得到原来的权重")


def _groups(student, weight, atol):
    groups = student.call("tied_groups", weight, atol)
    assert isinstance(groups, (list, tuple)), _("tied_groups 应当返回列表, 实际是 {groups_type}").format(
            groups_type=type(groups).__name__)
    assert all(isinstance(g, (list, tuple)) for g in groups), _("tied_groups 应当返回列表的列表, 每个组是一个下标列表")
    return [[int(i) for i in g] for g in groups]


def check_detect_ties__distinct_and_identical(student, device, rng):
    n = int(torch.randint(3, 8, (1,), generator=rng))
    weight = torch.randn(n, 2, 3, 3, generator=rng).to(device)
    got = _groups(student, weight, 1e-6)
    assert got == [[i] for i in range(n)], _("{n} 个互不相同的通道应当各自成组, 即 [[0], [1], ..., [{n2}]]").format(n=n, n2=n - 1)
    same = weight[:1].repeat(n, 1, 1, 1)
    got = _groups(student, same, 1e-6)
    assert got == [list(range(n))], _("{n} 个完全相同的通道应当是一个组 [[0, 1, ..., {n2}]]").format(n=n, n2=n - 1)


def check_detect_ties__partition(student, device, rng):
    weight = torch.randn(6, 4, generator=rng)
    weight[3] = weight[1]
    got = _groups(student, weight.to(device), 1e-6)
    flat = sorted(i for g in got for i in g)
    assert flat == list(range(6)), _("每个通道 (第 0 维的每个下标) 应当恰好出现在一个组里")
    assert all(g == sorted(g) for g in got), _("每组内部的下标应当升序排列")
    assert [g[0] for g in got] == sorted(g[0] for g in got), _("各组应当按第一个下标升序排列")


def _cnn(student, device, steps, **kw):
    channels = kw.setdefault("channels", 6)
    w = student.call("train_constant_cnn", steps, device=str(device), **kw)
    assert isinstance(w, torch.Tensor), _("train_constant_cnn 应当返回 conv1 的权重张量")
    assert tuple(w.shape) == (channels, 3, 3, 3), _("conv1 权重形状是 {w_shape}, 应当是 {channels}").format(
            w_shape=tuple(w.shape), channels=(channels, 3, 3, 3))
    assert w.device.type == device.type, _("返回的权重在 {w_device} 上, 应当在 {device} 上").format(
            w_device=w.device, device=device)
    return w


def _spread(w):
    rows = w.detach().reshape(w.shape[0], -1).double()
    return (rows - rows[0]).abs().max().item()


def check_constant_init_cnn__initial_constant(student, device, rng):
    seed = int(torch.randint(0, 1000, (1,), generator=rng))
    w = _cnn(student, device, 0, seed=seed, value=0.1)
    assert torch.allclose(w, torch.full_like(w, 0.1)), _("steps=0 时 conv1 的每个元素都应当等于 value=0.1")


def check_constant_init_cnn__channels_tied_after_training(student, device, rng):
    seed = int(torch.randint(0, 1000, (1,), generator=rng))
    w = _cnn(student, device, 8, seed=seed, lr=0.5, value=0.1)
    assert _spread(w) <= 1e-5, _("常数初始化训练之后, conv1 的各个通道应当仍然相同 (检查偏置是否也设成了常数)")
    assert (w - 0.1).abs().max().item() > 1e-3, _("训练 8 步之后 conv1 的权重几乎没有变化: 是否真的做了梯度下降?")


def _attention(student, device, steps, heads, embed, **kw):
    w = student.call("train_constant_attention", steps, num_heads=heads, embed_dim=embed, device=str(device), **kw)
    expected = (heads, embed // heads, embed)
    assert isinstance(w, torch.Tensor), _("train_constant_attention 应当返回张量")
    assert tuple(w.shape) == expected, _("查询权重的形状是 {w_shape}, 应当是 [num_heads, d, embed_dim] = {expected}").format(
            w_shape=tuple(w.shape), expected=expected)
    assert w.device.type == device.type, _("返回的权重在 {w_device} 上, 应当在 {device} 上").format(
            w_device=w.device, device=device)
    return w


def check_attention_heads__initial_constant(student, device, rng):
    seed = int(torch.randint(0, 1000, (1,), generator=rng))
    w = _attention(student, device, 0, 2, 8, seed=seed, value=0.1)
    assert torch.allclose(w, torch.full_like(w, 0.1)), _("steps=0 时查询权重的每个元素都应当等于 value=0.1")


def check_attention_heads__random_init_differs(student, device, rng):
    seed = int(torch.randint(0, 1000, (1,), generator=rng))
    w = _attention(student, device, 0, 4, 16, seed=seed, random_init=True)
    rows = w.reshape(4, -1)
    assert all(not torch.allclose(rows[i], rows[j]) for i in range(4) for j in range(i)), \
        _("random_init=True 时各个头的查询权重应当互不相同")


KEYS = {"random_init", "dropout", "gradient_noise", "weight_decay", "momentum", "larger_learning_rate",
        "batchnorm", "adam", "gradient_clipping", "data_augmentation"}


def check_tie_breakers__keys_and_types(student):
    answers = student.get("BREAKS_SYMMETRY")
    assert isinstance(answers, dict), _("BREAKS_SYMMETRY 应当是字典, 实际是 {answers_type}").format(
            answers_type=type(answers).__name__)
    missing, extra = KEYS - set(answers), set(answers) - KEYS
    assert not missing, _("BREAKS_SYMMETRY 缺少这些键: {missing}").format(missing=sorted(missing))
    assert not extra, _("BREAKS_SYMMETRY 有多余的键: {extra}").format(extra=sorted(extra))
    wrong = sorted(k for k, v in answers.items() if type(v) is not bool)
    assert not wrong, _("这些键的值不是 True/False: {wrong}").format(wrong=wrong)
