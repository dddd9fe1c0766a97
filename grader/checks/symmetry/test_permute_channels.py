"""Hidden checks of part `permute_channels`: permute_conv_channels(w1, b1, w2, perm)."""
import torch

from grader.i18n import _
from grader.checks.symmetry.reference import non_involution, two_conv_net


def _case(rng, device, dtype=torch.float64):
    c_in = int(torch.randint(1, 5, (1,), generator=rng))
    c_mid = int(torch.randint(3, 10, (1,), generator=rng))
    c_out = int(torch.randint(1, 6, (1,), generator=rng))
    k1 = [1, 3, 5][int(torch.randint(0, 3, (1,), generator=rng))]
    k2 = [1, 3][int(torch.randint(0, 2, (1,), generator=rng))]
    t = lambda *s: torch.randn(*s, generator=rng, dtype=dtype).to(device)
    w1, b1, w2, b2 = t(c_mid, c_in, k1, k1), t(c_mid), t(c_out, c_mid, k2, k2), t(c_out)
    x = t(2, c_in, 9, 9)
    perm = non_involution(c_mid, rng).to(device)
    return x, w1, b1, w2, b2, perm, k1 // 2


def _call(student, w1, b1, w2, perm):
    out = student.call("permute_conv_channels", w1, b1, w2, perm)
    assert isinstance(out, (tuple, list)) and len(out) == 3, _("permute_conv_channels 必须返回 (w1_new, b1_new, w2_new)")
    for name, got, ref in zip(("w1_new", "b1_new", "w2_new"), out, (w1, b1, w2)):
        assert isinstance(got, torch.Tensor), _("{name} 应当是张量").format(name=name)
        assert got.shape == ref.shape, _("{name}: 形状是 {got_shape}, 应当是 {ref_shape}").format(
                name=name, got_shape=tuple(got.shape), ref_shape=tuple(ref.shape))
        assert got.dtype == ref.dtype, _("{name}: 数据类型是 {got_dtype}, 应当是 {ref_dtype}").format(
                name=name, got_dtype=got.dtype, ref_dtype=ref.dtype)
        assert got.device.type == ref.device.type, _("{name}: 在 {got_device} 上, 应当在 {ref_device} 上").format(
                name=name, got_device=got.device, ref_device=ref.device)
    return out


def test_network_function_unchanged(student, device, rng):
    for _unused in range(3):
        x, w1, b1, w2, b2, perm, pad = _case(rng, device)
        stride = int(torch.randint(1, 3, (1,), generator=rng))
        p1, pb1, p2 = _call(student, w1, b1, w2, perm)
        before = two_conv_net(x, w1, b1, w2, b2, pad, 1, stride)
        after = two_conv_net(x, p1, pb1, p2, b2, pad, 1, stride)
        torch.testing.assert_close(after, before, msg=_("置换后的网络计算的是另一个函数"))


def test_float32_network_unchanged(student, device, rng):
    x, w1, b1, w2, b2, perm, pad = _case(rng, device, torch.float32)
    p1, pb1, p2 = _call(student, w1, b1, w2, perm)
    # float32 (TF32 convolutions on GPUs): the sums over channels run in another order, so allow rounding.
    torch.testing.assert_close(two_conv_net(x, p1, pb1, p2, b2, pad, 0, 1), two_conv_net(x, w1, b1, w2, b2, pad, 0, 1),
                               rtol=1e-4, atol=1e-4, msg=_("置换后的 float32 网络计算的是另一个函数"))


def test_convention_new_channel_i_is_old_perm_i(student, device, rng):
    for _unused in range(2):
        _unused, w1, b1, w2, _unused, perm, _unused = _case(rng, device)
        p1, pb1, p2 = _call(student, w1, b1, w2, perm)
        assert torch.equal(p1.cpu(), w1.cpu()[perm.cpu()]), _("w1_new[i] 必须等于 w1[perm[i]]")
        assert torch.equal(pb1.cpu(), b1.cpu()[perm.cpu()]), _("b1_new[i] 必须等于 b1[perm[i]]")
        assert torch.equal(p2.cpu(), w2.cpu()[:, perm.cpu()]), _("w2_new[:, i] 必须等于 w2[:, perm[i]]")


def test_inverse_permutation_restores(student, device, rng):
    _unused, w1, b1, w2, _unused, perm, _unused = _case(rng, device)
    p1, pb1, p2 = _call(student, w1, b1, w2, perm)
    inv = torch.argsort(perm)
    q1, qb1, q2 = _call(student, p1.to(device), pb1.to(device), p2.to(device), inv)
    assert torch.equal(q1.cpu(), w1.cpu()) and torch.equal(qb1.cpu(), b1.cpu()) and torch.equal(q2.cpu(), w2.cpu()), \
        _("先按 perm 置换再按 argsort(perm) 置换, 应当得到原来的权重")


def test_inputs_not_modified(student, device, rng):
    """Compared on the checker's side: the inputs as the call left them (in the sandbox the child's copies)."""
    _unused, w1, b1, w2, _unused, perm, _unused = _case(rng, device)
    out, after = student.call_returning_inputs("permute_conv_channels", w1, b1, w2, perm)
    assert isinstance(out, (tuple, list)) and len(out) == 3, _("permute_conv_channels 必须返回 (w1_new, b1_new, w2_new)")
    for name, t, now in zip(("w1", "b1", "w2", "perm"), (w1, b1, w2, perm), after):
        assert torch.equal(now.cpu(), t.cpu()), _("permute_conv_channels 原地修改了输入 {name}").format(name=name)
    assert torch.equal(out[0].cpu(), w1.cpu()[perm.cpu()]), _("w1_new[i] 必须等于 w1[perm[i]]")
