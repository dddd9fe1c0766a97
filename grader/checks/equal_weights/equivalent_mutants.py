"""Surviving mutants of the `equal_weights` solutions, reviewed as equivalent (instructor side: never ships).

`make mutants` leaves these out of the score; ``tests/test_equivalent_mutants.py`` checks that each is still
generated with the diff below and that it agrees with the reference on ``PROBES`` under every grading seed.
"""
from __future__ import annotations

import torch

from grader.checks.equal_weights.reference import classification_data, regression_data
from grader.course.mutate import Equivalent, Probe

SAME_DTYPE = ("the statement's inputs share one dtype (float32 or float64 throughout), so a cast of w0 or b0 to "
              "X's dtype, or the dtype argument that asks for it, changes nothing")
REBOUND = ("without the copy w (or b) starts as a view of the caller's w0 (b0), but the loop only rebinds it to new "
           "tensors and never writes into it: the input stays as it was and the values are the same")
NO_GRAPH = ("detach() only drops an autograd history, and the statement's inputs carry none: the same values "
            "(and the in-place updates run under no_grad)")
ONE_DIM = "the tensor reduced is one-dimensional: a reduction over dim 0 (or -1) is the reduction over everything"
LAST_DIM = "the tensor is two-dimensional: dim -1 is dim 1"
ONE_HOT_EXACT = ("the one-hot Y holds only 0 and 1, exact in float32, and P - Y promotes to P's (X's) dtype: the "
                 "same gradient in both dtypes")
FRESH_LOCAL = "the in-place operation changes only a tensor this function has just made and reads once: the same values"
LEAF_RETURNED = ("the returned tensor is the trained leaf itself rather than a detached alias: the same values, "
                 "shape, dtype and device; the statement asks nothing about its autograd flag")
ABS_SYMMETRIC = "|r - row| equals |row - r| entry by entry (IEEE subtraction is exactly antisymmetric)"
SQUARE_SYMMETRIC = "(y - out) ** 2 equals (out - y) ** 2"
B1_CPU = ("b1 made without X's dtype and device: on the CPU a float32 b1 beside float64 data is promoted in "
          "X @ W1.T + b1, and its float32 rounding moves W1 by far less than the float64 tolerance; on CUDA the "
          "CPU b1 cannot be added to the device's activations, so it is killed there")
B2_SCALAR = ("b2 made without X's dtype and device is a 0-dim float32 CPU tensor: 0-dim tensors combine with X's "
             "device and do not change the output's dtype, and its float32 rounding moves W1 by far less than the "
             "float64 tolerance")


def _draw(rng, lo, hi):
    return int(torch.randint(lo, hi + 1, (1,), generator=rng))


def _uniform(rng, lo, hi):
    return lo + (hi - lo) * float(torch.rand((), generator=rng))


DTYPES = (torch.float32, torch.float64)


def _linear(ns, rng, device):
    out = []
    for dtype in DTYPES:
        n, d = _draw(rng, 20, 80), _draw(rng, 1, 5)
        offset = torch.randn(d, generator=rng, dtype=torch.float64) * 3  # not centred: the b update shows
        X, y = regression_data(rng, n, d, dtype=dtype, offset=offset)
        A = torch.cat([X.double(), torch.ones(n, 1, dtype=torch.float64)], 1)
        lr = 0.5 / float(torch.linalg.eigvalsh(A.T @ A / n)[-1])
        w0, b0 = torch.randn(d, generator=rng, dtype=dtype), torch.randn((), generator=rng, dtype=dtype)
        for steps in (0, 1, _draw(rng, 3, 12)):
            out.append(ns["fit_linear"](X.to(device), y.to(device), w0.to(device), b0.to(device), lr, steps))
    return out


def _softmax_grad(ns, rng, device):
    out = []
    with torch.no_grad():  # where the grader calls it
        for dtype in DTYPES:
            k = _draw(rng, 2, 5)
            n, d = _draw(rng, 1, 60), _draw(rng, 1, 6)
            X, y = classification_data(rng, n, d, k, dtype=dtype)
            c = _uniform(rng, -1, 1)
            for W, b in ((torch.randn(k, d, generator=rng, dtype=dtype), torch.randn(k, generator=rng, dtype=dtype)),
                         (torch.full((k, d), c, dtype=dtype), torch.full((k,), c, dtype=dtype)),
                         (40 * torch.randn(k, d, generator=rng, dtype=dtype), 100 + torch.randn(k, generator=rng, dtype=dtype))):
                out.append(ns["softmax_regression_grad"](X.to(device), y.to(device), W.to(device), b.to(device)))
    return out


