"""Surviving mutants of the `symmetry` solutions, reviewed as equivalent (instructor side: never ships).

`make mutants` leaves these out of the score; ``tests/test_equivalent_mutants.py`` checks that each is still
generated with the diff below and that it agrees with the reference on ``PROBES`` under every grading seed.
"""
from __future__ import annotations

import torch

from grader.checks.symmetry.reference import non_involution
from grader.course.mutate import Equivalent, Probe

INDEX_COPIES = "indexing with a LongTensor (advanced indexing) already returns a new tensor: clone() copies a copy"
NO_GRAPH = "detach() only drops an autograd history: the rows' values, and so the groups, are the same"
FRESH_LOCAL = "the in-place operation changes only a tensor this function has just made and reads once: the same values"
ABS_SYMMETRIC = ("|rows[j] - rows[i]| equals |rows[i] - rows[j]| entry by entry (IEEE subtraction is exactly "
                 "antisymmetric), and the matrix of differences is symmetric: the same `close`")
CPU_LIST = ("the .cpu() only moves the boolean matrix: torch.nonzero(...).tolist() gives the same Python ints from "
            "either device")
DEVICE_NONE = ("device = None: .to(None) leaves the module and the data where they are, which on the CPU is the "
               "requested device; on CUDA the weights stay on the CPU and the device check kills it")
DEVICE_STRING = "without torch.device(...) the argument stays a string, which .to() accepts just the same"
RANDINT_LOW = "torch.randint(10, size) is torch.randint(0, 10, size): the same draws from the generator"
FRESH_RELU = ("relu_ runs in place on the output that the layer has just made, which nothing else reads: autograd "
              "saves the result instead, and the values and gradients are the same")
LEAF_RETURNED = ("the returned tensor is the trained parameter (or a view of it) rather than a detached alias: the "
                 "same values, shape, dtype and device; the statement asks nothing about its autograd flag")
TRAIN_DEFAULT = "a freshly made nn.Module is already in training mode: net.train() changes nothing"
SAME_DIMS = ("the same pair of dims of a 4-dimensional tensor: transpose is symmetric in its two arguments, and "
             "-2 is 2, +2 is 2 and --2 is 2 there")
INIT_ALIAS = "nn.init.constant is the deprecated alias of nn.init.constant_: it fills the parameter in place too"
MSE_SYMMETRIC = "mse_loss(target, out) equals mse_loss(out, target): (a - b) ** 2 is (b - a) ** 2"


def _draw(rng, lo, hi):
    return int(torch.randint(lo, hi + 1, (1,), generator=rng))


def _permute(ns, rng, device):
    out = []
    for dtype in (torch.float32, torch.float64):
        c, c_in, c_out, k = _draw(rng, 2, 8), _draw(rng, 1, 4), _draw(rng, 1, 5), (1, 3)[_draw(rng, 0, 1)]
        t = lambda *s: torch.randn(*s, generator=rng, dtype=dtype).to(device)
        w1, b1, w2 = t(c, c_in, k, k), t(c), t(c_out, c, k, k)
        perm = non_involution(c, rng).to(device) if c > 2 else torch.tensor([1, 0], device=device)
        before = [w1.clone(), b1.clone(), w2.clone()]
        new = ns["permute_conv_channels"](w1, b1, w2, perm)
        out += [tuple(new), [torch.equal(a, b) for a, b in zip([w1, b1, w2], before)]]  # inputs untouched
    return out


def _ties(ns, rng, device):
    out = []
    for atol in (0.0, 1e-6, 1e-3, 0.25):
        n, d = _draw(rng, 1, 12), _draw(rng, 1, 6)
        protos = torch.randint(-4, 5, (3, d), generator=rng).double()
        W = protos[torch.randint(0, 3, (n,), generator=rng)] + atol * torch.randint(-2, 3, (n, d), generator=rng).double()
        for dtype in (torch.float32, torch.float64):
            out.append(ns["tied_groups"](W.to(dtype).reshape(n, 1, d).to(device), atol))
        out.append(ns["tied_groups"](W.requires_grad_(True).to(device), atol))
    return out


def _cnn(ns, rng, device):
    seed, channels = _draw(rng, 0, 2**20), _draw(rng, 2, 6)
    steps, lr, value = _draw(rng, 0, 6), 0.25 + 0.5 * float(torch.rand((), generator=rng)), 0.05 + 0.1 * float(torch.rand((), generator=rng))
    return [ns["train_constant_cnn"](steps, seed=seed, lr=lr, value=value * sign, channels=channels, device=str(device), **kw)
            for sign, kw in ((1, {}), (-1, {}), (1, dict(dropout=True)), (1, dict(random_init=True)))]


def _attention(ns, rng, device):
    out = []
    for heads, embed in ((2, 8), (4, 16), (3, 12)):
        seed, steps = _draw(rng, 0, 2**20), _draw(rng, 0, 6)
        lr, value = 0.25 + 0.5 * float(torch.rand((), generator=rng)), 0.05 + 0.1 * float(torch.rand((), generator=rng))
        for kw in ({}, dict(random_init=True)):
            out.append(ns["train_constant_attention"](steps, seed=seed, lr=lr, value=value, embed_dim=embed,
                                                      num_heads=heads, device=str(device), **kw))
    return out


