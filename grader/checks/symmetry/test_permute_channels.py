"""Hidden checks of part `permute_channels`: permute_conv_channels(w1, b1, w2, perm)."""
import torch

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
    assert isinstance(out, (tuple, list)) and len(out) == 3, "permute_conv_channels must return (w1_new, b1_new, w2_new)"
    for name, got, ref in zip(("w1_new", "b1_new", "w2_new"), out, (w1, b1, w2)):
        assert isinstance(got, torch.Tensor), f"{name} should be a tensor"
        assert got.shape == ref.shape, f"{name}: shape {tuple(got.shape)}, expected {tuple(ref.shape)}"
        assert got.dtype == ref.dtype, f"{name}: dtype {got.dtype}, expected {ref.dtype}"
        assert got.device.type == ref.device.type, f"{name}: on {got.device}, expected {ref.device}"
    return out


def test_network_function_unchanged(student, device, rng):
    for _ in range(3):
        x, w1, b1, w2, b2, perm, pad = _case(rng, device)
        stride = int(torch.randint(1, 3, (1,), generator=rng))
        p1, pb1, p2 = _call(student, w1, b1, w2, perm)
        before = two_conv_net(x, w1, b1, w2, b2, pad, 1, stride)
        after = two_conv_net(x, p1, pb1, p2, b2, pad, 1, stride)
        torch.testing.assert_close(after, before, msg="the permuted network computes a different function")


def test_float32_network_unchanged(student, device, rng):
    x, w1, b1, w2, b2, perm, pad = _case(rng, device, torch.float32)
    p1, pb1, p2 = _call(student, w1, b1, w2, perm)
    # float32 (TF32 convolutions on GPUs): the sums over channels run in another order, so allow rounding.
    torch.testing.assert_close(two_conv_net(x, p1, pb1, p2, b2, pad, 0, 1), two_conv_net(x, w1, b1, w2, b2, pad, 0, 1),
                               rtol=1e-4, atol=1e-4, msg="the permuted float32 network computes a different function")


def test_convention_new_channel_i_is_old_perm_i(student, device, rng):
    for _ in range(2):
        _, w1, b1, w2, _, perm, _ = _case(rng, device)
        p1, pb1, p2 = _call(student, w1, b1, w2, perm)
        assert torch.equal(p1.cpu(), w1.cpu()[perm.cpu()]), "w1_new[i] must equal w1[perm[i]]"
        assert torch.equal(pb1.cpu(), b1.cpu()[perm.cpu()]), "b1_new[i] must equal b1[perm[i]]"
        assert torch.equal(p2.cpu(), w2.cpu()[:, perm.cpu()]), "w2_new[:, i] must equal w2[:, perm[i]]"


def test_inverse_permutation_restores(student, device, rng):
    _, w1, b1, w2, _, perm, _ = _case(rng, device)
    p1, pb1, p2 = _call(student, w1, b1, w2, perm)
    inv = torch.argsort(perm)
    q1, qb1, q2 = _call(student, p1.to(device), pb1.to(device), p2.to(device), inv)
    assert torch.equal(q1.cpu(), w1.cpu()) and torch.equal(qb1.cpu(), b1.cpu()) and torch.equal(q2.cpu(), w2.cpu()), \
        "applying perm and then argsort(perm) should give back the original weights"


def test_inputs_not_modified(student, device, rng):
    """Compared on the checker's side: the inputs as the call left them (in the sandbox the child's copies)."""
    _, w1, b1, w2, _, perm, _ = _case(rng, device)
    out, after = student.call_returning_inputs("permute_conv_channels", w1, b1, w2, perm)
    assert isinstance(out, (tuple, list)) and len(out) == 3, "permute_conv_channels must return (w1_new, b1_new, w2_new)"
    for name, t, now in zip(("w1", "b1", "w2", "perm"), (w1, b1, w2, perm), after):
        assert torch.equal(now.cpu(), t.cpu()), f"permute_conv_channels modified its input {name} in place"
    assert torch.equal(out[0].cpu(), w1.cpu()[perm.cpu()]), "w1_new[i] must equal w1[perm[i]]"
