"""Hidden reference computations of `eigen_bounds` (never shipped to students).

Every value a hidden check compares a submission with is computed here, on the check's side, in float64
on the CPU.
"""
from __future__ import annotations

import math

import numpy as np
import torch

EULER_GAMMA = 0.57721566490153286060651209008240243


def checked_tensor(value, name, shape, device) -> torch.Tensor:
    """The student's tensor after checking type, shape, device and dtype, as float64 on the CPU."""
    assert isinstance(value, torch.Tensor), f"{name} should be a torch.Tensor, got {type(value).__name__}"
    assert tuple(value.shape) == tuple(shape), f"{name}: expected shape {tuple(shape)}, got {tuple(value.shape)}"
    assert value.device.type == device.type, f"{name}: expected on {device.type}, got {value.device}"
    assert value.is_floating_point(), f"{name}: expected a real floating tensor, got {value.dtype}"
    # parts 1-3 are graded on float64 inputs, and the statement asks for the input's dtype
    assert value.dtype == torch.float64, f"{name}: expected float64 like the inputs, got {value.dtype}"
    return value.detach().cpu().double()


def close(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float, what: str) -> None:
    """|actual - expected| <= atol + rtol |expected| elementwise (no torch.testing: its import is slow)."""
    actual = actual.detach().cpu().double().reshape(-1)
    expected = torch.as_tensor(expected).detach().cpu().double().reshape(-1)
    assert actual.shape == expected.shape, f"{what}: expected {expected.numel()} values, got {actual.numel()}"
    assert torch.isfinite(actual).all(), f"{what}: result contains nan/inf"
    err = (actual - expected).abs()
    bad = err > atol + rtol * expected.abs()
    assert not bad.any(), f"{what} ({int(bad.sum())} of {bad.numel()} values off, largest error {err.max().item():.2e})"


# -- inputs ------------------------------------------------------------------------------------
def gaussian(rng, *shape, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=rng, dtype=torch.float64)


def orthogonal(rng, n: int) -> torch.Tensor:
    """A Haar-distributed orthogonal matrix (QR of a Gaussian matrix with the sign fix)."""
    Q, R = torch.linalg.qr(gaussian(rng, n, n))
    return Q * torch.sign(torch.diagonal(R))


def with_singular_values(rng, m: int, n: int, s: torch.Tensor) -> torch.Tensor:
    """An m x n matrix U diag(s) V^T with random orthonormal U, V and the given singular values."""
    k = min(m, n)
    U = orthogonal(rng, m)[:, :k]
    V = orthogonal(rng, n)[:, :k]
    return (U * s[:k].to(torch.float64)) @ V.T


def nearly_singular(rng, m: int, n: int, smallest: float = 1e-6) -> torch.Tensor:
    """Singular values log-uniform in [smallest, 3], the largest in [1, 3], the smallest exactly `smallest`."""
    k = min(m, n)
    logs = torch.rand(k, generator=rng, dtype=torch.float64) * (math.log(3.0) - math.log(smallest)) + math.log(smallest)
    s = torch.sort(logs.exp(), descending=True).values
    s[0] = 1.0 + 2.0 * torch.rand((), generator=rng, dtype=torch.float64)
    s[-1] = smallest
    return with_singular_values(rng, m, n, s)


def psd(rng, n: int, rank: int | None = None, jitter: float = 0.0) -> torch.Tensor:
    """A symmetric positive semi-definite n x n matrix G G^T / rank (+ jitter I), exactly symmetric."""
    rank = n if rank is None else rank
    G = gaussian(rng, n, rank)
    A = G @ G.T / rank + jitter * torch.eye(n, dtype=torch.float64)
    return (A + A.T) / 2


def psd_rounded(rng, n: int, rank: int) -> torch.Tensor:
    """PSD up to rounding: rank ``rank`` plus eigenvalues of -1e-13, the size rounding leaves in a
    computed Gram matrix.  eigh reports them negative, so sqrt without clamping gives nan."""
    Q = orthogonal(rng, n)
    w = torch.full((n,), -1e-13, dtype=torch.float64)
    w[:rank] = 0.5 + torch.rand(rank, generator=rng, dtype=torch.float64)
    A = (Q * w) @ Q.T
    return (A + A.T) / 2


# -- part product_bounds -----------------------------------------------------------------------
def _padded_svdvals(X: torch.Tensor, r: int) -> torch.Tensor:
    s = torch.linalg.svdvals(X.detach().cpu().double())
    out = torch.zeros(max(r, s.numel()), dtype=torch.float64)
    out[: s.numel()] = s
    return out[:r]


