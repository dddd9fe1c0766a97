"""Input drawing shared by the hidden checks of `divergence`."""
from __future__ import annotations

import torch

from grader.i18n import _


def uniform(rng, lo, hi) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=rng, dtype=torch.float64))


def randint(rng, lo, hi) -> int:
    """An int in [lo, hi]."""
    return int(torch.randint(lo, hi + 1, (1,), generator=rng))


def random_shapes(rng, k_lo=2, k_hi=4):
    shapes = []
    for _ in range(randint(rng, k_lo, k_hi)):
        ndim = randint(rng, 1, 3)
        shapes.append(tuple(randint(rng, 1, 6) for _ in range(ndim)))
    return shapes


def randn(rng, shape, dtype=torch.float64, scale=1.0):
    return torch.randn(*shape, generator=rng, dtype=dtype) * scale


def assert_close_normwise(got, ref, rtol, msg):
    """||got - ref|| <= rtol * ||ref|| (plus a hair for zero tensors): robust to entries near zero."""
    got, ref = got.detach().cpu().double(), ref.detach().cpu().double()
    err, scale = float(torch.linalg.vector_norm(got - ref)), float(torch.linalg.vector_norm(ref))
    assert err <= rtol * scale + 1e-12, _("{msg} (相对误差 {err_scale_e:.2e}, 容差 {rtol:.0e})").format(
            msg=msg, err_scale_e=err / max(scale, 1e-300), rtol=rtol)
