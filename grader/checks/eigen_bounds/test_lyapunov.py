"""Hidden checks of part `lyapunov`: Lyapunov exponents of long matrix products, with renormalisation."""
import math

import torch

from grader.checks.eigen_bounds import reference as R


def _scalar(value, name, device):
    assert isinstance(value, torch.Tensor), f"{name} should be a 0-dim torch.Tensor, got {type(value).__name__}"
    assert value.dim() == 0, f"{name}: expected shape (), got {tuple(value.shape)}"
    assert value.device.type == device.type, f"{name}: expected on {device.type}, got {value.device}"
    return value.detach().cpu().double().item()


def _vector(value, name, n, device):
    assert isinstance(value, torch.Tensor), f"{name} should be a torch.Tensor, got {type(value).__name__}"
    assert tuple(value.shape) == (n,), f"{name}: expected shape ({n},), got {tuple(value.shape)}"
    assert value.device.type == device.type, f"{name}: expected on {device.type}, got {value.device}"
    return value.detach().cpu().double()


def _structured(rng, T, n):
    """Not rotation-invariant: a fixed diagonal drift plus noise, so the start vector matters."""
    D = torch.diag(torch.linspace(1.5, 0.4, n, dtype=torch.float64))
    return D + 0.3 * R.gaussian(rng, T, n, n)


def _small_cases(rng):
    n1, n2 = [int(x) for x in torch.randint(2, 7, (2,), generator=rng)]
    T1, T2 = [int(x) for x in torch.randint(60, 150, (2,), generator=rng)]
    sigma = float(torch.empty(()).uniform_(0.3, 3.0, generator=rng))
    # QR iteration turns Q towards the growing directions, so its exponents usually come out descending; a
    # short product of nearly diagonal matrices growing down the diagonal keeps them ascending: sort them
    T3 = int(torch.randint(4, 9, (), generator=rng))
    growing = torch.diag(torch.linspace(0.4, 1.5, n2, dtype=torch.float64)) + 1e-3 * R.gaussian(rng, T3, n2, n2)
    return [R.gaussian(rng, T1, n1, n1, scale=sigma), _structured(rng, T2, n2), growing]


def test_top_matches_reference(student, device, rng):
    for mats in _small_cases(rng):
        got = _scalar(student.call("top_lyapunov", mats.to(device)), "top_lyapunov", device)
        want = R.top_lyapunov(mats)
        assert math.isfinite(got) and abs(got - want) <= 1e-9 * max(1.0, abs(want)), (
            f"top_lyapunov differs from the renormalised estimate (start v0 = ones/sqrt(n), divide by T) "
            f"for T={len(mats)}, n={mats.shape[1]}")


def test_top_long_products_stay_finite(student, device, rng):
    n = int(torch.randint(3, 7, (), generator=rng))
    for sigma in (10.0, 0.01):  # the plain product overflows to inf / underflows to 0 after a few hundred steps
        mats = R.gaussian(rng, 2000, n, n, scale=sigma)
        got = _scalar(student.call("top_lyapunov", mats.to(device)), "top_lyapunov", device)
        want = R.top_lyapunov(mats)
        assert math.isfinite(got), f"top_lyapunov is not finite for T=2000, sigma={sigma}: renormalise at every step"
        assert abs(got - want) <= 1e-9 * max(1.0, abs(want)), f"top_lyapunov is wrong for T=2000, sigma={sigma}"


def test_top_gaussian_matches_newman(student, device, rng):
    n = int(torch.randint(2, 9, (), generator=rng))
    sigma = float(torch.empty(()).uniform_(0.2, 4.0, generator=rng))
    T = 3000
    got = _scalar(student.call("top_lyapunov", R.gaussian(rng, T, n, n, scale=sigma).to(device)), "top_lyapunov", device)
    want, std = R.gaussian_lyapunov(n, sigma), R.gaussian_lyapunov_std(n, T)
    assert abs(got - want) <= 6 * std, (
        f"top_lyapunov of Gaussian products (n={n}) is {(got - want) / std:.1f} standard deviations from Newman's formula")


def test_all_matches_reference(student, device, rng):
    for mats in _small_cases(rng):
        n = mats.shape[1]
        got = _vector(student.call("all_lyapunov", mats.to(device)), "all_lyapunov", n, device)
        R.close(got, R.all_lyapunov(mats), rtol=1e-9, atol=1e-9,
                what=f"all_lyapunov differs from the QR estimate (Q0 = I, sorted descending) for T={len(mats)}, n={n}")
        assert abs(got.sum().item() - R.mean_log_abs_det(mats)) <= 1e-8, "sum of all_lyapunov != mean log|det M_t|"


def test_all_long_products_and_spectrum(student, device, rng):
    n = int(torch.randint(3, 6, (), generator=rng))
    T = 300  # the plain product overflows after about 250 steps
    mats = R.gaussian(rng, T, n, n, scale=10.0)
    got = _vector(student.call("all_lyapunov", mats.to(device)), "all_lyapunov", n, device)
    assert torch.isfinite(got).all(), f"all_lyapunov is not finite for T={T}, sigma=10: renormalise (QR) at every step"
    R.close(got, R.all_lyapunov(mats), rtol=1e-9, atol=1e-9, what=f"all_lyapunov wrong for T={T}, sigma=10")
    for k in range(1, n + 1):
        want, std = R.gaussian_lyapunov(n, 10.0, k), R.gaussian_lyapunov_std(n, T, k)
        assert abs(got[k - 1].item() - want) <= 6 * std, f"exponent {k} of Gaussian products is far from Newman's value"
