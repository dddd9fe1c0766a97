"""Surviving mutants of the `eigen_bounds` solutions, reviewed as equivalent (instructor side: never ships).

`make mutants` leaves these out of the score; ``tests/test_equivalent_mutants.py`` checks that each is still
generated with the diff below and that it agrees with the reference on ``PROBES`` under every grading seed.
"""
from __future__ import annotations

import math

import torch

from grader.checks.eigen_bounds import reference as R
from grader.course.mutate import Equivalent, Probe

F64_INPUTS = ('the statement grades parts 1-3 on float64 inputs only ("第 1–3 部分的评分输入都是 float64"), so a '
              "dtype fixed to float64 is the inputs' dtype")
PROMOTE0 = ("the accumulator starts as a float32 zero; adding the first float64 term (0-dim to 0-dim, or (n,) to "
            "(n,)) promotes it to float64, and 0.0 is exact in both: the same sums")
FRESH_LOCAL = "the in-place operation changes only a tensor this function has just made and reads once: the same values"
LOWER_TRIANGLE = ("eigvalsh reads one triangle of S = root @ B @ root, which is symmetric up to rounding: without "
                  "the symmetrisation the eigenvalues move by rounding only, far inside the float64 tolerance")
FLOAT32_ALLOWED = ('the statement allows float32 here ("这里用 float32 计算就够了", digamma on a default float32 '
                   "tensor), with a tolerance of 1e-5 that float32's digamma meets")


def _draw(rng, lo, hi):
    return int(torch.randint(lo, hi + 1, (1,), generator=rng))


def _product(ns, rng, device):
    out = []
    for m, n, p in ((_draw(rng, 1, 6), _draw(rng, 1, 6), _draw(rng, 1, 6)), (6, 3, 5), (4, 4, 4)):
        A, B = R.gaussian(rng, m, n).to(device), R.gaussian(rng, n, p).to(device)
        out += [ns["singular_value_bounds"](A, B), ns["spectral_radius_bound"](A, B)]
        if m >= n >= p:
            out.append(ns["condition_bound"](A, B))
    return out


def _psd(ns, rng, device):
    out = []
    n = _draw(rng, 2, 7)
    for A, B in ((R.psd(rng, n), R.psd(rng, n)), (R.psd(rng, n, rank=1), R.psd(rng, n, jitter=0.1)),
                 (R.psd_rounded(rng, n, n - 1), R.psd(rng, n))):
        A, B = A.to(device), B.to(device)
        out += [ns["psd_product_eigen_bounds"](A, B), ns["psd_product_eigenvalues"](A, B)]
    return out


def _lyapunov(ns, rng, device):
    out = []
    n = _draw(rng, 1, 6)
    for mats in (R.gaussian(rng, _draw(rng, 1, 60), n, n, scale=float(torch.empty(()).uniform_(0.1, 10, generator=rng))),
                 torch.diag(torch.linspace(1.5, 0.4, n, dtype=torch.float64)) + 0.3 * R.gaussian(rng, 40, n, n),
                 R.gaussian(rng, 400, n, n, scale=10.0)):
        mats = mats.to(device)
        out += [ns["top_lyapunov"](mats), ns["all_lyapunov"](mats)]
    return out


def _critical(ns, rng, device):
    """lambda_1 within 1e-5 * max(1, |lambda_1|) and sigma* within a relative 1e-5, as the statement grades them:
    returned as lambda_1 / max(1, |lambda_1|) and log sigma*, both compared with an absolute 1e-5."""
    out = []
    for n in (1, 2, 3, _draw(rng, 4, 40), _draw(rng, 41, 2000)):
        sigma = math.exp(float(torch.empty(()).uniform_(-3, 3, generator=rng)))
        lam = ns["gaussian_top_lyapunov"](n, sigma)
        out += [lam / max(1.0, abs(lam)), math.log(ns["critical_sigma"](n))]
    return out


PROBES = {
    "product_bounds": Probe(_product, rtol=1e-9, atol=1e-12),  # float64, as parts 1-3 are graded
    "psd_bounds": Probe(_psd, rtol=1e-9, atol=1e-9),
    "lyapunov": Probe(_lyapunov, rtol=1e-9, atol=1e-9),
    "critical_sigma": Probe(_critical, rtol=0.0, atol=1e-5),
}


