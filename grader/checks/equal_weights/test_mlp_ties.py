"""Hidden checks of part `mlp_ties`: train_constant_mlp(X, y, hidden, value, lr, steps) -> W1 (hidden, d)."""
import torch

from grader.i18n import _
from grader.checks.equal_weights._util import as_tensor, randint, uniform
from grader.checks.equal_weights.reference import mlp_constant_train


def _problem(rng, dtype=torch.float32):
    n, d, hidden = randint(rng, 32, 96), randint(rng, 2, 5), randint(rng, 3, 8)
    X = torch.randn(n, d, generator=rng)
    y = torch.sin(X @ torch.randn(d, generator=rng)) + 0.1 * torch.randn(n, generator=rng)
    value = uniform(rng, 0.1, 0.4) * (1 if float(torch.rand((), generator=rng)) < 0.7 else -1)
    return X.to(dtype), y.to(dtype), hidden, value


def _train(student, device, X, y, hidden, value, lr, steps):
    W1 = student.call("train_constant_mlp", X.to(device), y.to(device), hidden, value, lr, steps)
    as_tensor(W1, "W1", (hidden, X.shape[1]), device, dtype=X.dtype)
    return W1.cpu()


def _tied(W1):
    return float((W1 - W1[0]).abs().max()) <= 1e-5 * (1 + float(W1.abs().max()))


def test_shapes_dtype_device(student, device, rng):
    for dtype in (torch.float32, torch.float64):  # the parameters are created in the input's dtype
        X, y, hidden, value = _problem(rng, dtype)
        _train(student, device, X, y, hidden, value, 0.05, 2)


def test_matches_gradient_descent(student, device, rng):
    for dtype in (torch.float32, torch.float64):
        X, y, hidden, value = _problem(rng, dtype)
        lr, steps = uniform(rng, 0.01, 0.05), randint(rng, 5, 15)
        W1 = _train(student, device, X, y, hidden, value, lr, steps)
        expected = mlp_constant_train(X, y, hidden, value, lr, steps)
        tol = dict(atol=1e-9, rtol=1e-7) if dtype == torch.float64 else dict(atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(W1, expected, **tol,
                                   msg=_("W1 与从所有参数 = value 出发、在 mean((out - y)^2) 上做全批量梯度下降的结果不一致 ({dtype})").format(
                                           dtype=dtype))


def test_hidden_units_stay_tied(student, device, rng):
    X, y, hidden, value = _problem(rng)
    W1 = _train(student, device, X, y, hidden, value, 0.05, 30)
    assert _tied(W1), _("从相同参数出发训练的隐藏单元 (W1 的各行) 不再相同")


def test_weights_moved(student, device, rng):
    X, y, hidden, value = _problem(rng)
    W1 = _train(student, device, X, y, hidden, value, 0.05, 30)
    assert float((W1 - value).abs().max()) > 1e-3, _("W1 仍然等于初始常数: 什么都没有训练")
    assert _tied(W1), _("从相同参数出发训练的隐藏单元 (W1 的各行) 不再相同")


# -- added for `make mutants`: rules of the statement that the checks above leave open ------------------------
def test_float64_inputs(student, device, rng):
    """The statement's inputs are also float64: every parameter is created in X's dtype, so W1 comes back in
    float64 and follows float64 gradient descent (a float32 parameter beside float64 data fails or drifts)."""
    X, y, hidden, value = _problem(rng)
    X, y = X.double(), y.double()
    lr, steps = uniform(rng, 0.01, 0.05), randint(rng, 5, 15)
    W1 = _train(student, device, X, y, hidden, value, lr, steps)
    expected = mlp_constant_train(X, y, hidden, value, lr, steps)
    torch.testing.assert_close(W1, expected.to(W1.dtype), atol=1e-9, rtol=1e-7,
                               msg=_("float64 的 W1 与 float64 下的全批量梯度下降不一致"))
