"""Hidden checks of part `clip_global_norm`: against torch.nn.utils.clip_grad_norm_ on the check's own copies."""
from __future__ import annotations

import math

import torch

from grader.i18n import _
from grader.checks.divergence._util import randn, random_shapes, uniform
from grader.checks.divergence.reference import clip_reference

RTOL = 1e-5  # "按 float32 的精度比较（相对误差 1e-5）"


def _call(student, grads, max_norm, device):
    out = student.call("clip_by_global_norm", [g.clone() for g in grads], max_norm)
    assert isinstance(out, (tuple, list)) and len(out) == 2, _("应当返回二元组 (clipped, total_norm)")
    clipped, total = out
    assert isinstance(clipped, (list, tuple)) and len(clipped) == len(grads), _("应当得到 {grads} 个裁剪后的张量").format(
            grads=len(grads))
    for i, (c, g) in enumerate(zip(clipped, grads)):
        assert isinstance(c, torch.Tensor) and c.shape == g.shape and c.dtype == g.dtype, \
            _("clipped[{i}] 应当是形状为 {g_shape}、数据类型为 {g_dtype} 的张量").format(i=i, g_shape=tuple(g.shape), g_dtype=g.dtype)
        assert c.device.type == device.type, _("clipped[{i}] 在 {c_device} 上, 应当在 {device} 上").format(
                i=i, c_device=c.device, device=device)
    assert isinstance(total, torch.Tensor) and total.dim() == 0, _("total_norm 应当是 0 维张量")
    assert total.device.type == device.type, _("total_norm 在 {total_device} 上, 应当在 {device} 上").format(
            total_device=total.device, device=device)
    return clipped, total


def _compare(student, grads, max_norm, device, what):
    clipped, total = _call(student, grads, max_norm, device)
    ref, ref_total = clip_reference([g.cpu() for g in grads], max_norm)
    torch.testing.assert_close(total.cpu(), ref_total, rtol=1e-5, atol=1e-6, msg=lambda m: "{what}: total_norm\n{details}".format(what=what, details=m))
    for i, (c, r) in enumerate(zip(clipped, ref)):
        torch.testing.assert_close(c.cpu(), r, rtol=1e-5, atol=1e-6, msg=lambda m: "{what}: clipped[{i}]\n{details}".format(what=what, i=i, details=m))
    return clipped


def _grads(rng, device, dtype=torch.float32):
    shapes = random_shapes(rng, 1, 5)
    scales = [10.0 ** uniform(rng, -1, 1) for _ in shapes]
    return [randn(rng, s, dtype, c).to(device) for s, c in zip(shapes, scales)]


def _norm(grads):
    return math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))


def test_above_threshold(student, device, rng):
    grads = _grads(rng, device)
    max_norm = _norm(grads) / uniform(rng, 1.5, 20.0)
    _compare(student, grads, max_norm, device, "global norm above max_norm")


def test_below_threshold(student, device, rng):
    grads = _grads(rng, device)
    max_norm = _norm(grads) / uniform(rng, 0.1, 0.9)
    _compare(student, grads, max_norm, device, "global norm below max_norm (no clipping)")


def test_float64(student, device, rng):
    grads = _grads(rng, device, torch.float64)
    max_norm = _norm(grads) / uniform(rng, 0.3, 5.0)
    _compare(student, grads, max_norm, device, "float64 gradients")


def test_zero_gradients(student, device, rng):
    grads = [torch.zeros(s).to(device) for s in random_shapes(rng, 1, 4)]
    clipped, total = _call(student, grads, uniform(rng, 0.1, 5.0), device)
    assert float(total) == 0.0, _("梯度全为零时 total_norm 应当为 0")
    for c in clipped:
        assert torch.isfinite(c).all() and not c.any(), _("全零的梯度裁剪后应当仍然全为零 (不能出现 nan)")


