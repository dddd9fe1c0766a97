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