def _softmax_train(ns, rng, device):
    out = []
    for dtype in DTYPES:
        k, n, d = _draw(rng, 2, 4), _draw(rng, 10, 60), _draw(rng, 1, 4)
        X, y = classification_data(rng, n, d, k, dtype=dtype)
        W0, b0 = torch.randn(k, d, generator=rng, dtype=dtype), torch.randn(k, generator=rng, dtype=dtype)
        for steps in (0, _draw(rng, 1, 20)):
            out.append(ns["train_softmax"](X.to(device), y.to(device), W0.to(device), b0.to(device), _uniform(rng, 0.1, 1.0), steps))
    return out


def _distinct(ns, rng, device):
    out = []
    for atol in (0.0, 1e-6, 1e-3, 0.25, 0.5):
        h, d = _draw(rng, 1, 12), _draw(rng, 1, 6)
        base = torch.randint(-4, 5, (3, d), generator=rng).double()
        which = torch.randint(0, 3, (h,), generator=rng)
        # exact multiples of atol (binary fractions where atol is one): ties at exactly atol and just beyond it
        W = base[which] + atol * torch.randint(-2, 3, (h, d), generator=rng).double()
        for dtype in DTYPES:
            out.append(ns["count_distinct_units"](W.to(dtype).to(device), atol))
        big = 10.0 ** _uniform(rng, 1, 4) * (1 + torch.rand(h, d, generator=rng, dtype=torch.float64))
        out.append(ns["count_distinct_units"](big.to(device), atol))
    return out


def _mlp(ns, rng, device):
    out = []
    for dtype in DTYPES:
        n, d, hidden = _draw(rng, 1, 64), _draw(rng, 1, 5), _draw(rng, 1, 8)
        X = torch.randn(n, d, generator=rng, dtype=dtype) + _uniform(rng, -1, 1)
        y = torch.sin(X.sum(1)) + 0.1 * torch.randn(n, generator=rng, dtype=dtype)
        value = _uniform(rng, 0.05, 0.5) * (1 if _uniform(rng, 0, 1) < 0.7 else -1)
        for steps in (0, _draw(rng, 1, 30)):
            out.append(ns["train_constant_mlp"](X.to(device), y.to(device), hidden, value, _uniform(rng, 0.01, 0.1), steps))
    return out


# one tolerance per probe: float64's (the stricter of the statement's two), which the float32 cases meet too
F64 = dict(rtol=1e-7, atol=1e-9)
PROBES = {
    "linear_regression": Probe(_linear, **F64),
    "softmax_gradient": Probe(_softmax_grad, **F64),
    "softmax_training": Probe(_softmax_train, **F64),
    "distinct_units": Probe(_distinct, rtol=0.0, atol=0.0),  # an int: equal or not
    "mlp_ties": Probe(_mlp, **F64),
}


