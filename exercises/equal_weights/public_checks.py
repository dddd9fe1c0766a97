"""Public self-checks of `equal_weights` (ships to students as public_checks.py; needs only torch).

Each check asks the notebook's functions for results on random inputs and tests properties that any
correct answer has (shapes, devices, optimality conditions, agreement with autograd), without revealing
a reference value.
"""
import torch

# the self-check beside this file: its `_` gives a message in the exercise's language (in the grader, the
# submission's)
from selfcheck import _
import torch.nn.functional as F


def _as_tensor(value, name, shape, device):
    assert isinstance(value, torch.Tensor), _("{name} 应该是 torch.Tensor, 实际是 {value_type}").format(
            name=name, value_type=type(value).__name__)
    assert tuple(value.shape) == tuple(shape), _("{name} 的形状应为 {shape}, 实际为 {value_shape}").format(
            name=name, shape=tuple(shape), value_shape=tuple(value.shape))
    assert value.device.type == torch.device(device).type, (
        _("{name} 应该在输入所在的设备 {device} 上, 实际在 {value_device} (创建张量时请使用 device=X.device)").format(
                name=name, device=device, value_device=value.device))
    assert torch.isfinite(value).all(), _("{name} 含有 nan 或 inf").format(name=name)
    return value


def _pair(result, name):
    assert isinstance(result, (tuple, list)) and len(result) == 2, _("`{name}` 应返回二元组 (权重, 偏置)").format(name=name)
    return result


def _regression(rng, n=120, d=3):
    X = torch.randn(n, d, generator=rng)
    X = (X - X.mean(0)) / X.std(0)
    y = X @ torch.randn(d, generator=rng) + 1.5 + 0.1 * torch.randn(n, generator=rng)
    return X, y


def _classification(rng, n=90, d=4, k=3):
    X = torch.randn(n, d, generator=rng)
    y = torch.multinomial(torch.tensor([0.2, 0.3, 0.5]), n, replacement=True, generator=rng)
    return X + 0.5 * torch.randn(k, d, generator=rng)[y], y


# -- linear_regression ---------------------------------------------------------------------------
def check_linear_regression__shapes_and_device(student, device, rng):
    X, y = _regression(rng)
    w0, b0 = torch.full((3,), 0.5), torch.tensor(0.5)
    w, b = _pair(student.call("fit_linear", X.to(device), y.to(device), w0.to(device), b0.to(device), 0.1, 3),
                 "fit_linear")
    _as_tensor(w, _("fit_linear 返回的 w"), (3,), device)
    assert isinstance(b, torch.Tensor) and b.numel() == 1, _("fit_linear 返回的 b 应该是只含一个元素的张量 (形状 ())")
    _as_tensor(b.reshape(()), _("fit_linear 返回的 b"), (), device)


def check_linear_regression__constant_start_reaches_optimum(student, device, rng):
    X, y = _regression(rng)
    w0, b0 = torch.full((3,), 0.7), torch.tensor(0.7)
    w, b = _pair(student.call("fit_linear", X.to(device), y.to(device), w0.to(device), b0.to(device), 0.5, 300),
                 "fit_linear")
    w, b = w.cpu().double(), b.cpu().double().reshape(())
    r = X.double() @ w + b - y.double()
    # Optimality (normal equations): the residual is orthogonal to every column and to the bias column.
    assert (X.double().T @ r / len(X)).abs().max() < 1e-3 and r.mean().abs() < 1e-3, (
        _("从常数初始值出发训练 300 步后, 梯度 (X^T r / n, mean(r)) 仍不接近 0: 没有收敛到最小二乘解"))


def check_linear_regression__constant_and_random_starts_agree(student, device, rng):
    X, y = _regression(rng)
    starts = [(torch.full((3,), -0.3), torch.tensor(-0.3)), (torch.randn(3, generator=rng), torch.randn((), generator=rng))]
    results = []
    for w0, b0 in starts:
        w, b = _pair(student.call("fit_linear", X.to(device), y.to(device), w0.to(device), b0.to(device), 0.5, 300),
                     "fit_linear")
        results.append(torch.cat([w.cpu().double().reshape(-1), b.cpu().double().reshape(1)]))
    assert torch.allclose(results[0], results[1], atol=1e-3), _("从常数初始值和随机初始值出发, 训练结果应当一致 (凸问题只有一个最优解)")


# -- softmax_gradient ----------------------------------------------------------------------------
def _autograd(X, y, W, b):
    W, b = W.clone().requires_grad_(True), b.clone().requires_grad_(True)
    return torch.autograd.grad(F.cross_entropy(X @ W.T + b, y), (W, b))


