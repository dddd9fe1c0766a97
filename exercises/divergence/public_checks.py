"""Public self-checks of the `divergence` assignment (ships to students; needs nothing but torch).

Each ``check_<part>__<what>(student, device, rng)`` checks a property (shape, device, an invariance, a comparison
with a torch built-in) on inputs it draws itself; the graders run more checks on other random inputs.
"""
import math

import torch

# the self-check beside this file: its `_` gives a message in the exercise's language (in the grader, the
# submission's)
from selfcheck import _


def _randn(rng, *shape, dtype=torch.float64):
    return torch.randn(*shape, generator=rng, dtype=dtype)


def _lars_history(student, params, grads, **hyper):
    history = student.optimizer_steps("LARS", params, grads, **hyper)
    assert len(history) == len(grads), _("LARS: 应当得到 {grads} 步的参数, 实际 {history} 步").format(
            grads=len(grads), history=len(history))
    for step in history:
        for got, ref in zip(step, params):
            assert got.shape == ref.shape and got.dtype == ref.dtype, \
                _("LARS 更新后参数的形状/数据类型变成了 {got_shape}/{got_dtype}, 应当保持 {ref_shape}/{ref_dtype}").format(
                        got_shape=tuple(got.shape), got_dtype=got.dtype, ref_shape=tuple(ref.shape), ref_dtype=ref.dtype)
            assert got.device.type == ref.device.type, _("LARS 更新后参数在 {got_device} 上, 应当留在 {ref_device} 上").format(
                    got_device=got.device, ref_device=ref.device)
            assert torch.isfinite(got).all(), _("LARS 更新后参数出现了 nan/inf")
    return history


def check_lars_step__shapes_dtype_device(student, device, rng):
    shapes = [(4, 3), (5,), (2, 3, 2)]
    for dtype in (torch.float32, torch.float64):
        params = [_randn(rng, *s, dtype=dtype).to(device) for s in shapes]
        grads = [[_randn(rng, *s, dtype=dtype).to(device) for s in shapes] for _ in range(2)]
        history = _lars_history(student, params, grads, lr=0.5, momentum=0.9, weight_decay=1e-3, trust_coefficient=0.02)
        assert all(not torch.equal(w, p) for w, p in zip(history[-1], params)), _("LARS 的 step() 没有更新参数")


def check_lars_step__relative_step_size(student, device, rng):
    # m = 0, wd = 0: one step changes every layer by lr * trust * |w| (up to eps), whatever |g| is.
    shapes = [(6, 4), (6,), (3, 6)]
    params = [_randn(rng, *s).to(device) for s in shapes]
    grads = [[_randn(rng, *s).to(device) * 10.0 ** (3 * i - 3) for i, s in enumerate(shapes)]]
    lr, trust = 0.7, 0.05
    (after,) = _lars_history(student, params, grads, lr=lr, momentum=0.0, weight_decay=0.0, trust_coefficient=trust)
    for i, (w, w_new) in enumerate(zip(params, after)):
        rel = float(torch.linalg.vector_norm(w_new - w) / torch.linalg.vector_norm(w))
        assert math.isclose(rel, lr * trust, rel_tol=1e-5), (
            _("momentum=0, weight_decay=0 时第 {i} 个参数的相对改变量 ||Δw||/||w|| = {rel:.6g}, 应当约等于 lr * trust_coefficient = {lr_trust:.6g}: 检查局部学习率的分子是不是 ||w||、范数是不是整个张量的 l2 范数").format(
                    i=i, rel=rel, lr_trust=lr * trust))


def check_lars_step__gradient_scale_invariance(student, device, rng):
    shapes = [(5, 5), (5,)]
    params = [_randn(rng, *s).to(device) for s in shapes]
    grads = [[_randn(rng, *s).to(device) for s in shapes] for _ in range(3)]
    hyper = dict(lr=1.0, momentum=0.0, weight_decay=0.0, trust_coefficient=0.01)
    base = _lars_history(student, params, grads, **hyper)
    scaled = _lars_history(student, params, [[100.0 * g for g in step] for step in grads], **hyper)
    assert all(not torch.equal(w, p) for w, p in zip(base[-1], params)), _("LARS 的 step() 没有更新参数")
    for t, (a, b) in enumerate(zip(base, scaled)):
        for x, y in zip(a, b):
            err = float(torch.linalg.vector_norm(y - x) / torch.linalg.vector_norm(x))
            assert err < 1e-6, (_("momentum=0, weight_decay=0 时把梯度乘以 100, 第 {t} 步的参数变了 (相对差 {err:.1e}); LARS 的更新应当与梯度的尺度无关").format(
                    t=t + 1, err=err))


def check_lars_step__zero_norm_is_safe(student, device, rng):
    params = [torch.zeros(4, 3, dtype=torch.float64).to(device), _randn(rng, 6).to(device)]
    grads = [[_randn(rng, 4, 3).to(device), torch.zeros(6, dtype=torch.float64).to(device)],
             [torch.zeros(4, 3, dtype=torch.float64).to(device), _randn(rng, 6).to(device)]]
    history = _lars_history(student, params, grads, lr=0.1, momentum=0.9, weight_decay=0.0, trust_coefficient=0.01)
    assert not torch.equal(history[0][0], params[0]), \
        _("从零出发的参数 (||w|| = 0) 第一步没有移动: 按约定此时局部学习率取 1, 更新应为 lr * g")


