"""Hidden checks of part `softmax_gradient`: softmax_regression_grad(X, y, W, b) -> (dW, db), by hand."""
import torch

from grader.i18n import _
from grader.checks.equal_weights._util import as_tensor, pair, randint, uniform
from grader.checks.equal_weights.reference import (classification_data, distinct_proportions, labels_with_counts,
                                             softmax_grad_autograd)


def _sizes(rng):
    k = randint(rng, 3, 5)
    d = k + randint(rng, 1, 3)  # d != k: a transposed gradient has the wrong shape
    return randint(rng, 40, 120), d, k


def _grad(student, device, X, y, W, b):
    gW, gb = pair(student.call("softmax_regression_grad", X.to(device), y.to(device), W.to(device), b.to(device)),
                  "softmax_regression_grad")
    as_tensor(gW, "dW", tuple(W.shape), device, dtype=X.dtype)
    as_tensor(gb, "db", tuple(b.shape), device, dtype=X.dtype)
    return gW.cpu(), gb.cpu()


def _compare(got, X, y, W, b, what):
    eW, eb = softmax_grad_autograd(X, y, W, b)
    tol = dict(atol=1e-10, rtol=1e-7) if X.dtype == torch.float64 else dict(atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(got[0], eW, **tol, msg=_("dW 与 autograd 的结果不一致 ({what})").format(what=what))
    torch.testing.assert_close(got[1], eb, **tol, msg=_("db 与 autograd 的结果不一致 ({what})").format(what=what))


def test_random_weights_float32(student, device, rng):
    n, d, k = _sizes(rng)
    X, y = classification_data(rng, n, d, k)
    W, b = torch.randn(k, d, generator=rng), torch.randn(k, generator=rng)
    _compare(_grad(student, device, X, y, W, b), X, y, W, b, "random W, float32")


def test_random_weights_float64(student, device, rng):
    n, d, k = _sizes(rng)
    X, y = classification_data(rng, n, d, k, dtype=torch.float64)
    W, b = 2 * torch.randn(k, d, generator=rng, dtype=torch.float64), torch.randn(k, generator=rng, dtype=torch.float64)
    _compare(_grad(student, device, X, y, W, b), X, y, W, b, "random W, float64")


def test_class_missing_from_batch(student, device, rng):
    """k comes from W, not from the labels: the last class may have no sample in the batch."""
    n, d, k = _sizes(rng)
    X, _ = classification_data(rng, n, d, k)
    y = torch.randint(0, k - 1, (n,), generator=rng)
    W, b = torch.randn(k, d, generator=rng), torch.randn(k, generator=rng)
    _compare(_grad(student, device, X, y, W, b), X, y, W, b, "a class absent from the labels")


def test_constant_weights(student, device, rng):
    n, d, k = _sizes(rng)
    X, y = classification_data(rng, n, d, k, proportions=distinct_proportions(rng, k))
    c = uniform(rng, -1.0, 1.0)
    W, b = torch.full((k, d), c), torch.full((k,), c)
    _compare(_grad(student, device, X, y, W, b), X, y, W, b, "constant W and b")


def test_labels_break_symmetry(student, device, rng):
    """At constant W every row of dW is (1/k) mean(x) - (1/n) sum_{y_i = j} x_i: distinct when the classes differ."""
    n, d, k = _sizes(rng)
    counts = (torch.randperm(k, generator=rng) + 1) * randint(rng, 6, 12)
    y = labels_with_counts(rng, counts)
    X, _unused = classification_data(rng, len(y), d, k)
    c = uniform(rng, -1.0, 1.0)
    W, b = torch.full((k, d), c), torch.zeros(k)
    gW, gb = _grad(student, device, X, y, W, b)
    for i in range(k):
        for j in range(i + 1, k):
            assert (gW[i] - gW[j]).abs().max() > 1e-3, _("W 为常数时 dW 的第 {i} 行和第 {j} 行相同").format(i=i, j=j)
            assert abs(float(gb[i] - gb[j])) > 1e-3, _("W 为常数时 db 的第 {i} 项和第 {j} 项相同").format(i=i, j=j)
    expected_b = 1.0 / k - counts.double() / len(y)
    torch.testing.assert_close(gb.double(), expected_b, atol=1e-5, rtol=0, msg=_("W 为常数时 db 不等于 1/k - n_j/n"))


def test_works_without_autograd(student, device, rng):
    """Written by hand: it must work where autograd is off (no_grad is entered on the student's side)."""
    n, d, k = _sizes(rng)
    X, y = classification_data(rng, n, d, k)
    W, b = torch.randn(k, d, generator=rng), torch.randn(k, generator=rng)
    out = student.call_under("no_grad", "softmax_regression_grad", X.to(device), y.to(device), W.to(device), b.to(device))
    gW, gb = pair(out, "softmax_regression_grad")
    as_tensor(gW, "dW", (k, d), device, dtype=X.dtype)
    as_tensor(gb, "db", (k,), device, dtype=X.dtype)
    _compare((gW.cpu(), gb.cpu()), X, y, W, b, "called under torch.no_grad()")


def test_large_logits_float32(student, device, rng):
    """The statement asks for the max subtraction: float32 logits of a few hundred overflow exp() without it."""
    n, d, k = _sizes(rng)
    X, y = classification_data(rng, n, d, k)
    W, b = 40 * torch.randn(k, d, generator=rng), 100 + 10 * torch.randn(k, generator=rng)
    got = _grad(student, device, X, y, W, b)
    _compare(got, X, y, W, b, "large float32 logits (subtract the row maximum before exp)")


def test_inputs_not_modified(student, device, rng):
    n, d, k = _sizes(rng)
    X, y = classification_data(rng, n, d, k)
    inputs = [X.to(device), y.to(device), torch.randn(k, d, generator=rng).to(device), torch.randn(k, generator=rng).to(device)]
    out, after = student.call_returning_inputs("softmax_regression_grad", *inputs)
    pair(out, "softmax_regression_grad")
    for name, before, now in zip(("X", "y", "W", "b"), inputs, after):
        assert torch.equal(now.cpu(), before.cpu()), _("softmax_regression_grad 原地修改了输入 {name}").format(name=name)
