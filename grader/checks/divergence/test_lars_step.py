"""Hidden checks of part `lars_step`: the student's LARS optimizer against a plain-loop reference."""
from __future__ import annotations

import torch

from grader.i18n import _
from grader.checks.divergence._util import assert_close_normwise, randn, random_shapes, uniform
from grader.checks.divergence.reference import lars_reference, lars_reference_with_buffers


def _with_norm(t, norm):
    return t / t.norm().clamp_min(1e-12) * norm


def _case(rng, device, steps, dtype=torch.float64, zero_param=False):
    shapes = random_shapes(rng)
    # gradients and weights of very different scales per layer, as in a deep network
    # (norms kept >= 0.1 so that eps = 1e-8 stays far below the tolerances)
    scales = [10.0 ** uniform(rng, -1, 2) for _ in shapes]
    params = [randn(rng, s, dtype) for s in shapes]
    params = [_with_norm(p, 10.0 ** uniform(rng, -0.5, 1)) for p in params]
    if zero_param:
        params[0] = torch.zeros(shapes[0], dtype=dtype)
    grads = [[_with_norm(randn(rng, s, dtype), c * uniform(rng, 0.5, 2.0)) for s, c in zip(shapes, scales)]
             for _ in range(steps)]
    return [p.to(device) for p in params], [[g.to(device) for g in step] for step in grads]


def _run_and_compare(student, device, params, grads, hyper, rtol=1e-7, what=""):
    got = student.optimizer_steps("LARS", params, grads, **hyper)
    ref = lars_reference([p.cpu() for p in params], [[g.cpu() for g in s] for s in grads], **hyper)
    assert len(got) == len(ref), _("应当得到 {ref} 步的参数, 实际 {got} 步").format(ref=len(ref), got=len(got))
    for t, (step_got, step_ref) in enumerate(zip(got, ref)):
        for i, (x, r) in enumerate(zip(step_got, step_ref)):
            assert x.device.type == device.type, _("第 {i} 个参数离开了设备 {device}: 现在在 {x_device} 上").format(
                    i=i, device=device, x_device=x.device)
            assert x.dtype == r.dtype and x.shape == r.shape, _("第 {i} 个参数的数据类型/形状变成了 {x_dtype}/{x_shape}").format(
                    i=i, x_dtype=x.dtype, x_shape=tuple(x.shape))
            assert torch.isfinite(x).all(), _("{what}: 第 {t} 步, 第 {i} 个参数出现了 nan/inf").format(what=what, t=t + 1, i=i)
            assert_close_normwise(x, r, rtol, f"{what}: step {t + 1}, parameter {i} differs from LARS")


def test_matches_reference(student, device, rng):
    params, grads = _case(rng, device, steps=4)
    hyper = dict(lr=uniform(rng, 0.3, 2.0), momentum=uniform(rng, 0.5, 0.95),
                 weight_decay=10 ** uniform(rng, -3, -1), trust_coefficient=uniform(rng, 0.01, 0.1))
    _run_and_compare(student, device, params, grads, hyper, what=_("lr/momentum/weight_decay 都设置了"))


def test_momentum_buffer(student, device, rng):
    params, grads = _case(rng, device, steps=5)
    hyper = dict(lr=uniform(rng, 0.3, 2.0), momentum=uniform(rng, 0.8, 0.95), weight_decay=0.0,
                 trust_coefficient=uniform(rng, 0.01, 0.1))
    _run_and_compare(student, device, params, grads, hyper, what=_("有动量, 没有权重衰减"))


def test_weight_decay(student, device, rng):
    params, grads = _case(rng, device, steps=2)
    hyper = dict(lr=uniform(rng, 0.3, 2.0), momentum=0.0, weight_decay=uniform(rng, 0.05, 0.5),
                 trust_coefficient=uniform(rng, 0.01, 0.1))
    _run_and_compare(student, device, params, grads, hyper, what=_("有权重衰减, 没有动量"))


def test_no_momentum_no_decay(student, device, rng):
    params, grads = _case(rng, device, steps=2)
    hyper = dict(lr=uniform(rng, 0.3, 2.0), momentum=0.0, weight_decay=0.0, trust_coefficient=uniform(rng, 0.01, 0.1))
    _run_and_compare(student, device, params, grads, hyper, what=_("只有信任比 (动量为 0, 权重衰减为 0)"))


