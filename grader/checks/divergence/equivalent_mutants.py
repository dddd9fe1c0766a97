"""Surviving mutants of the `divergence` solutions, reviewed as equivalent (instructor side: never ships).

`make mutants` leaves these out of the score; ``tests/test_equivalent_mutants.py`` checks that each is still
generated with the diff below and that it agrees with the reference on ``PROBES`` under every grading seed.
"""
from __future__ import annotations

import torch

from grader.course.mutate import Equivalent, Probe

PROMOTE0 = ("total_sq starts as a float32 0-dim zero; adding the first 0-dim sum promotes it to the gradients' "
            "dtype and 0.0 is exact in both: the same norm")
SAME_GRADS = "the statement's grads share one dtype and one device, so grads[-1] gives what grads[0] gives"
FRESH_LOCAL = "the in-place operation changes only a tensor this function has just made and reads once: the same values"
NO_GRAPH = ("detach() only drops an autograd history: the values are the same, and .grad tensors (the statement's "
            "grads) carry none")
CLIP_UNGRADED = 'on the optimizer="clip" path, which the statement leaves ungraded ("clip" 不计分)'
LARS_DEFAULT = "the dropped argument equals the notebook's LARS default (momentum=0.9, trust_coefficient=0.001)"
UNKNOWN_OPTIMIZER = ('the statement defines only "sgd", "clip" and "lars"; an unknown name still fails (a '
                     "ValueError without a message, or the unbound optimizer)")
ONE_ELEMENT = "mean(dim=0) of the (64, 1) squared errors is a one-element loss: .item() and backward() read it as the mean"
SQUARE_SYMMETRIC = "(a - b) ** 2 equals (b - a) ** 2"


def _draw(rng, lo, hi):
    return int(torch.randint(lo, hi + 1, (1,), generator=rng))


def _clip(ns, rng, device):
    out = []
    for dtype in (torch.float32, torch.float64):
        shapes = [tuple(_draw(rng, 1, 5) for _ in range(_draw(rng, 1, 3))) for _ in range(_draw(rng, 1, 4))]
        grads = [(torch.randn(s, generator=rng, dtype=dtype) * 10 ** float(torch.empty(()).uniform_(-3, 2, generator=rng))).to(device)
                 for s in shapes]
        norm = float(sum((g.double() ** 2).sum() for g in grads).sqrt())
        for max_norm in (0.3 * norm, 3.0 * norm):
            out.append(ns["clip_by_global_norm"]([g.clone() for g in grads], max_norm))
    return out


def _deep_mlp(ns, rng, device):
    seed = _draw(rng, 0, 10**6)
    return [ns["train_deep_mlp"]("sgd", 6, seed, depth=_draw(rng, 3, 5), device=str(device)),
            ns["train_deep_mlp"]("sgd", 3, seed, device=str(device)),
            ns["train_deep_mlp"]("lars", 10, seed, depth=_draw(rng, 6, 20), device=str(device))]


PROBES = {
    "clip_global_norm": Probe(_clip, rtol=1e-6, atol=1e-9),
    "deep_mlp": Probe(_deep_mlp, rtol=1e-3, atol=0.0),  # the statement: float32, relative 1e-3
}


