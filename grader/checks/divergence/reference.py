"""Hidden references of the `divergence` assignment (plain functions, never shipped to students)."""
from __future__ import annotations

import torch


def lars_reference(params, grads_per_step, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=0.001, eps=1e-8):
    """LARS as a plain loop: the parameters after every step (list of lists of tensors).

    local = trust * |w| / (|g| + wd |w| + eps) when |w| > 0 and |g| > 0, else 1;
    v = momentum * v + lr * local * (g + wd w);  w = w - v.
    """
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
    return history


def clip_reference(grads, max_norm):
    """torch.nn.utils.clip_grad_norm_ applied on our own copies: (clipped grads, total norm)."""
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.detach().clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params], total