EQUIVALENT = [
    Equivalent('e67c27dcf5', 'product_bounds', '-    sA = torch.zeros(r, dtype=A.dtype, device=A.device)\n+    sA = torch.zeros(r, dtype=torch.float64, device=A.device)',
               F64_INPUTS),
    Equivalent('df797c51f9', 'product_bounds', '-    sB = torch.zeros(r, dtype=B.dtype, device=B.device)\n+    sB = torch.zeros(r, dtype=torch.float64, device=B.device)',
               F64_INPUTS),
    Equivalent('e945af5f47', 'product_bounds', '-    U = torch.empty(r, dtype=A.dtype, device=A.device)\n+    U = torch.empty(r, dtype=torch.float64, device=A.device)',
               F64_INPUTS),
    Equivalent('56512a2793', 'psd_bounds', '-    root = (V * w.clamp(min=0).sqrt()) @ V.mT  # A^{1/2}\n+    root = (V * w.clamp(min=0).sqrt_()) @ V.mT  # A^{1/2}',
               FRESH_LOCAL),
    Equivalent('90866805b8', 'psd_bounds', '-    root = (V * w.clamp(min=0).sqrt()) @ V.mT  # A^{1/2}\n+    root = (V * w.clamp_(min=0).sqrt()) @ V.mT  # A^{1/2}',
               FRESH_LOCAL),
    Equivalent('fa8030127d', 'psd_bounds', '-    return torch.linalg.eigvalsh((S + S.mT) / 2)\n+    return torch.linalg.eigvalsh((S + S) / 2)',
               LOWER_TRIANGLE),
    Equivalent('7607b38ddf', 'lyapunov', '-    total = torch.zeros((), dtype=mats.dtype, device=mats.device)\n+    total = torch.zeros((), dtype=None, device=mats.device)',
               PROMOTE0),
    Equivalent('b867ca694f', 'lyapunov', '-    total = torch.zeros((), dtype=mats.dtype, device=mats.device)\n+    total = torch.zeros((), device=mats.device)',
               PROMOTE0),
    Equivalent('fb3d255c7e', 'lyapunov', '-    total = torch.zeros(n, dtype=mats.dtype, device=mats.device)\n+    total = torch.zeros(n, dtype=None, device=mats.device)',
               PROMOTE0),
    Equivalent('332a074076', 'lyapunov', '-    total = torch.zeros(n, dtype=mats.dtype, device=mats.device)\n+    total = torch.zeros(n, device=mats.device)',
               PROMOTE0),
    Equivalent('f77398b980', 'lyapunov', '-    v = torch.ones(n, dtype=mats.dtype, device=mats.device) / math.sqrt(n)\n+    v = torch.ones(n, dtype=torch.float64, device=mats.device) / math.sqrt(n)',
               F64_INPUTS),
    Equivalent('7853945d52', 'lyapunov', '-    total = torch.zeros((), dtype=mats.dtype, device=mats.device)\n+    total = torch.zeros((), dtype=torch.float32, device=mats.device)',
               PROMOTE0),
    Equivalent('e5e68a6d32', 'lyapunov', '-    total = torch.zeros((), dtype=mats.dtype, device=mats.device)\n+    total = torch.zeros((), dtype=torch.float64, device=mats.device)',
               F64_INPUTS),
    Equivalent('6ccf8d4d59', 'lyapunov', '-        total = total + torch.log(norm)\n+        total += torch.log(norm)',
               FRESH_LOCAL),
    Equivalent('846ed0bede', 'lyapunov', '-        v = v / norm\n+        v /= norm',
               FRESH_LOCAL),
    Equivalent('b5ae3d885d', 'lyapunov', '-    Q = torch.eye(n, dtype=mats.dtype, device=mats.device)\n+    Q = torch.eye(n, dtype=torch.float64, device=mats.device)',
               F64_INPUTS),
    Equivalent('6357cbef30', 'lyapunov', '-    total = torch.zeros(n, dtype=mats.dtype, device=mats.device)\n+    total = torch.zeros(n, dtype=torch.float32, device=mats.device)',
               PROMOTE0),
    Equivalent('0801aaec83', 'lyapunov', '-    total = torch.zeros(n, dtype=mats.dtype, device=mats.device)\n+    total = torch.zeros(n, dtype=torch.float64, device=mats.device)',
               F64_INPUTS),
    Equivalent('53ed3f725c', 'lyapunov', '-        total = total + torch.log(torch.diagonal(R).abs())\n+        total += torch.log(torch.diagonal(R).abs())',
               FRESH_LOCAL),
    Equivalent('2cb5329c9d', 'lyapunov', '-        total = total + torch.log(torch.diagonal(R).abs())\n+        total = total + torch.log(torch.diagonal(R).abs_())',
               FRESH_LOCAL),
    Equivalent('75733eabf6', 'critical_sigma', '-    psi = torch.special.digamma(torch.tensor(n / 2, dtype=torch.float64)).item()\n+    psi = torch.special.digamma(torch.tensor(n / 2, dtype=None)).item()',
               FLOAT32_ALLOWED),
    Equivalent('277c6575f4', 'critical_sigma', '-    psi = torch.special.digamma(torch.tensor(n / 2, dtype=torch.float64)).item()\n+    psi = torch.special.digamma(torch.tensor(n / 2, )).item()',
               FLOAT32_ALLOWED),
    Equivalent('3a482c7eac', 'critical_sigma', '-    psi = torch.special.digamma(torch.tensor(n / 2, dtype=torch.float64)).item()\n+    psi = torch.special.digamma(torch.tensor(n / 2, dtype=None)).item()',
               FLOAT32_ALLOWED),
    Equivalent('af8caad66e', 'critical_sigma', '-    psi = torch.special.digamma(torch.tensor(n / 2, dtype=torch.float64)).item()\n+    psi = torch.special.digamma(torch.tensor(n / 2, )).item()',
               FLOAT32_ALLOWED),
    Equivalent('d6d88c7dd5', 'critical_sigma', '-    psi = torch.special.digamma(torch.tensor(n / 2, dtype=torch.float64)).item()\n+    psi = torch.special.digamma(torch.tensor(n / 2, dtype=torch.float32)).item()',
               FLOAT32_ALLOWED),
    Equivalent('b06fb2d390', 'critical_sigma', '-    psi = torch.special.digamma(torch.tensor(n / 2, dtype=torch.float64)).item()\n+    psi = torch.special.digamma(torch.tensor(n / 2, dtype=torch.float32)).item()',
               FLOAT32_ALLOWED),
]