def test_global_not_per_tensor(student, device, rng):
    # every tensor alone is below max_norm, together they are above: all must shrink by the same factor
    k = int(torch.randint(3, 6, (1,), generator=rng))
    max_norm = uniform(rng, 0.5, 5.0)
    grads = []
    for _unused in range(k):
        g = randn(rng, (int(torch.randint(2, 8, (1,), generator=rng)),))
        grads.append((g / g.norm() * max_norm * uniform(rng, 0.5, 0.95)).float().to(device))
    clipped = _compare(student, grads, max_norm, device, "each tensor below max_norm, global norm above")
    ratios = [float(c.norm() / g.norm()) for c, g in zip(clipped, grads)]
    assert max(ratios) - min(ratios) < 1e-4, _("各张量被乘上了不同的系数 {ratios}: 应当按全局范数裁剪, 而不是逐个张量裁剪").format(ratios=ratios)


def test_one_large_tensor(student, device, rng):
    # one exploding tensor and several small ones: the small ones shrink too
    grads = _grads(rng, device)
    big = randn(rng, (int(torch.randint(2, 10, (1,), generator=rng)),), torch.float32, 10.0 ** uniform(rng, 2, 4))
    grads.insert(int(torch.randint(0, len(grads) + 1, (1,), generator=rng)), big.to(device))
    _compare(student, grads, uniform(rng, 0.5, 5.0), device, "one exploding tensor among small ones")


def test_inputs_not_modified(student, device, rng):
    """The statement asks for new tensors: the gradients passed in stay as they were (checked on this side)."""
    grads = _grads(rng, device)
    max_norm = _norm(grads) / uniform(rng, 2.0, 10.0)
    out, (after, _unused) = student.call_returning_inputs("clip_by_global_norm", [g.clone() for g in grads], max_norm)
    assert isinstance(out, (tuple, list)) and len(out) == 2, _("应当返回二元组 (clipped, total_norm)")
    for i, (g, a) in enumerate(zip(grads, after)):
        assert torch.equal(a.cpu(), g.cpu()), _("clip_by_global_norm 原地修改了 grads[{i}]: 应当返回新的张量").format(i=i)
    ref, _unused = clip_reference([g.cpu() for g in grads], max_norm)
    for i, (c, r) in enumerate(zip(out[0], ref)):
        assert isinstance(c, torch.Tensor), _("clipped[{i}] 应当是张量").format(i=i)
        torch.testing.assert_close(c.cpu(), r, rtol=1e-5, atol=1e-6, msg=lambda m: "clipped[{i}]\n{details}".format(i=i, details=m))


# -- added for `make mutants`: rules of the statement that the checks above leave open ------------------------
def test_epsilon_at_small_norms(student, device, rng):
    """The statement's coefficient is max_norm / (global_norm + 1e-6): at a global norm of 1e-5 to 1e-4 the 1e-6
    changes the clipped gradients by 1 % to 10 %, so a missing, negated or rescaled epsilon shows (at the
    magnitudes above it is below the tolerance).  Compared relative to the size of the gradients."""
    grads = _grads(rng, device, dtype=torch.float64)
    target = 10.0 ** uniform(rng, -5, -4)
    norm = math.sqrt(sum(float((g.cpu() ** 2).sum()) for g in grads))
    grads = [g * (target / norm) for g in grads]
    max_norm = target * uniform(rng, 0.2, 0.6)
    clipped, total = _call(student, grads, max_norm, device)
    ref, ref_total = clip_reference([g.cpu() for g in grads], max_norm)
    # the statement's tolerance (relative 1e-5, float64 gradients too): a float32 computation is allowed, and the
    # epsilon moves the clipped gradients by 1 % to 10 %, far above it
    assert abs(float(total) - float(ref_total)) <= RTOL * float(ref_total), _("全局范数很小时 total_norm 不对")
    for i, (c, r) in enumerate(zip(clipped, ref)):
        err = float(torch.linalg.vector_norm(c.cpu() - r))
        assert err <= RTOL * float(torch.linalg.vector_norm(r)) + 1e-300, \
            _("全局范数为 {target:.1e} 时, clipped[{i}] 与 min(1, max_norm / (norm + 1e-6)) * g 不一致").format(
                    i=i, target=target)
