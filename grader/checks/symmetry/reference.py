"""Hidden reference helpers of the `symmetry` checks (never shipped to students)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def tie_groups(weight: torch.Tensor, atol: float) -> list[list[int]]:
    """Connected components of "max |w_i - w_j| <= atol" over the rows (dim 0) of ``weight``."""
    n = weight.shape[0]
    rows = weight.detach().reshape(n, -1).to("cpu", torch.float64)
    close = (rows[:, None, :] - rows[None, :, :]).abs().amax(dim=-1) <= atol
    label = list(range(n))

    def find(i):
        while label[i] != i:
            label[i] = label[label[i]]
            i = label[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if close[i, j]:
                label[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def max_spread(weight: torch.Tensor) -> float:
    """Largest entry-wise difference between any row and row 0."""
    rows = weight.detach().reshape(weight.shape[0], -1).double()
    return (rows - rows[0]).abs().max().item()


def min_pair_gap(weight: torch.Tensor) -> float:
    """Smallest max-abs difference over pairs of distinct rows."""
    n = weight.shape[0]
    rows = weight.detach().reshape(n, -1).double().cpu()
    gaps = (rows[:, None, :] - rows[None, :, :]).abs().amax(dim=-1)
    return gaps.masked_fill(torch.eye(n, dtype=torch.bool), float("inf")).min().item()


def two_conv_net(x, w1, b1, w2, b2, padding1: int, padding2: int, stride2: int):
    return F.conv2d(F.relu(F.conv2d(x, w1, b1, padding=padding1)), w2, b2, padding=padding2, stride=stride2)


def non_involution(n: int, rng: torch.Generator) -> torch.Tensor:
    """A random permutation of n >= 3 items that differs from its inverse (so inverse mix-ups show)."""
    while True:
        perm = torch.randperm(n, generator=rng)
        if not torch.equal(perm[perm], torch.arange(n)):
            return perm


def normalize_groups(groups) -> list[list[int]]:
    """A student's answer as a list of lists of ints (raises AssertionError on anything else)."""
    assert isinstance(groups, (list, tuple)), f"tied_groups should return a list, got {type(groups).__name__}"
    out = []
    for g in groups:
        assert isinstance(g, (list, tuple)), f"each group should be a list, got {type(g).__name__}"
        out.append([int(i) for i in g])
    return out


# -- reference training runs (constant init: nothing random but the data, drawn from the seed) -----------------
def _constant(module: torch.nn.Module, value: float) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(value)


def cnn_constant_reference(steps: int, seed: int, lr: float, value: float, channels: int) -> torch.Tensor:
    """The statement's SmallCNN (no dropout), every parameter = value, full-batch SGD; conv1's weight (CPU)."""
    conv1, conv2 = torch.nn.Conv2d(3, channels, 3, padding=1), torch.nn.Conv2d(channels, channels, 3, padding=1)
    fc = torch.nn.Linear(channels, 10)
    params = [*conv1.parameters(), *conv2.parameters(), *fc.parameters()]
    for m in (conv1, conv2, fc):
        _constant(m, value)
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(32, 3, 8, 8, generator=g), torch.randint(0, 10, (32,), generator=g)
    opt = torch.optim.SGD(params, lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad()
            h = F.relu(conv2(F.relu(conv1(x))))
            F.cross_entropy(fc(F.adaptive_avg_pool2d(h, 1).flatten(1)), y).backward()
            opt.step()
    return conv1.weight.detach().clone()


def attention_constant_reference(steps: int, seed: int, lr: float, value: float, embed_dim: int,
                                 num_heads: int) -> torch.Tensor:
    """The statement's TinyMHA, every parameter = value, full-batch SGD on the MSE; q's weight per head (CPU)."""
    q, k, v, o = (torch.nn.Linear(embed_dim, embed_dim) for _ in range(4))
    for m in (q, k, v, o):
        _constant(m, value)
    d = embed_dim // num_heads
    g = torch.Generator().manual_seed(seed)
    x, target = torch.randn(8, 6, embed_dim, generator=g), torch.randn(8, 6, embed_dim, generator=g)
    opt = torch.optim.SGD([p for m in (q, k, v, o) for p in m.parameters()], lr=lr)

    def split(t):
        return t.view(8, 6, num_heads, d).transpose(1, 2)

    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad()
            att = torch.softmax(split(q(x)) @ split(k(x)).transpose(-2, -1) / d ** 0.5, dim=-1)
            out = o((att @ split(v(x))).transpose(1, 2).reshape(8, 6, embed_dim))
            F.mse_loss(out, target).backward()
            opt.step()
    return q.weight.detach().view(num_heads, d, embed_dim).clone()


def trajectory_tolerance(device) -> dict:
    """float32 on the CPU: a different order of summation; on a GPU convolutions may run in TF32 (10-bit mantissa)."""
    return dict(rtol=1e-4, atol=1e-5) if torch.device(device).type == "cpu" else dict(rtol=2e-2, atol=2e-3)
