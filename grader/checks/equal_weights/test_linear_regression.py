"""Hidden checks of part `linear_regression`: fit_linear(X, y, w0, b0, lr, steps) -> (w, b)."""
import torch

from grader.checks.equal_weights._util import as_tensor, pair, randint, scalar, uniform
from grader.checks.equal_weights.reference import linear_gd, lstsq_solution, regression_data

LR, STEPS = 0.5, 300


def _problem(rng):
    n, d = randint(rng, 80, 200), randint(rng, 2, 6)
    X, y = regression_data(rng, n, d)
    return X, y, d


def _fit(student, device, X, y, w0, b0, lr, steps):
    w, b = pair(student.call("fit_linear", X.to(device), y.to(device), w0.to(device), b0.to(device), lr, steps),
                "fit_linear")
    d = X.shape[1]
    as_tensor(w, "w", (d,), device, dtype=X.dtype)
    b = scalar(b, "b", device)
    return w.cpu().double(), b.cpu().double()


def _constant_start(rng, d):
    c = uniform(rng, -1.0, 1.0)
    return torch.full((d,), c), torch.tensor(c)


def _random_start(rng, d):
    return torch.randn(d, generator=rng), torch.randn((), generator=rng)


def test_shapes_dtype_device(student, device, rng):
    X, y, d = _problem(rng)
    _fit(student, device, X, y, *_constant_start(rng, d), 0.1, 2)


def test_few_steps_follow_gradient_descent(student, device, rng):
    """Three steps on L = 1/(2n) ||X w + b - y||^2 from a random start, as the notebook defines them."""
    X, y, d = _problem(rng)
    w0, b0 = _random_start(rng, d)
    lr = uniform(rng, 0.05, 0.3)
    w, b = _fit(student, device, X, y, w0, b0, lr, 3)
    ew, eb = linear_gd(X, y, w0, b0, lr, 3)
    torch.testing.assert_close(w, ew, atol=1e-5, rtol=1e-4, msg="w after 3 gradient steps differs from full-batch GD")
    torch.testing.assert_close(b, eb, atol=1e-5, rtol=1e-4, msg="b after 3 gradient steps differs from full-batch GD")


def test_constant_start_reaches_least_squares(student, device, rng):
    X, y, d = _problem(rng)
    w, b = _fit(student, device, X, y, *_constant_start(rng, d), LR, STEPS)
    ew, eb = lstsq_solution(X, y)
    torch.testing.assert_close(w, ew, atol=2e-3, rtol=0, msg="w from a constant start is not the least-squares w")
    torch.testing.assert_close(b, eb, atol=2e-3, rtol=0, msg="b from a constant start is not the least-squares b")


def test_zero_start_reaches_least_squares(student, device, rng):
    X, y, d = _problem(rng)
    w, b = _fit(student, device, X, y, torch.zeros(d), torch.tensor(0.0), LR, STEPS)
    ew, eb = lstsq_solution(X, y)
    torch.testing.assert_close(torch.cat([w, b[None]]), torch.cat([ew, eb[None]]), atol=2e-3, rtol=0,
                               msg="(w, b) from an all-zero start is not the least-squares solution")


def test_random_start_reaches_least_squares(student, device, rng):
    X, y, d = _problem(rng)
    w, b = _fit(student, device, X, y, *_random_start(rng, d), LR, STEPS)
    ew, eb = lstsq_solution(X, y)
    torch.testing.assert_close(torch.cat([w, b[None]]), torch.cat([ew, eb[None]]), atol=2e-3, rtol=0,
                               msg="(w, b) from a random start is not the least-squares solution")


def test_constant_and_random_starts_agree(student, device, rng):
    X, y, d = _problem(rng)
    w1, b1 = _fit(student, device, X, y, *_constant_start(rng, d), LR, STEPS)
    w2, b2 = _fit(student, device, X, y, *_random_start(rng, d), LR, STEPS)
    torch.testing.assert_close(torch.cat([w1, b1[None]]), torch.cat([w2, b2[None]]), atol=1e-3, rtol=0,
                               msg="constant and random starts end at different solutions")


def test_inputs_not_modified(student, device, rng):
    """The statement: do not modify w0, b0 (nor X, y).  Compared on the checker's side, before and after."""
    X, y, d = _problem(rng)
    w0, b0 = _random_start(rng, d)
    inputs = [X.to(device), y.to(device), w0.to(device), b0.to(device)]
    out, after = student.call_returning_inputs("fit_linear", *inputs, 0.3, 5)
    w, b = pair(out, "fit_linear")
    as_tensor(w, "w", (d,), device, dtype=X.dtype)
    for name, before, now in zip(("X", "y", "w0", "b0"), inputs, after):
        assert torch.equal(now.cpu(), before.cpu()), f"fit_linear modified its input {name} in place"