def test_gradient_scale_invariance(student, device, rng):
    params, grads = _case(rng, device, steps=3)
    hyper = dict(lr=uniform(rng, 0.3, 2.0), momentum=0.0, weight_decay=0.0, trust_coefficient=uniform(rng, 0.01, 0.1))
    c = 10 ** uniform(rng, 1, 4)
    base = student.optimizer_steps("LARS", params, grads, **hyper)
    scaled = student.optimizer_steps("LARS", params, [[c * g for g in s] for s in grads], **hyper)
    # an optimizer that changes nothing is invariant too: the steps themselves must be LARS's
    ref = lars_reference([p.cpu() for p in params], [[g.cpu() for g in s] for s in grads], **hyper)
    for i, (x, r) in enumerate(zip(base[-1], ref[-1])):
        assert_close_normwise(x, r, 1e-7, f"parameter {i} after {len(grads)} steps differs from LARS")
    for t, (a, b) in enumerate(zip(base, scaled)):
        for i, (x, y) in enumerate(zip(a, b)):
            assert y.device.type == device.type, _("第 {i} 个参数离开了设备 {device}: 现在在 {y_device} 上").format(
                    i=i, device=device, y_device=y.device)
            assert_close_normwise(y, x, 1e-7, f"scaling the gradients by a positive factor changed parameter {i} "
                                              f"at step {t + 1} (momentum 0, wd 0)")


def test_zero_norm_params(student, device, rng):
    params, grads = _case(rng, device, steps=3, zero_param=True)
    # a parameter whose gradient vanishes at step 1, and the zero parameter's gradient vanishes at step 3
    grads[0][1] = torch.zeros_like(grads[0][1])
    grads[2][0] = torch.zeros_like(grads[2][0])
    wd = 0.0 if float(torch.rand((), generator=rng)) < 0.5 else uniform(rng, 1e-3, 1e-1)
    hyper = dict(lr=uniform(rng, 0.1, 1.0), momentum=uniform(rng, 0.5, 0.95), weight_decay=wd,
                 trust_coefficient=uniform(rng, 0.01, 0.1))
    _run_and_compare(student, device, params, grads, hyper, what=_("参数或梯度的范数为零 (局部学习率 = 1)"))


def test_all_zero_is_finite(student, device, rng):
    shapes = random_shapes(rng)
    params = [torch.zeros(s, dtype=torch.float64).to(device) for s in shapes]
    grads = [[torch.zeros(s, dtype=torch.float64).to(device) for s in shapes] for _ in range(2)]
    # and one ordinary parameter beside them, which must move as LARS moves it (a no-op keeps zeros zero too)
    params.append(randn(rng, (3, 2)).to(device))
    for step in grads:
        step.append(randn(rng, (3, 2)).to(device))
    hyper = dict(lr=1.0, momentum=0.9, weight_decay=0.0, trust_coefficient=0.01)
    got = student.optimizer_steps("LARS", params, grads, **hyper)
    for step in got:
        for x in step[:-1]:
            assert torch.isfinite(x).all() and not x.any(), _("参数和梯度都为零时参数必须恰好保持为零 (不能出现 nan)")
    ref = lars_reference([p.cpu() for p in params], [[g.cpu() for g in s] for s in grads], **hyper)
    assert_close_normwise(got[-1][-1], ref[-1][-1], 1e-7, "the ordinary parameter beside the zero ones differs from LARS")


