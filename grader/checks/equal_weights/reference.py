"""Hidden reference computations of `equal_weights` (never shipped to students).

Every value a hidden check compares a submission with is computed here, on the check's side.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


# -- inputs ------------------------------------------------------------------------------------
def regression_data(rng, n: int, d: int, noise: float = 0.1, dtype=torch.float32, offset=None):
    """A well-conditioned design (standardised Gaussian columns) and targets with a clear intercept.

    ``offset``: a (d,) shift of the columns' means.  Centred columns hide the order of the w and b updates
    (sum(X dw) = 0 whatever dw), so the checks of the update rule shift them.
    """
    X = torch.randn(n, d, generator=rng, dtype=torch.float64)
    X = (X - X.mean(0)) / X.std(0)
    if offset is not None:
        X = X + torch.as_tensor(offset, dtype=torch.float64)
    w_true = torch.randn(d, generator=rng, dtype=torch.float64)
    b_true = (1.0 + torch.rand((), generator=rng, dtype=torch.float64)) * (1 if torch.rand((), generator=rng) < 0.5 else -1)
    y = X @ w_true + b_true + noise * torch.randn(n, generator=rng, dtype=torch.float64)
    return X.to(dtype), y.to(dtype)


def classification_data(rng, n: int, d: int, k: int, proportions=None, dtype=torch.float32):
    """Gaussian features and labels that are only partly predictable (no separable data: a finite optimum)."""
    X = torch.randn(n, d, generator=rng, dtype=torch.float64)
    centres = torch.randn(k, d, generator=rng, dtype=torch.float64)
    if proportions is None:
        proportions = torch.full((k,), 1.0 / k, dtype=torch.float64)
    proportions = torch.as_tensor(proportions, dtype=torch.float64)
    y = torch.multinomial(proportions, n, replacement=True, generator=rng)
    X = X + 0.5 * centres[y]
    return X.to(dtype), y


def distinct_proportions(rng, k: int):
    """Class proportions that differ clearly from one another (symmetry broken by the labels)."""
    weights = torch.arange(1, k + 1, dtype=torch.float64)[torch.randperm(k, generator=rng)]
    return weights / weights.sum()


def labels_with_counts(rng, counts) -> torch.Tensor:
    """Labels with exactly ``counts[j]`` samples of class j, shuffled."""
    y = torch.cat([torch.full((int(c),), j, dtype=torch.long) for j, c in enumerate(counts)])
    return y[torch.randperm(len(y), generator=rng)]


# -- linear regression -------------------------------------------------------------------------
def lstsq_solution(X: torch.Tensor, y: torch.Tensor):
    """Least squares with a bias column, in float64 on the CPU: (w, b)."""
    X64 = X.detach().cpu().double()
    A = torch.cat([X64, torch.ones(len(X64), 1, dtype=torch.float64)], dim=1)
    sol = torch.linalg.lstsq(A, y.detach().cpu().double().unsqueeze(1)).solution.squeeze(1)
    return sol[:-1], sol[-1]


def linear_gd(X, y, w0, b0, lr: float, steps: int):
    """Full-batch gradient descent on L = 1/(2n) * sum (X w + b - y)^2, in float64."""
    X, y = X.double(), y.double()
    w, b = w0.double().clone(), torch.as_tensor(b0).double().clone()
    n = len(X)
    for _ in range(steps):
        r = X @ w + b - y
        w, b = w - lr * X.T @ r / n, b - lr * r.sum() / n
    return w, b


# -- softmax regression ------------------------------------------------------------------------
def softmax_loss(X, y, W, b) -> torch.Tensor:
    """Mean cross-entropy of logits X W^T + b (W: (k, d), b: (k,))."""
    return F.cross_entropy(X @ W.T + b, y)


def softmax_grad_autograd(X, y, W, b):
    """The gradient of the mean cross-entropy wrt W and b, by autograd."""
    with torch.enable_grad():
        W = W.detach().clone().requires_grad_(True)
        b = b.detach().clone().requires_grad_(True)
        gW, gb = torch.autograd.grad(softmax_loss(X, y, W, b), (W, b))
    return gW, gb


def softmax_gd(X, y, W0, b0, lr: float, steps: int):
    """Full-batch gradient descent on the mean cross-entropy (analytic gradient: fast for long runs)."""
    W, b = W0.detach().clone(), b0.detach().clone()
    n, k = X.shape[0], W.shape[0]
    Y = F.one_hot(y, k).to(X.dtype)
    for _ in range(steps):
        G = (torch.softmax(X @ W.T + b, dim=1) - Y) / n
        W, b = W - lr * G.T @ X, b - lr * G.sum(0)
    return W, b


# -- one-hidden-layer MLP ------------------------------------------------------------------------
def mlp_constant_train(X, y, hidden: int, value: float, lr: float, steps: int):
    """relu MLP d -> hidden -> 1, every parameter = value, full-batch GD on mean((out - y)^2).

    Returns the hidden weight W1 of shape (hidden, d).
    """
    d = X.shape[1]
    kw = dict(dtype=X.dtype, device=X.device)
    params = [torch.full((hidden, d), value, **kw), torch.full((hidden,), value, **kw),
              torch.full((hidden,), value, **kw), torch.full((), value, **kw)]
    with torch.enable_grad():
        params = [p.requires_grad_(True) for p in params]
        for _ in range(steps):
            W1, b1, w2, b2 = params
            out = torch.relu(X @ W1.T + b1) @ w2 + b2
            loss = ((out - y) ** 2).mean()
            grads = torch.autograd.grad(loss, params)
            params = [(p - lr * g).detach().requires_grad_(True) for p, g in zip(params, grads)]
    return params[0].detach()


def count_distinct_units(W: torch.Tensor, atol: float) -> int:
    """Rows grouped greedily: a row is new when it is farther than atol (max-abs) from every earlier group."""
    reps: list[torch.Tensor] = []
    for row in W:
        if not any(float((row - r).abs().max()) <= atol for r in reps):
            reps.append(row)
    return len(reps)
