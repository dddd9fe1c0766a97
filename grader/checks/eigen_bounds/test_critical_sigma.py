"""Hidden checks of part `critical_sigma`: Newman's formula and the sigma that makes lambda_1 vanish."""
import math

import torch

from grader.i18n import _
from grader.checks.eigen_bounds import reference as R

# The statement allows float32 (torch.special.digamma on a default tensor): its relative rounding, carried
# through exp(), stays below 1e-6; the approximation log(n/2) - 1/n is off by 1e-4 or more for small n.
RTOL = 1e-5


def _number(value, name):
    if isinstance(value, torch.Tensor):
        assert value.numel() == 1, _("{name} 应当是一个数, 实际形状为 {value_shape}").format(
                name=name, value_shape=tuple(value.shape))
        value = value.detach().cpu().double().item()
    assert type(value) in (int, float), _("{name} 应当是浮点数, 实际是 {value_type}").format(
            name=name, value_type=type(value).__name__)
    assert math.isfinite(value), _("{name} 不是有限数").format(name=name)
    return float(value)


def _sizes(rng, k=5):
    small = [int(x) for x in torch.randint(1, 12, (k,), generator=rng)]
    large = [int(x) for x in torch.randint(12, 600, (k,), generator=rng)]
    return small + large


def test_gaussian_top_lyapunov(student, rng):
    for n in _sizes(rng):
        sigma = math.exp(float(torch.empty(()).uniform_(-3.0, 3.0, generator=rng)))
        got = _number(student.call("gaussian_top_lyapunov", n, sigma), "gaussian_top_lyapunov")
        want = R.gaussian_lyapunov(n, sigma)
        assert abs(got - want) <= RTOL * max(1.0, abs(want)), _("gaussian_top_lyapunov({n}, sigma) 不对").format(n=n)


def test_critical_sigma_matches_reference(student, rng):
    for n in _sizes(rng) + [2, 10 ** 5]:
        got = _number(student.call("critical_sigma", n), "critical_sigma")
        want = R.critical_sigma(n)
        assert abs(got - want) <= RTOL * want, _("critical_sigma({n}) 不对").format(n=n)


def test_critical_sigma_large_n(student):
    for n in (10 ** 4, 10 ** 6):
        got = _number(student.call("critical_sigma", n), "critical_sigma")
        assert abs(got * math.sqrt(n) - 1.0) < 1e-3, _("critical_sigma({n}) * sqrt({n}) 应当接近 1").format(n=n)


def test_critical_sigma_zeroes_the_exponent(student, rng):
    n = int(torch.randint(2, 9, (), generator=rng))
    T = 3000
    sigma = _number(student.call("critical_sigma", n), "critical_sigma")
    assert sigma > 0, _("critical_sigma 必须是正数")
    lam = R.top_lyapunov(R.gaussian(rng, T, n, n, scale=sigma))
    assert abs(lam) <= 6 * R.gaussian_lyapunov_std(n, T), (
        _("{n}x{n} 的 N(0, critical_sigma^2) 矩阵之积的 lambda_1 不接近 0").format(n=n))