def test_momentum_buffer_in_state(student, device, rng):
    """The statement: one momentum buffer per parameter in self.state[p], with the parameter's shape, dtype and
    device, holding v after the last step.  Asked from the student's side (optimizer_steps(return_state=True))."""
    dtype = torch.float64  # always: a float32 buffer shows only beside float64 parameters
    params, grads = _case(rng, device, steps=3, dtype=dtype)
    hyper = dict(lr=uniform(rng, 0.3, 2.0), momentum=uniform(rng, 0.5, 0.95), weight_decay=10 ** uniform(rng, -3, -1),
                 trust_coefficient=uniform(rng, 0.01, 0.1))
    _unused, states = student.optimizer_steps("LARS", params, grads, return_state=True, **hyper)
    _unused, bufs = lars_reference_with_buffers([p.cpu() for p in params], [[g.cpu() for g in s] for s in grads], **hyper)
    assert len(states) == len(params), _("{params} 个参数应当各有一个 state").format(params=len(params))
    for i, (state, p, ref) in enumerate(zip(states, params, bufs)):
        tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor) and tuple(v.shape) == tuple(p.shape)}
        assert tensors, _("第 {i} 个参数的 self.state 里没有与参数同形状的张量 (动量缓冲区)").format(i=i)
        for key, v in tensors.items():
            assert v.dtype == p.dtype, _("第 {i} 个参数的 state[{key!r}] 是 {v_dtype}, 而参数是 {p_dtype}").format(
                    key=key, i=i, v_dtype=v.dtype, p_dtype=p.dtype)
            assert v.device.type == device.type, _("第 {i} 个参数的 state[{key!r}] 在 {v_device} 上, 应当在 {device} 上").format(
                    key=key, i=i, v_device=v.device, device=device)
        rtol = 1e-7 if dtype == torch.float64 else 1e-5
        assert any(float(torch.linalg.vector_norm(v.cpu().double() - ref.double())) <= rtol * float(torch.linalg.vector_norm(ref))
                   for v in tensors.values()), _("第 {i} 个参数的 state 里没有一项是动量缓冲区 v").format(i=i)


def test_float32(student, device, rng):
    params, grads = _case(rng, device, steps=3, dtype=torch.float32)
    hyper = dict(lr=uniform(rng, 0.3, 2.0), momentum=uniform(rng, 0.5, 0.95),
                 weight_decay=10 ** uniform(rng, -3, -1), trust_coefficient=uniform(rng, 0.01, 0.1))
    _run_and_compare(student, device, params, grads, hyper, rtol=1e-5, what=_("float32 参数"))


# -- added for `make mutants`: rules of the statement that the checks above leave open ------------------------
def test_eps_is_read_from_the_group(student, device, rng):
    """eps is a hyperparameter of the denominator like the others: set to the scale of ||g||, a dropped or
    sign-flipped eps changes every step (eps = 1e-8 hides it beside gradients of norm >= 0.1)."""
    params, grads = _case(rng, device, steps=3)
    g_norm = min(float(torch.linalg.vector_norm(g)) for g in grads[0])
    hyper = dict(lr=uniform(rng, 0.3, 2.0), momentum=uniform(rng, 0.5, 0.95), weight_decay=10 ** uniform(rng, -3, -1),
                 trust_coefficient=uniform(rng, 0.01, 0.1), eps=g_norm * uniform(rng, 0.5, 2.0))
    _run_and_compare(student, device, params, grads, hyper, what=_("eps 与 ||g|| 同一数量级"))


def test_zero_gradient_with_weight_decay(student, device, rng):
    """||g|| = 0 with weight decay on: the local lr is 1 (the notebook's convention), so the step is lr * wd * w,
    not trust * wd * w / (wd * ||w|| + eps)."""
    params, grads = _case(rng, device, steps=2)
    for step in grads:
        step[0] = torch.zeros_like(step[0])
    hyper = dict(lr=uniform(rng, 0.1, 1.0), momentum=uniform(rng, 0.5, 0.95), weight_decay=uniform(rng, 0.01, 0.1),
                 trust_coefficient=uniform(rng, 0.01, 0.1))
    _run_and_compare(student, device, params, grads, hyper, what=_("梯度为零且有权重衰减 (局部学习率 = 1)"))


def test_float32_momentum_buffer_keeps_the_dtype(student, device, rng):
    """The buffer has the parameter's dtype for float32 parameters too (a float64 buffer beside float32
    parameters steps the same to float32 precision, so only the state shows it)."""
    params, grads = _case(rng, device, steps=2, dtype=torch.float32)
    hyper = dict(lr=uniform(rng, 0.3, 2.0), momentum=uniform(rng, 0.5, 0.95), weight_decay=0.0,
                 trust_coefficient=uniform(rng, 0.01, 0.1))
    _unused, states = student.optimizer_steps("LARS", params, grads, return_state=True, **hyper)
    assert len(states) == len(params), _("{params} 个参数应当各有一个 state").format(params=len(params))
    for i, (state, p) in enumerate(zip(states, params)):
        tensors = [v for v in state.values() if isinstance(v, torch.Tensor) and tuple(v.shape) == tuple(p.shape)]
        assert tensors, _("第 {i} 个参数的 self.state 里没有与参数同形状的张量 (动量缓冲区)").format(i=i)
        assert all(v.dtype == torch.float32 for v in tensors), \
            _("float32 的第 {i} 个参数的动量缓冲区是 {v_dtype_for_in_tensors}").format(
                    i=i, v_dtype_for_in_tensors=[str(v.dtype) for v in tensors])