def _clip(student, grads, max_norm):
    out = student.call("clip_by_global_norm", [g.clone() for g in grads], max_norm)
    assert isinstance(out, (tuple, list)) and len(out) == 2, _("clip_by_global_norm 应当返回二元组 (clipped, total_norm)")
    clipped, total = out
    assert isinstance(clipped, (list, tuple)) and len(clipped) == len(grads), \
        _("clipped 应当是与 grads 等长的张量列表 (长度 {grads})").format(grads=len(grads))
    for i, (c, g) in enumerate(zip(clipped, grads)):
        assert isinstance(c, torch.Tensor), _("clipped[{i}] 应当是张量").format(i=i)
        assert c.shape == g.shape and c.dtype == g.dtype, \
            _("clipped[{i}] 的形状/数据类型是 {c_shape}/{c_dtype}, 应当与输入相同: {g_shape}/{g_dtype}").format(
                    i=i, c_shape=tuple(c.shape), c_dtype=c.dtype, g_shape=tuple(g.shape), g_dtype=g.dtype)
        assert c.device.type == g.device.type, _("clipped[{i}] 在 {c_device} 上, 应当与输入同在 {g_device} 上").format(
                i=i, c_device=c.device, g_device=g.device)
    assert isinstance(total, torch.Tensor) and total.dim() == 0, _("total_norm 应当是 0 维张量")
    assert total.device.type == grads[0].device.type, _("total_norm 在 {total_device} 上, 应当与梯度同在 {grads_device} 上").format(
            total_device=total.device, grads_device=grads[0].device)
    return clipped, total


def _torch_clip(grads, max_norm):
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params], total


def check_clip_global_norm__matches_torch(student, device, rng):
    grads = [_randn(rng, 3, 4, dtype=torch.float32).to(device), _randn(rng, 7, dtype=torch.float32).to(device)]
    for max_norm in (0.5, 2.0, 50.0):
        clipped, total = _clip(student, grads, max_norm)
        ref, ref_total = _torch_clip(grads, max_norm)
        torch.testing.assert_close(total, ref_total, msg=lambda m: _("max_norm={max_norm}: total_norm 与 clip_grad_norm_ 不一致\n{details}").format(
                max_norm=max_norm, details=m))
        for i, (c, r) in enumerate(zip(clipped, ref)):
            torch.testing.assert_close(c, r, msg=lambda m: _("max_norm={max_norm}: clipped[{i}] 与 clip_grad_norm_ 的结果不一致\n{details}").format(
                    max_norm=max_norm, i=i, details=m))


def check_clip_global_norm__below_threshold_unchanged(student, device, rng):
    grads = [_randn(rng, 5, dtype=torch.float32).to(device), _randn(rng, 2, 2, dtype=torch.float32).to(device)]
    norm = float(torch.sqrt(sum((g ** 2).sum() for g in grads)))
    clipped, _unused = _clip(student, grads, 3.0 * norm)
    for i, (c, g) in enumerate(zip(clipped, grads)):
        torch.testing.assert_close(c, g, msg=lambda m: _("全局范数低于阈值时梯度应当原样返回 (系数是 min(1, ·)), clipped[{i}] 变了\n{details}").format(
                i=i, details=m))


def _deep(student, optimizer, steps, seed, device):
    losses = student.call("train_deep_mlp", optimizer, steps, seed, device=device)
    assert isinstance(losses, (list, tuple)) and len(losses) == steps, \
        _("train_deep_mlp 应当返回长度为 steps={steps} 的列表").format(steps=steps)
    assert all(isinstance(v, (float, int)) for v in losses), _("损失应当是 Python 浮点数 (用 loss.item())")
    return [float(v) for v in losses]


def check_deep_mlp__sgd_diverges(student, device, rng):
    # Three seeds, each must diverge: the recipe's init diverged on 3000 of 3000 seeds, but a sound init
    # (He's) still blows up on about 3 % of them, so one seed would pass it now and then.
    for seed in torch.randint(0, 10**6, (3,), generator=rng).tolist():
        losses = _deep(student, "sgd", 6, seed, device)
        assert math.isfinite(losses[0]), _("第一个损失 (训练前) 就不是有限数: 检查数据和初始化")
        diverged = any(not math.isfinite(v) for v in losses) or max(losses) > 1e3 * losses[0]
        assert diverged, _("按约定的差初始化, 普通 SGD (lr=0.01) 应当在几步内发散 (nan/inf 或增长好几个数量级)")


def check_deep_mlp__lars_recovers(student, device, rng):
    seed = int(torch.randint(0, 10**6, (1,), generator=rng))
    losses = _deep(student, "lars", 40, seed, device)
    assert all(math.isfinite(v) for v in losses), _("LARS 训练中出现了 nan/inf")
    assert min(losses[-5:]) < 0.1 * losses[0], \
        _("LARS 训练 40 步后损失应当降到初始损失的 10% 以下, 实际从 {first:.3g} 到 {last:.3g}").format(
                first=losses[0], last=min(losses[-5:]))