EQUIVALENT = [
    Equivalent('8014816bfa', 'clip_global_norm', '-    total_sq = torch.zeros((), dtype=grads[0].dtype, device=grads[0].device)\n+    total_sq = torch.zeros((), dtype=None, device=grads[0].device)',
               PROMOTE0),
    Equivalent('14f95f4b33', 'clip_global_norm', '-    total_sq = torch.zeros((), dtype=grads[0].dtype, device=grads[0].device)\n+    total_sq = torch.zeros((), device=grads[0].device)',
               PROMOTE0),
    Equivalent('4501a5dff8', 'clip_global_norm', '-    total_sq = torch.zeros((), dtype=grads[0].dtype, device=grads[0].device)\n+    total_sq = torch.zeros((), dtype=torch.float32, device=grads[0].device)',
               PROMOTE0),
    Equivalent('f1aab1288a', 'clip_global_norm', '-    total_sq = torch.zeros((), dtype=grads[0].dtype, device=grads[0].device)\n+    total_sq = torch.zeros((), dtype=grads[-1].dtype, device=grads[0].device)',
               SAME_GRADS),
    Equivalent('b729611cad', 'clip_global_norm', '-    total_sq = torch.zeros((), dtype=grads[0].dtype, device=grads[0].device)\n+    total_sq = torch.zeros((), dtype=grads[0].dtype, device=grads[-1].device)',
               SAME_GRADS),
    Equivalent('9ea9fbddc1', 'clip_global_norm', '-        total_sq = total_sq + g.detach().pow(2).sum()\n+        total_sq += g.detach().pow(2).sum()',
               FRESH_LOCAL),
    Equivalent('d86e090cbb', 'clip_global_norm', '-    total_norm = total_sq.sqrt()\n+    total_norm = total_sq.sqrt_()',
               FRESH_LOCAL),
    Equivalent('25f21ae499', 'clip_global_norm', '-    coef = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)\n+    coef = torch.clamp_(max_norm / (total_norm + 1e-6), max=1.0)',
               FRESH_LOCAL),
    Equivalent('d25973bd75', 'clip_global_norm', '-        total_sq = total_sq + g.detach().pow(2).sum()\n+        total_sq = total_sq + g.pow(2).sum()',
               NO_GRAPH),
    Equivalent('42ac01132c', 'clip_global_norm', '-    clipped = [g.detach() * coef for g in grads]\n+    clipped = [g * coef for g in grads]',
               NO_GRAPH),
    Equivalent('d043f79ce8', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n+            clipped, _ = clip_by_global_norm([W.grad for W in weights], 2.0)',
               CLIP_UNGRADED),
    Equivalent('aecbaa7df0', 'deep_mlp', '-    if optimizer in ("sgd", "clip"):\n+    if optimizer in ("sgd", "XXclipXX"):',
               CLIP_UNGRADED),
    Equivalent('ab17f9b005', 'deep_mlp', '-    if optimizer in ("sgd", "clip"):\n+    if optimizer in ("sgd", "CLIP"):',
               CLIP_UNGRADED),
    Equivalent('0c88477bf8', 'deep_mlp', '-        if optimizer == "clip":\n+        if optimizer == "XXclipXX":',
               CLIP_UNGRADED),
    Equivalent('783dde90c2', 'deep_mlp', '-        if optimizer == "clip":\n+        if optimizer == "CLIP":',
               CLIP_UNGRADED),
    Equivalent('a58297c464', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n+            clipped, _ = None',
               CLIP_UNGRADED),
    Equivalent('2622e7b21d', 'deep_mlp', '-                W.grad = g\n+                W.grad = None',
               CLIP_UNGRADED),
    Equivalent('01574b717e', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n+            clipped, _ = clip_by_global_norm(None, 1.0)',
               CLIP_UNGRADED),
    Equivalent('46dce15671', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n+            clipped, _ = clip_by_global_norm([W.grad for W in weights], None)',
               CLIP_UNGRADED),
    Equivalent('e6fa1e1855', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n+            clipped, _ = clip_by_global_norm(1.0)',
               CLIP_UNGRADED),
    Equivalent('96a0a1a352', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n+            clipped, _ = clip_by_global_norm([W.grad for W in weights], )',
               CLIP_UNGRADED),
    Equivalent('d21b977738', 'deep_mlp', '-            for W, g in zip(weights, clipped):\n+            for W, g in zip(None, clipped):',
               CLIP_UNGRADED),
    Equivalent('28195ae761', 'deep_mlp', '-            for W, g in zip(weights, clipped):\n+            for W, g in zip(weights, None):',
               CLIP_UNGRADED),
    Equivalent('4c910d3112', 'deep_mlp', '-            for W, g in zip(weights, clipped):\n+            for W, g in zip(clipped):',
               CLIP_UNGRADED),
    Equivalent('7f62091fb1', 'deep_mlp', '-            for W, g in zip(weights, clipped):\n+            for W, g in zip(weights, ):',
               CLIP_UNGRADED),
    Equivalent('e19ea7ac75', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n+            clipped, _ = clip_by_global_norm(1.0, [W.grad for W in weights])',
               CLIP_UNGRADED),
    Equivalent('5aa17faf0d', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n+            clipped, _ = clip_by_global_norm([W.grad for W in weights], 0.0)',
               CLIP_UNGRADED),
    Equivalent('07ccc4e8a8', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n+            clipped, _ = clip_by_global_norm([W.grad for W in weights], -1.0)',
               CLIP_UNGRADED),
    Equivalent('f40c43a1d1', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n+            clipped, _ = clip_by_global_norm([W.grad for W in weights], 10.0)',
               CLIP_UNGRADED),
    Equivalent('9ad912fee5', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n+            clipped, _ = clip_by_global_norm([W.grad for W in weights], 0.1)',
               CLIP_UNGRADED),
    Equivalent('82ef03c83c', 'deep_mlp', '-            for W, g in zip(weights, clipped):\n+            for W, g in zip(clipped, weights):',
               CLIP_UNGRADED),
    Equivalent('03bc96bea7', 'deep_mlp', '-        if optimizer == "clip":\n-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)\n-            for W, g in zip(weights, clipped):\n-                W.grad = g',
               CLIP_UNGRADED),
    Equivalent('7ab0c6e996', 'deep_mlp', '-            clipped, _ = clip_by_global_norm([W.grad for W in weights], 1.0)',
               CLIP_UNGRADED),
    Equivalent('3df84f9165', 'deep_mlp', '-            for W, g in zip(weights, clipped):\n-                W.grad = g',
               CLIP_UNGRADED),
    Equivalent('1e13185658', 'deep_mlp', '-                W.grad = g\n+                pass',
               CLIP_UNGRADED),
    Equivalent('e135ead1f5', 'deep_mlp', '-        opt = LARS(weights, lr=1.0, momentum=0.9, trust_coefficient=0.001)\n+        opt = LARS(weights, lr=1.0, trust_coefficient=0.001)',
               LARS_DEFAULT),
    Equivalent('fb12d55de5', 'deep_mlp', '-        opt = LARS(weights, lr=1.0, momentum=0.9, trust_coefficient=0.001)\n+        opt = LARS(weights, lr=1.0, momentum=0.9, )',
               LARS_DEFAULT),
    Equivalent('7e56aee5a8', 'deep_mlp', '-        raise ValueError(f"unknown optimizer {optimizer!r}")\n+        raise ValueError(None)',
               UNKNOWN_OPTIMIZER),
    Equivalent('316bb1d02c', 'deep_mlp', '-        raise ValueError(f"unknown optimizer {optimizer!r}")\n+        pass',
               UNKNOWN_OPTIMIZER),
    Equivalent('7a39f28c26', 'deep_mlp', '-            h = torch.relu(h @ W.T)\n+            h = torch.relu_(h @ W.T)',
               FRESH_LOCAL),
    Equivalent('5f7b5129cc', 'deep_mlp', '-        loss = ((net(X) - y) ** 2).mean()\n+        loss = ((net(X) - y) ** 2).mean(dim=0)',
               ONE_ELEMENT),
    Equivalent('e8591ea454', 'deep_mlp', '-        loss = ((net(X) - y) ** 2).mean()\n+        loss = ((y - net(X)) ** 2).mean()',
               SQUARE_SYMMETRIC),
]