def _hyper(rng, momentum=(0.5, 0.95)):
    """Hyperparameters other than the defaults and the notebook's examples, eps included."""
    return dict(lr=uniform(rng, 0.3, 2.0), momentum=uniform(rng, *momentum), weight_decay=10 ** uniform(rng, -3, -1),
                trust_coefficient=uniform(rng, 0.01, 0.1), eps=10 ** uniform(rng, -2, 0))


def test_param_groups(student, device, rng):
    """The statement: hyperparameters are read from `group`, so that each parameter group has its own.  Two or
    three groups, each with its own lr, momentum, weight decay, trust coefficient and eps, over 5 steps; the
    constructor's defaults differ from every group's."""
    dtype = torch.float64 if float(torch.rand((), generator=rng)) < 0.5 else torch.float32
    params, grads = _case(rng, device, steps=5, dtype=dtype)
    while len(params) < 3:  # at least one parameter per group
        more, more_grads = _case(rng, device, steps=5, dtype=dtype)
        params, grads = params + more, [a + b for a, b in zip(grads, more_grads)]
    k = min(len(params), 2 + int(torch.randint(0, 2, (1,), generator=rng)))
    cuts = sorted(torch.randperm(len(params) - 1, generator=rng)[:k - 1].add(1).tolist())
    bounds = [0, *cuts, len(params)]
    groups = [dict(count=b - a, **_hyper(rng)) for a, b in zip(bounds[:-1], bounds[1:])]
    defaults = _hyper(rng)
    got = student.optimizer_steps("LARS", params, grads, groups=groups, **defaults)
    assert len(got) == len(grads), _("应当得到 {grads} 步的参数, 实际 {got} 步").format(grads=len(grads), got=len(got))
    rtol = 1e-7 if dtype == torch.float64 else 1e-5
    for g, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        hyper = {key: v for key, v in groups[g].items() if key != "count"}
        ref = lars_reference([p.cpu() for p in params[a:b]], [[x.cpu() for x in s[a:b]] for s in grads], **hyper)
        for t in range(len(grads)):
            for i in range(a, b):
                assert got[t][i].dtype == dtype, _("第 {i} 个参数的数据类型变成了 {got_t_i_dtype}").format(
                        i=i, got_t_i_dtype=got[t][i].dtype)
                assert_close_normwise(got[t][i], ref[t][i - a], rtol,
                                      f"{len(groups)} parameter groups: step {t + 1}, parameter {i} (group {g}) differs "
                                      f"from LARS with that group's hyperparameters")


def test_eps_is_read(student, device, rng):
    """eps is a hyperparameter like the others: large enough here (1e-2 to 1) to change the local lr visibly."""
    params, grads = _case(rng, device, steps=3)
    hyper = _hyper(rng)
    _run_and_compare(student, device, params, grads, hyper, what="eps = {hyper_eps:.3g}".format(hyper_eps=hyper['eps']))


def test_params_without_grad_are_skipped(student, device, rng):
    """The statement: a parameter whose p.grad is None is skipped (it stays as it was, and gets no buffer
    that would move it later); the others move as LARS moves them."""
    params, grads = _case(rng, device, steps=3)
    frozen = int(torch.randint(0, len(params), (1,), generator=rng))
    grads = [[None if i == frozen else g for i, g in enumerate(step)] for step in grads]
    hyper = _hyper(rng)
    got = student.optimizer_steps("LARS", params, grads, **hyper)
    others = [i for i in range(len(params)) if i != frozen]
    ref = lars_reference([params[i].cpu() for i in others], [[s[i].cpu() for i in others] for s in grads], **hyper)
    for t, step in enumerate(got):
        assert torch.equal(step[frozen].cpu(), params[frozen].cpu()), _("第 {frozen} 个参数没有梯度, 却在第 {t} 步移动了").format(
                frozen=frozen, t=t + 1)
        for j, i in enumerate(others):
            assert_close_normwise(step[i], ref[t][j], 1e-7, f"step {t + 1}, parameter {i} beside a parameter without gradient")
