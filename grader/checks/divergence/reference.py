"""Hidden references of the `divergence` assignment (plain functions, never shipped to students)."""
from __future__ import annotations

import torch


def lars_reference(params, grads_per_step, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=0.001, eps=1e-8):
    """LARS as a plain loop: the parameters after every step (list of lists of tensors).

    local = trust * |w| / (|g| + wd |w| + eps) when |w| > 0 and |g| > 0, else 1;
    v = momentum * v + lr * local * (g + wd w);  w = w - v.
    """
    history, _ = lars_reference_with_buffers(params, grads_per_step, lr, momentum, weight_decay, trust_coefficient, eps)
    return history


def lars_reference_with_buffers(params, grads_per_step, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=0.001,
                                eps=1e-8):
    """``lars_reference`` and the momentum buffers after the last step."""
    ws = [p.detach().clone() for p in params]
    bufs = [torch.zeros_like(w) for w in ws]
    history = []
    for grads in grads_per_step:
        for i, g in enumerate(grads):
            w = ws[i]
            w_norm = float(torch.linalg.vector_norm(w))
            g_norm = float(torch.linalg.vector_norm(g))
            if w_norm > 0 and g_norm > 0:
                local = trust_coefficient * w_norm / (g_norm + weight_decay * w_norm + eps)
            else:
                local = 1.0
            bufs[i] = momentum * bufs[i] + lr * local * (g + weight_decay * w)
            ws[i] = w - bufs[i]
        history.append([w.clone() for w in ws])
    return history, bufs


def clip_reference(grads, max_norm):
    """torch.nn.utils.clip_grad_norm_ applied on our own copies: (clipped grads, total norm)."""
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.detach().clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params], total


class ReferenceLARS(torch.optim.Optimizer):
    """The statement's LARS as an optimizer, for the reference training run of ``deep_mlp_reference``."""

    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=0.001, eps=1e-8):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      trust_coefficient=trust_coefficient, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                w_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(p.grad)
                ratio = group["trust_coefficient"] * w_norm / (g_norm + group["weight_decay"] * w_norm + group["eps"])
                local = torch.where((w_norm > 0) & (g_norm > 0), ratio, torch.ones_like(ratio))
                buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buf.mul_(group["momentum"]).add_((p.grad + group["weight_decay"] * p) * (group["lr"] * local))
                p.sub_(buf)


def deep_mlp_reference(optimizer: str, steps: int, seed: int, depth: int = 20, width: int = 32) -> list[float]:
    """The statement's recipe for train_deep_mlp ("sgd" or "lars"), on the CPU in float32."""
    import math

    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(64, 8, generator=gen)
    a = torch.randn(8, 1, generator=gen) / math.sqrt(8)
    y = torch.tanh(2 * X @ a)
    dims = [8] + [width] * (depth - 1) + [1]
    weights = [torch.nn.Parameter(torch.randn(o, i, generator=gen) * 2 / math.sqrt(i)) for i, o in zip(dims[:-1], dims[1:])]
    opt = (torch.optim.SGD(weights, lr=0.01, momentum=0.9) if optimizer == "sgd"
           else ReferenceLARS(weights, lr=1.0, momentum=0.9, trust_coefficient=0.001))
    losses = []
    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad()
            h = X
            for W in weights[:-1]:
                h = torch.relu(h @ W.T)
            loss = ((h @ weights[-1].T - y) ** 2).mean()
            losses.append(loss.item())
            loss.backward()
            opt.step()
    return losses
