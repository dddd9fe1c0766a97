"""Hidden checks of part `linear_regression`: fit_linear(X, y, w0, b0, lr, steps) -> (w, b)."""
import torch

from grader.i18n import _
from grader.checks.equal_weights._util import as_tensor, pair, randint, scalar, uniform
from grader.checks.equal_weights.reference import linear_gd, lstsq_solution, regression_data

LR, STEPS = 0.5, 300


def _problem(rng, dtype=torch.float32, centred=True):
    n, d = randint(rng, 80, 200), randint(rng, 2, 6)
    offset = None if centred else torch.tensor([10 ** uniform(rng, -0.5, 1) * (1 if uniform(rng, 0, 1) < 0.5 else -1)
                                                for _ in range(d)])
    X, y = regression_data(rng, n, d, dtype=dtype, offset=offset)
    return X, y, d


def _dtype(rng):
    return torch.float64 if uniform(rng, 0, 1) < 0.5 else torch.float32


def _fit(student, device, X, y, w0, b0, lr, steps):
    w, b = pair(student.call("fit_linear", X.to(device), y.to(device), w0.to(device), b0.to(device), lr, steps),
                "fit_linear")
    d = X.shape[1]
    as_tensor(w, "w", (d,), device, dtype=X.dtype)
    b = scalar(b, "b", device, dtype=X.dtype)
    return w.cpu().double(), b.cpu().double()


def _constant_start(rng, d):
    c = uniform(rng, -1.0, 1.0)
    return torch.full((d,), c), torch.tensor(c)


def _random_start(rng, d):
    return torch.randn(d, generator=rng), torch.randn((), generator=rng)


def test_shapes_dtype_device(student, device, rng):
    """w and b keep the inputs' dtype, in both dtypes; steps=0 returns the start itself, so a b0 cast to one fixed
    dtype shows (after a step the update would promote it back)."""
    for dtype in (torch.float32, torch.float64):
        X, y, d = _problem(rng, dtype)
        w0, b0 = (t.to(dtype) for t in _random_start(rng, d))
        w, b = _fit(student, device, X, y, w0, b0, 0.1, 0)
        assert torch.equal(w, w0.double()) and torch.equal(b, b0.double()), _("steps=0 时必须返回 (w0, b0) ({dtype})").format(
                dtype=dtype)
        _fit(student, device, X, y, w0, b0, 0.1, 2)


def test_few_steps_follow_gradient_descent(student, device, rng):
    """A few steps on L = 1/(2n) ||X w + b - y||^2 from a random start, as the notebook defines them, on columns
    that are not centred (where updating b from the new w shows) and in float32 or float64."""
    dtype = _dtype(rng)
    X, y, d = _problem(rng, dtype, centred=False)
    w0, b0 = _random_start(rng, d)
    w0, b0 = w0.to(dtype), b0.to(dtype)
    steps = randint(rng, 3, 6)
    # below 1 / lambda_max(X^T X / n + the intercept): shifted columns make the Hessian's top eigenvalue large
    A = torch.cat([X.double(), torch.ones(len(X), 1, dtype=torch.float64)], 1)
    lr = uniform(rng, 0.2, 0.9) / float(torch.linalg.eigvalsh(A.T @ A / len(X))[-1])
    w, b = _fit(student, device, X, y, w0, b0, lr, steps)
    ew, eb = linear_gd(X, y, w0, b0, lr, steps)
    tol = dict(atol=1e-9, rtol=1e-7) if dtype == torch.float64 else dict(atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(w, ew, **tol, msg=_("{steps} 步梯度下降后的 w 与全批量梯度下降不一致 ({dtype})").format(
            steps=steps, dtype=dtype))
    torch.testing.assert_close(b, eb, **tol, msg=_("{steps} 步梯度下降后的 b 与全批量梯度下降不一致 ({dtype})").format(
            steps=steps, dtype=dtype))


def test_constant_start_reaches_least_squares(student, device, rng):
    X, y, d = _problem(rng)
    w, b = _fit(student, device, X, y, *_constant_start(rng, d), LR, STEPS)
    ew, eb = lstsq_solution(X, y)
    torch.testing.assert_close(w, ew, atol=2e-3, rtol=0, msg=_("从常数起点训练出的 w 不是最小二乘解的 w"))
    torch.testing.assert_close(b, eb, atol=2e-3, rtol=0, msg=_("从常数起点训练出的 b 不是最小二乘解的 b"))


def test_zero_start_reaches_least_squares(student, device, rng):
    X, y, d = _problem(rng)
    w, b = _fit(student, device, X, y, torch.zeros(d), torch.tensor(0.0), LR, STEPS)
    ew, eb = lstsq_solution(X, y)
    torch.testing.assert_close(torch.cat([w, b[None]]), torch.cat([ew, eb[None]]), atol=2e-3, rtol=0,
                               msg=_("从全零起点训练出的 (w, b) 不是最小二乘解"))


def test_random_start_reaches_least_squares(student, device, rng):
    X, y, d = _problem(rng)
    w, b = _fit(student, device, X, y, *_random_start(rng, d), LR, STEPS)
    ew, eb = lstsq_solution(X, y)
    torch.testing.assert_close(torch.cat([w, b[None]]), torch.cat([ew, eb[None]]), atol=2e-3, rtol=0,
                               msg=_("从随机起点训练出的 (w, b) 不是最小二乘解"))


def test_constant_and_random_starts_agree(student, device, rng):
    X, y, d = _problem(rng)
    w1, b1 = _fit(student, device, X, y, *_constant_start(rng, d), LR, STEPS)
    w2, b2 = _fit(student, device, X, y, *_random_start(rng, d), LR, STEPS)
    torch.testing.assert_close(torch.cat([w1, b1[None]]), torch.cat([w2, b2[None]]), atol=1e-3, rtol=0,
                               msg=_("常数起点和随机起点得到了不同的解"))


def test_inputs_not_modified(student, device, rng):
    """The statement: do not modify w0, b0 (nor X, y).  Compared on the checker's side, before and after."""
    X, y, d = _problem(rng)
    w0, b0 = _random_start(rng, d)
    inputs = [X.to(device), y.to(device), w0.to(device), b0.to(device)]
    out, after = student.call_returning_inputs("fit_linear", *inputs, 0.3, 5)
    w, b = pair(out, "fit_linear")
    as_tensor(w, "w", (d,), device, dtype=X.dtype)
    for name, before, now in zip(("X", "y", "w0", "b0"), inputs, after):
        assert torch.equal(now.cpu(), before.cpu()), _("fit_linear 原地修改了输入 {name}").format(name=name)
