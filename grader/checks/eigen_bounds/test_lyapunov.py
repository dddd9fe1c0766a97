"""Hidden checks of part `lyapunov`: Lyapunov exponents of long matrix products, with renormalisation."""
import math

import torch

from grader.i18n import _
from grader.checks.eigen_bounds import reference as R


def _scalar(value, name, device):
    assert isinstance(value, torch.Tensor), _("{name} 应当是 0 维 torch.Tensor, 实际是 {value_type}").format(
            name=name, value_type=type(value).__name__)
    assert value.dim() == 0, _("{name}: 形状应为 (), 实际为 {value_shape}").format(name=name, value_shape=tuple(value.shape))
    assert value.device.type == device.type, _("{name}: 应当在 {device} 上, 实际在 {value_device} 上").format(
            name=name, device=device.type, value_device=value.device)
    return value.detach().cpu().double().item()


def _vector(value, name, n, device):
    assert isinstance(value, torch.Tensor), _("{name} 应当是 torch.Tensor, 实际是 {value_type}").format(
            name=name, value_type=type(value).__name__)
    assert tuple(value.shape) == (n,), _("{name}: 形状应为 ({n},), 实际为 {value_shape}").format(
            name=name, n=n, value_shape=tuple(value.shape))
    assert value.device.type == device.type, _("{name}: 应当在 {device} 上, 实际在 {value_device} 上").format(
            name=name, device=device.type, value_device=value.device)
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
            _("T={mats}, n={mats_shape} 时 top_lyapunov 与逐步归一化的估计 (起点 v0 = ones/sqrt(n), 除以 T) 不一致").format(
                    mats=len(mats), mats_shape=mats.shape[1]))


def test_top_long_products_stay_finite(student, device, rng):
    n = int(torch.randint(3, 7, (), generator=rng))
    for sigma in (10.0, 0.01):  # the plain product overflows to inf / underflows to 0 after a few hundred steps
        mats = R.gaussian(rng, 2000, n, n, scale=sigma)
        got = _scalar(student.call("top_lyapunov", mats.to(device)), "top_lyapunov", device)
        want = R.top_lyapunov(mats)
        assert math.isfinite(got), _("T=2000, sigma={sigma} 时 top_lyapunov 不是有限数: 每一步都要重新归一化").format(sigma=sigma)
        assert abs(got - want) <= 1e-9 * max(1.0, abs(want)), _("T=2000, sigma={sigma} 时 top_lyapunov 不对").format(
                sigma=sigma)


def test_top_gaussian_matches_newman(student, device, rng):
    n = int(torch.randint(2, 9, (), generator=rng))
    sigma = float(torch.empty(()).uniform_(0.2, 4.0, generator=rng))
    T = 3000
    got = _scalar(student.call("top_lyapunov", R.gaussian(rng, T, n, n, scale=sigma).to(device)), "top_lyapunov", device)
    want, std = R.gaussian_lyapunov(n, sigma), R.gaussian_lyapunov_std(n, T)
    assert abs(got - want) <= 6 * std, (
        _("高斯矩阵之积 (n={n}) 的 top_lyapunov 与 Newman 公式相差 {got_want_std:.1f} 个标准差").format(
                n=n, got_want_std=(got - want) / std))


def test_all_matches_reference(student, device, rng):
    for mats in _small_cases(rng):
        n = mats.shape[1]
        got = _vector(student.call("all_lyapunov", mats.to(device)), "all_lyapunov", n, device)
        R.close(got, R.all_lyapunov(mats), rtol=1e-9, atol=1e-9,
                what=_("T={mats}, n={n} 时 all_lyapunov 与 QR 估计 (Q0 = I, 降序排列) 不一致").format(mats=len(mats), n=n))
        assert abs(got.sum().item() - R.mean_log_abs_det(mats)) <= 1e-8, _("all_lyapunov 之和 != mean log|det M_t|")


def test_all_long_products_and_spectrum(student, device, rng):
    n = int(torch.randint(3, 6, (), generator=rng))
    T = 300  # the plain product overflows after about 250 steps
    mats = R.gaussian(rng, T, n, n, scale=10.0)
    got = _vector(student.call("all_lyapunov", mats.to(device)), "all_lyapunov", n, device)
    assert torch.isfinite(got).all(), _("T={T}, sigma=10 时 all_lyapunov 不是有限数: 每一步都要 (用 QR) 重新归一化").format(T=T)
    R.close(got, R.all_lyapunov(mats), rtol=1e-9, atol=1e-9, what=_("T={T}, sigma=10 时 all_lyapunov 不对").format(T=T))
    for k in range(1, n + 1):
        want, std = R.gaussian_lyapunov(n, 10.0, k), R.gaussian_lyapunov_std(n, T, k)
        assert abs(got[k - 1].item() - want) <= 6 * std, _("高斯矩阵之积的第 {k} 个指数与 Newman 的值相差太远").format(k=k)