# the same float32 operations in the same order: the results agree to rounding (the statement's trajectories
# are compared at a relative 1e-4 on the CPU; this asks for far less)
PROBES = {
    "permute_channels": Probe(_permute, rtol=0.0, atol=0.0),  # a permutation copies: bit for bit
    "detect_ties": Probe(_ties, rtol=0.0, atol=0.0),
    "constant_init_cnn": Probe(_cnn, rtol=1e-6, atol=1e-7),
    "attention_heads": Probe(_attention, rtol=1e-6, atol=1e-7),
}


EQUIVALENT = [
    Equivalent('90d46a4e96', 'permute_channels', '-    w1_new = w1[perm].clone()\n+    w1_new = w1[perm]',
               INDEX_COPIES),
    Equivalent('8ed3876c23', 'permute_channels', '-    b1_new = b1[perm].clone()\n+    b1_new = b1[perm]',
               INDEX_COPIES),
    Equivalent('f173e9fdab', 'permute_channels', '-    w2_new = w2[:, perm].clone()\n+    w2_new = w2[:, perm]',
               INDEX_COPIES),
    Equivalent('27e5906e2b', 'detect_ties', '-    rows = weight.detach().reshape(n, -1)\n+    rows = weight.reshape(n, -1)',
               NO_GRAPH),
    Equivalent('ed5e46e4b9', 'detect_ties', '-    diff = (rows[:, None, :] - rows[None, :, :]).abs().amax(dim=-1)\n+    diff = (rows[:, None, :] - rows[None, :, :]).abs_().amax(dim=-1)',
               FRESH_LOCAL),
    Equivalent('512574c5d8', 'detect_ties', '-    diff = (rows[:, None, :] - rows[None, :, :]).abs().amax(dim=-1)\n+    diff = (rows[None, :, :] - rows[:, None, :]).abs().amax(dim=-1)',
               ABS_SYMMETRIC),
    Equivalent('99895f2040', 'detect_ties', '-    close = (diff <= atol).cpu()\n+    close = (diff <= atol)',
               CPU_LIST),
    Equivalent('c1ffe8f4a3', 'constant_init_cnn', '-    device = torch.device(device)\n+    device = None',
               DEVICE_NONE, cuda_only=True),
    Equivalent('860e711ea0', 'constant_init_cnn', '-    y = torch.randint(0, 10, (32,), generator=g).to(device)\n+    y = torch.randint(10, (32,), generator=g).to(device)',
               RANDINT_LOW),
    Equivalent('911fed7af0', 'constant_init_cnn', '-        h = self.drop(F.relu(self.conv1(x)))\n+        h = self.drop(F.relu_(self.conv1(x)))',
               FRESH_RELU),
    Equivalent('35c9a0a700', 'constant_init_cnn', '-        h = F.relu(self.conv2(h))\n+        h = F.relu_(self.conv2(h))',
               FRESH_RELU),
    Equivalent('8594acf413', 'constant_init_cnn', '-    return net.conv1.weight.detach()\n+    return net.conv1.weight',
               LEAF_RETURNED),
    Equivalent('d5ec6503d7', 'constant_init_cnn', '-    ### BEGIN SOLUTION\n-    device = torch.device(device)',
               DEVICE_STRING),
    Equivalent('24f9385b51', 'constant_init_cnn', '-    net.train()',
               TRAIN_DEFAULT),
    Equivalent('f18a468f2c', 'attention_heads', '-    device = torch.device(device)\n+    device = None',
               DEVICE_NONE, cuda_only=True),
    Equivalent('17f2d0164d', 'attention_heads', '-        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)\n+        att = torch.softmax(q @ k.transpose(+2, -1) / math.sqrt(self.head_dim), dim=-1)',
               SAME_DIMS),
    Equivalent('1fd9941234', 'attention_heads', '-            return t.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)\n+            return t.view(B, T, self.num_heads, self.head_dim).transpose(2, 1)',
               SAME_DIMS),
    Equivalent('2935724af6', 'attention_heads', '-            return t.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)\n+            return t.view(B, T, self.num_heads, self.head_dim).transpose(1, -2)',
               SAME_DIMS),
    Equivalent('f13bd7f690', 'attention_heads', '-        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)\n+        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim), dim=-1)',
               SAME_DIMS),
    Equivalent('33c49fe3d0', 'attention_heads', '-        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)\n+        att = torch.softmax(q @ k.transpose(--2, -1) / math.sqrt(self.head_dim), dim=-1)',
               SAME_DIMS),
    Equivalent('d0cebbd0ef', 'attention_heads', '-        out = (att @ v).transpose(1, 2).reshape(B, T, E)\n+        out = (att @ v).transpose(2, 1).reshape(B, T, E)',
               SAME_DIMS),
    Equivalent('a327f124a0', 'attention_heads', '-        out = (att @ v).transpose(1, 2).reshape(B, T, E)\n+        out = (att @ v).transpose(1, -2).reshape(B, T, E)',
               SAME_DIMS),
    Equivalent('2f2d3de22b', 'attention_heads', '-            nn.init.constant_(p, value)\n+            nn.init.constant(p, value)',
               INIT_ALIAS),
    Equivalent('61e5937ebc', 'attention_heads', '-        loss = F.mse_loss(mha(x), target)\n+        loss = F.mse_loss(target, mha(x))',
               MSE_SYMMETRIC),
    Equivalent('621458d4c2', 'attention_heads', '-    return mha.q.weight.detach().view(num_heads, embed_dim // num_heads, embed_dim)\n+    return mha.q.weight.view(num_heads, embed_dim // num_heads, embed_dim)',
               LEAF_RETURNED),
    Equivalent('7e15f14871', 'attention_heads', '-    ### BEGIN SOLUTION\n-    device = torch.device(device)',
               DEVICE_STRING),
]
