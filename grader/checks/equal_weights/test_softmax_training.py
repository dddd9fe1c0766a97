"""Hidden checks of part `softmax_training`: train_softmax(X, y, W0, b0, lr, steps) -> (W, b)."""
import torch

from grader.i18n import _
from grader.checks.equal_weights._util import as_tensor, pair, randint, uniform
from grader.checks.equal_weights.reference import classification_data, softmax_gd, softmax_loss

LR, STEPS = 1.0, 150


def _problem(rng, dtype=torch.float32):
    k = randint(rng, 3, 4)
    n, d = randint(rng, 80, 150), randint(rng, 2, 4)
    X, y = classification_data(rng, n, d, k, dtype=dtype)
    return X, y, d, k


def _train(student, device, X, y, W0, b0, lr, steps):
    W, b = pair(student.call("train_softmax", X.to(device), y.to(device), W0.to(device), b0.to(device), lr, steps),
                "train_softmax")
    as_tensor(W, "W", tuple(W0.shape), device)
    as_tensor(b, "b", tuple(b0.shape), device)
    return W.cpu().to(X.dtype), b.cpu().to(X.dtype)


def _constant(rng, k, d):
    c = uniform(rng, -1.0, 1.0)
    return torch.full((k, d), c), torch.full((k,), c)


def test_few_steps_follow_gradient_descent(student, device, rng):
    for dtype in (torch.float32, torch.float64):  # the result keeps the inputs' dtype
        X, y, d, k = _problem(rng, dtype)
        W0, b0 = (t.to(dtype) for t in _constant(rng, k, d))
        lr = uniform(rng, 0.1, 0.5)
        W, b = pair(student.call("train_softmax", X.to(device), y.to(device), W0.to(device), b0.to(device), lr, 5),
                    "train_softmax")
        as_tensor(W, "W", tuple(W0.shape), device, dtype=dtype)
        as_tensor(b, "b", tuple(b0.shape), device, dtype=dtype)
        eW, eb = softmax_gd(X, y, W0, b0, lr, 5)
        tol = dict(atol=1e-9, rtol=1e-7) if dtype == torch.float64 else dict(atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(W.cpu(), eW, **tol, msg=_("从常数起点训练 5 步后的 W 与梯度下降不一致 ({dtype})").format(dtype=dtype))
        torch.testing.assert_close(b.cpu(), eb, **tol, msg=_("从常数起点训练 5 步后的 b 与梯度下降不一致 ({dtype})").format(dtype=dtype))


def test_constant_start_is_not_stuck(student, device, rng):
    """From a constant W the rows of W become different after training (the labels break the symmetry)."""
    X, y, d, k = _problem(rng)
    W, _unused = _train(student, device, X, y, *_constant(rng, k, d), LR, 50)
    gaps = [float((W[i] - W[j]).abs().max()) for i in range(k) for j in range(i + 1, k)]
    assert min(gaps) > 1e-2, _("从常数起点训练之后, W 的某些行仍然相等")


def test_constant_and_random_starts_reach_same_loss(student, device, rng):
    X, y, d, k = _problem(rng)
    W1, b1 = _train(student, device, X, y, *_constant(rng, k, d), LR, STEPS)
    W2, b2 = _train(student, device, X, y, torch.randn(k, d, generator=rng), torch.randn(k, generator=rng), LR, STEPS)
    Wr, br = softmax_gd(X.double(), y, torch.zeros(k, d, dtype=torch.float64), torch.zeros(k, dtype=torch.float64),
                        LR, 2000)
    best = float(softmax_loss(X.double(), y, Wr, br))
    l1 = float(softmax_loss(X.double(), y, W1.double(), b1.double()))
    l2 = float(softmax_loss(X.double(), y, W2.double(), b2.double()))
    assert abs(l1 - best) < 1e-3, _("从常数起点达到的损失不是交叉熵的最小值")
    assert abs(l2 - best) < 1e-3, _("从随机起点达到的损失不是交叉熵的最小值")
    P1 = torch.softmax(X.double() @ W1.double().T + b1.double(), 1)
    P2 = torch.softmax(X.double() @ W2.double().T + b2.double(), 1)
    torch.testing.assert_close(P1, P2, atol=1e-2, rtol=0, msg=_("常数起点和随机起点预测的概率不同"))


def test_inputs_not_modified(student, device, rng):
    """The statement: do not modify W0, b0.  Compared on the checker's side, before and after the call."""
    X, y, d, k = _problem(rng)
    W0, b0 = torch.randn(k, d, generator=rng), torch.randn(k, generator=rng)
    inputs = [X.to(device), y.to(device), W0.to(device), b0.to(device)]
    out, after = student.call_returning_inputs("train_softmax", *inputs, 0.5, 5)
    pair(out, "train_softmax")
    for name, before, now in zip(("X", "y", "W0", "b0"), inputs, after):
        assert torch.equal(now.cpu(), before.cpu()), _("train_softmax 原地修改了输入 {name}").format(name=name)