EQUIVALENT = [
    Equivalent('93df4a3439', 'linear_regression', '-    w = w0.detach().clone().to(X.dtype)\n+    w = w0.detach().clone().to(None)',
               SAME_DTYPE),
    Equivalent('a6c1d6c13a', 'linear_regression', '-    b = torch.as_tensor(b0, dtype=X.dtype, device=X.device).detach().clone().reshape(())\n+    b = torch.as_tensor(b0, dtype=None, device=X.device).detach().clone().reshape(())',
               SAME_DTYPE),
    Equivalent('e4f0560889', 'linear_regression', '-    b = torch.as_tensor(b0, dtype=X.dtype, device=X.device).detach().clone().reshape(())\n+    b = torch.as_tensor(b0, device=X.device).detach().clone().reshape(())',
               SAME_DTYPE),
    Equivalent('9e2b916909', 'linear_regression', '-    w = w0.detach().clone().to(X.dtype)\n+    w = w0.detach().clone()',
               SAME_DTYPE),
    Equivalent('a9abe04b40', 'linear_regression', '-    w = w0.detach().clone().to(X.dtype)\n+    w = w0.detach().to(X.dtype)',
               REBOUND),
    Equivalent('502c0ba64a', 'linear_regression', '-    b = torch.as_tensor(b0, dtype=X.dtype, device=X.device).detach().clone().reshape(())\n+    b = torch.as_tensor(b0, dtype=X.dtype, device=X.device).detach().reshape(())',
               REBOUND),
    Equivalent('9757ad4a68', 'linear_regression', '-    w = w0.detach().clone().to(X.dtype)\n+    w = w0.clone().to(X.dtype)',
               NO_GRAPH),
    Equivalent('00784e62e7', 'linear_regression', '-    b = torch.as_tensor(b0, dtype=X.dtype, device=X.device).detach().clone().reshape(())\n+    b = torch.as_tensor(b0, dtype=X.dtype, device=X.device).clone().reshape(())',
               NO_GRAPH),
    Equivalent('1572d0a1b3', 'linear_regression', '-        w, b = w - lr * (X.T @ r) / n, b - lr * r.sum() / n\n+        w, b = w - lr * (X.T @ r) / n, b - lr * r.sum(dim=0) / n',
               ONE_DIM),
    Equivalent('9f19a5120b', 'linear_regression', '-        w, b = w - lr * (X.T @ r) / n, b - lr * r.sum() / n\n+        w, b = w - lr * (X.T @ r) / n, b - lr * r.sum(dim=-1) / n',
               ONE_DIM),
    Equivalent('784d269843', 'softmax_gradient', '-    Y = torch.zeros(n, k, dtype=X.dtype, device=X.device)\n+    Y = torch.zeros(n, k, dtype=None, device=X.device)',
               ONE_HOT_EXACT),
    Equivalent('a152771257', 'softmax_gradient', '-    Y = torch.zeros(n, k, dtype=X.dtype, device=X.device)\n+    Y = torch.zeros(n, k, device=X.device)',
               ONE_HOT_EXACT),
    Equivalent('ab38906155', 'softmax_gradient', '-    Y = torch.zeros(n, k, dtype=X.dtype, device=X.device)\n+    Y = torch.zeros(n, k, dtype=torch.float32, device=X.device)',
               ONE_HOT_EXACT),
    Equivalent('9c67280a8c', 'softmax_gradient', '-    logits = logits - logits.max(dim=1, keepdim=True).values\n+    logits -= logits.max(dim=1, keepdim=True).values',
               FRESH_LOCAL),
    Equivalent('68e23c9426', 'softmax_gradient', '-    P = torch.exp(logits)\n+    P = torch.exp_(logits)',
               FRESH_LOCAL),
    Equivalent('a6a2ce269c', 'softmax_gradient', '-    P = P / P.sum(dim=1, keepdim=True)\n+    P /= P.sum(dim=1, keepdim=True)',
               FRESH_LOCAL),
    Equivalent('5a0eb6059c', 'softmax_gradient', '-    logits = logits - logits.max(dim=1, keepdim=True).values\n+    logits = logits - logits.max(dim=-1, keepdim=True).values',
               LAST_DIM),
    Equivalent('5f0fbcb84b', 'softmax_gradient', '-    P = P / P.sum(dim=1, keepdim=True)\n+    P = P / P.sum(dim=-1, keepdim=True)',
               LAST_DIM),
    Equivalent('5889cfaf77', 'softmax_training', '-    W = W0.detach().clone().requires_grad_(True)\n+    W = W0.clone().requires_grad_(True)',
               NO_GRAPH),
    Equivalent('b7190d80e4', 'softmax_training', '-    b = b0.detach().clone().requires_grad_(True)\n+    b = b0.clone().requires_grad_(True)',
               NO_GRAPH),
    Equivalent('cafced287e', 'softmax_training', '-    return W.detach(), b.detach()\n+    return W, b.detach()',
               LEAF_RETURNED),
    Equivalent('e53585638e', 'softmax_training', '-    return W.detach(), b.detach()\n+    return W.detach(), b',
               LEAF_RETURNED),
    Equivalent('ba3a14920c', 'distinct_units', '-        if all(float((row - r).abs().max()) > atol for r in reps):\n+        if all(float((row - r).abs_().max()) > atol for r in reps):',
               FRESH_LOCAL),
    Equivalent('2cc74b777a', 'distinct_units', '-        if all(float((row - r).abs().max()) > atol for r in reps):\n+        if all(float((r - row).abs().max()) > atol for r in reps):',
               ABS_SYMMETRIC),
    Equivalent('bcd6ba2464', 'mlp_ties', '-    b1 = torch.full((hidden,), value, **kw, requires_grad=True)\n+    b1 = torch.full((hidden,), value, requires_grad=True)',
               B1_CPU, cuda_only=True),
    Equivalent('4d958a3ff2', 'mlp_ties', '-    b2 = torch.full((), value, **kw, requires_grad=True)\n+    b2 = torch.full((), value, requires_grad=True)',
               B2_SCALAR),
    Equivalent('67b74e4acf', 'mlp_ties', '-    d = X.shape[1]\n+    d = X.shape[-1]',
               LAST_DIM),
    Equivalent('9e8959ef15', 'mlp_ties', '-            out = torch.relu(X @ W1.T + b1) @ w2 + b2\n+            out = torch.relu_(X @ W1.T + b1) @ w2 + b2',
               FRESH_LOCAL),
    Equivalent('bdddf0fd36', 'mlp_ties', '-            loss = ((out - y) ** 2).mean()\n+            loss = ((out - y) ** 2).mean(dim=0)',
               ONE_DIM),
    Equivalent('d9d6c37cba', 'mlp_ties', '-            loss = ((out - y) ** 2).mean()\n+            loss = ((out - y) ** 2).mean(dim=-1)',
               ONE_DIM),
    Equivalent('9297b3f8f6', 'mlp_ties', '-            loss = ((out - y) ** 2).mean()\n+            loss = ((y - out) ** 2).mean()',
               SQUARE_SYMMETRIC),
    Equivalent('d7bc57197b', 'mlp_ties', '-    return W1.detach()\n+    return W1',
               LEAF_RETURNED),
]