def check_softmax_gradient__matches_autograd(student, device, rng):
    X, y = _classification(rng)
    W, b = torch.randn(3, 4, generator=rng), torch.randn(3, generator=rng)
    gW, gb = _pair(student.call("softmax_regression_grad", X.to(device), y.to(device), W.to(device), b.to(device)),
                   "softmax_regression_grad")
    _as_tensor(gW, _("W 的梯度"), (3, 4), device)
    _as_tensor(gb, _("b 的梯度"), (3,), device)
    eW, eb = _autograd(X, y, W, b)
    torch.testing.assert_close(gW.cpu(), eW, atol=1e-5, rtol=1e-4, msg=_("W 的梯度与自动求导的结果不一致"))
    torch.testing.assert_close(gb.cpu(), eb, atol=1e-5, rtol=1e-4, msg=_("b 的梯度与自动求导的结果不一致"))


def check_softmax_gradient__labels_break_symmetry(student, device, rng):
    X, y = _classification(rng)
    W, b = torch.full((3, 4), 0.25), torch.full((3,), 0.25)
    gW, gb = _pair(student.call("softmax_regression_grad", X.to(device), y.to(device), W.to(device), b.to(device)),
                   "softmax_regression_grad")
    _as_tensor(gW, _("W 的梯度"), (3, 4), device)
    eW, _unused = _autograd(X, y, W, b)
    torch.testing.assert_close(gW.cpu(), eW, atol=1e-5, rtol=1e-4, msg=_("常数 W 处, W 的梯度与自动求导的结果不一致"))
    gaps = [float((gW[i] - gW[j]).abs().max()) for i in range(3) for j in range(i + 1, 3)]
    assert min(gaps) > 1e-3, _("各类别比例不同时, 常数 W 处梯度的各行 (每个类别一行) 应当互不相同")


# -- softmax_training ----------------------------------------------------------------------------
def check_softmax_training__constant_and_random_starts_reach_same_loss(student, device, rng):
    X, y = _classification(rng)
    starts = [(torch.full((3, 4), 0.1), torch.full((3,), 0.1)),
              (torch.randn(3, 4, generator=rng), torch.randn(3, generator=rng))]
    losses = []
    for W0, b0 in starts:
        W, b = _pair(student.call("train_softmax", X.to(device), y.to(device), W0.to(device), b0.to(device), 1.0, 150),
                     "train_softmax")
        _as_tensor(W, _("train_softmax 返回的 W"), (3, 4), device)
        _as_tensor(b, _("train_softmax 返回的 b"), (3,), device)
        losses.append(float(F.cross_entropy(X @ W.cpu().float().T + b.cpu().float(), y)))
        start_loss = float(F.cross_entropy(X @ W0.T + b0, y))
        assert losses[-1] < start_loss, _("训练后的交叉熵损失没有比初始值更小")
    assert abs(losses[0] - losses[1]) < 1e-3, (
        _("从常数初始值与随机初始值出发, 最终损失应几乎相同 (凸问题), 实际为 {losses:.5f} 与 {losses2:.5f}").format(
                losses=losses[0], losses2=losses[1]))


# -- distinct_units ------------------------------------------------------------------------------
def check_distinct_units__simple_cases(student):
    row = torch.randn(5)
    same = row.repeat(4, 1)
    assert student.call("count_distinct_units", same, 1e-6) == 1, _("4 行完全相同的矩阵, 应数出 1 个不同的单元")
    different = torch.eye(4)
    assert student.call("count_distinct_units", different, 1e-6) == 4, _("单位矩阵的 4 行互不相同, 应数出 4 个")
    nearly = same + 1e-8 * torch.arange(4.0).unsqueeze(1)
    assert student.call("count_distinct_units", nearly, 1e-6) == 1, _("相差小于 atol 的行应视为同一个单元")


# -- mlp_ties ------------------------------------------------------------------------------------
def check_mlp_ties__hidden_units_stay_tied(student, device, rng):
    X = torch.randn(64, 3, generator=rng)
    y = torch.sin(X.sum(1))
    W1 = student.call("train_constant_mlp", X.to(device), y.to(device), 6, 0.3, 0.05, 20)
    _as_tensor(W1, _("train_constant_mlp 返回的隐藏层权重"), (6, 3), device)
    W1 = W1.cpu()
    assert (W1 - 0.3).abs().max() > 1e-3, _("训练 20 步后隐藏层权重仍等于初始常数: 参数没有被更新")
    assert (W1 - W1[0]).abs().max() <= 1e-5 * (1 + W1.abs().max()), _("从相同常数出发, 各隐藏单元 (各行) 应保持完全相同")