def singular_value_bounds(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """U[k] = min_{a+b=k} s_a(A) s_b(B) (0-based, zero-padded), k < min(m, p): a bound on s_k(AB)."""
    r = min(A.shape[0], B.shape[1])
    sA, sB = _padded_svdvals(A, r), _padded_svdvals(B, r)
    return torch.stack([min(sA[a] * sB[k - a] for a in range(k + 1)) for k in range(r)])


def spectral_bound(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svdvals(A.cpu().double())[0] * torch.linalg.svdvals(B.cpu().double())[0]


def condition_number(X: torch.Tensor) -> torch.Tensor:
    s = torch.linalg.svdvals(X.cpu().double())
    return s[0] / s[-1]


def condition_bound(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    return condition_number(A) * condition_number(B)


# -- part psd_bounds ---------------------------------------------------------------------------
def psd_bounds(A: torch.Tensor, B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    wA = torch.linalg.eigvalsh(A.cpu().double())
    wB = torch.linalg.eigvalsh(B.cpu().double())
    return wA[0] * wB[0], wA[-1] * wB[-1]


def psd_product_eigenvalues(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Ascending eigenvalues of AB through the similar symmetric matrix A^{1/2} B A^{1/2}."""
    w, V = torch.linalg.eigh(A.cpu().double())
    root = (V * w.clamp(min=0).sqrt()) @ V.T
    S = root @ B.cpu().double() @ root
    return torch.linalg.eigvalsh((S + S.T) / 2)


# -- part lyapunov -----------------------------------------------------------------------------
def top_lyapunov(mats: torch.Tensor) -> float:
    """(1/T) sum_t log ||M_t v_{t-1}||, v_0 = ones/sqrt(n), v_t the renormalised image (numpy: fast small loops)."""
    M = mats.detach().cpu().double().numpy()
    T, n, _ = M.shape
    v = np.ones(n) / math.sqrt(n)
    total = 0.0
    for t in range(T):
        v = M[t] @ v
        norm = math.sqrt(float(v @ v))
        total += math.log(norm)
        v = v / norm
    return total / T


def all_lyapunov(mats: torch.Tensor) -> torch.Tensor:
    """QR iteration from Q_0 = I: (1/T) sum_t log |diag R_t|, sorted in descending order."""
    M = mats.detach().cpu().double().numpy()
    T, n, _ = M.shape
    Q = np.eye(n)
    total = np.zeros(n)
    for t in range(T):
        Q, R = np.linalg.qr(M[t] @ Q)
        total += np.log(np.abs(np.diagonal(R)))
    return torch.sort(torch.from_numpy(total / T), descending=True).values


def mean_log_abs_det(mats: torch.Tensor) -> float:
    return torch.linalg.slogdet(mats.detach().cpu().double())[1].mean().item()


# -- part critical_sigma -----------------------------------------------------------------------
def digamma_half(n: int) -> float:
    """psi(n/2) exactly from the recurrences (no special-function library)."""
    if n % 2 == 0:
        return -EULER_GAMMA + math.fsum(1.0 / j for j in range(1, n // 2))
    return -EULER_GAMMA - 2 * math.log(2.0) + math.fsum(2.0 / (2 * j - 1) for j in range(1, (n - 1) // 2 + 1))


def gaussian_lyapunov(n: int, sigma: float, k: int = 1) -> float:
    """Newman (1986): the k-th Lyapunov exponent of products of n x n matrices with N(0, sigma^2) entries."""
    return math.log(sigma) + 0.5 * (math.log(2.0) + digamma_half(n - k + 1))


def gaussian_lyapunov_std(n: int, T: int, k: int = 1) -> float:
    """Standard deviation of the T-step estimate of gaussian_lyapunov: the T terms are i.i.d.
    (log sigma + log(chi_{n-k+1})), whose variance is psi'((n-k+1)/2)/4."""
    m = n - k + 1
    # trigamma at half-integers, by the recurrences: psi'(1) = pi^2/6, psi'(1/2) = pi^2/2
    if m % 2 == 0:
        tri = math.pi ** 2 / 6 - math.fsum(1.0 / j ** 2 for j in range(1, m // 2))
    else:
        tri = math.pi ** 2 / 2 - math.fsum(1.0 / (j - 0.5) ** 2 for j in range(1, (m - 1) // 2 + 1))
    return 0.5 * math.sqrt(tri / T)


def critical_sigma(n: int) -> float:
    return math.exp(-0.5 * (math.log(2.0) + digamma_half(n)))
