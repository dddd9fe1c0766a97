"""Public self-checks of `eigen_bounds` (ships to students as public_checks.py; needs only torch).

Each check asks the notebook's functions for results on random inputs and tests properties that any
correct answer has (shapes, devices, the inequalities themselves, exact cases such as orthogonal
matrices, agreement with torch's own eigen-solvers), without revealing a reference value.
"""
import math

import torch

# the self-check beside this file: its `_` gives a message in the exercise's language (in the grader, the
# submission's)
from selfcheck import _


def _tensor(value, name, shape, device):
    assert isinstance(value, torch.Tensor), _("{name} 应该是 torch.Tensor, 实际是 {value_type}").format(
            name=name, value_type=type(value).__name__)
    assert tuple(value.shape) == tuple(shape), _("{name} 的形状应为 {shape}, 实际为 {value_shape}").format(
            name=name, shape=tuple(shape), value_shape=tuple(value.shape))
    assert value.device.type == torch.device(device).type, (
        _("{name} 应该在输入所在的设备 {device} 上, 实际在 {value_device} (创建张量时请使用 device=X.device)").format(
                name=name, device=device, value_device=value.device))
    assert value.is_floating_point(), _("{name} 应该是实数浮点张量, 实际 dtype 为 {value_dtype}").format(
            name=name, value_dtype=value.dtype)
    assert torch.isfinite(value).all(), _("{name} 含有 nan 或 inf").format(name=name)
    return value.detach().cpu().double()


def _close(actual, expected, rtol, atol, what):
    """|actual - expected| <= atol + rtol |expected| elementwise."""
    actual = actual.detach().cpu().double().reshape(-1)
    expected = expected.detach().cpu().double().reshape(-1)
    assert actual.shape == expected.shape, _("{what}: 元素个数应为 {expected_numel}, 实际为 {actual_numel}").format(
            what=what, expected_numel=expected.numel(), actual_numel=actual.numel())
    err = (actual - expected).abs()
    assert (err <= atol + rtol * expected.abs()).all(), _("{what} (最大误差 {err:.2e})").format(
            what=what, err=err.max().item())


def _orthogonal(rng, n):
    Q, R = torch.linalg.qr(torch.randn(n, n, generator=rng, dtype=torch.float64))
    return Q * torch.sign(torch.diagonal(R))


def _psd(rng, n, rank=None):
    G = torch.randn(n, rank or n, generator=rng, dtype=torch.float64)
    A = G @ G.T / (rank or n)
    return (A + A.T) / 2


# -- product_bounds ------------------------------------------------------------------------------
def check_product_bounds__shapes_and_device(student, device, rng):
    m, n, p = 5, 3, 4
    A = torch.randn(m, n, generator=rng, dtype=torch.float64)
    B = torch.randn(n, p, generator=rng, dtype=torch.float64)
    U = student.call("singular_value_bounds", A.to(device), B.to(device))
    _tensor(U, "singular_value_bounds(A, B) (A: 5x3, B: 3x4)", (min(m, p),), device)
    _tensor(student.call("spectral_radius_bound", A.to(device), B.to(device)), "spectral_radius_bound(A, B)", (), device)
    C = torch.randn(n, n, generator=rng, dtype=torch.float64)
    _tensor(student.call("condition_bound", C.to(device), C.T.to(device)), "condition_bound(A, B)", (), device)


def check_product_bounds__bounds_hold(student, device, rng):
    n = 6
    A = torch.randn(n, n, generator=rng, dtype=torch.float64)
    B = torch.randn(n, n, generator=rng, dtype=torch.float64)
    B[:, 0] *= 1e-4  # B 接近奇异
    s = torch.linalg.svdvals(A @ B)
    U = _tensor(student.call("singular_value_bounds", A.to(device), B.to(device)), "singular_value_bounds", (n,), device)
    assert (s <= U * (1 + 1e-9) + 1e-10).all(), _("存在 k 使 σ_{k+1}(AB) > U[k]: 这不是一个上界, 检查下标 (0 起算时 a + b = k)")
    rho = _tensor(student.call("spectral_radius_bound", A.to(device), B.to(device)), "spectral_radius_bound", (), device)
    assert torch.linalg.eigvals(A @ B).abs().max() <= rho * (1 + 1e-9), _("AB 的谱半径超过了 spectral_radius_bound")
    assert s[0] <= rho * (1 + 1e-9), _("||AB||_2 超过了 spectral_radius_bound")
    kappa = _tensor(student.call("condition_bound", A.to(device), B.to(device)), "condition_bound", (), device)
    assert s[0] / s[-1] <= kappa * (1 + 1e-6), _("κ(AB) 超过了 condition_bound")


def check_product_bounds__scaled_orthogonal_is_tight(student, device, rng):
    # A = a Q1, B = b Q2: 所有奇异值都等于 a 或 b, 因此每个界都恰好取等号
    n, a, b = 5, 2.5, 0.4
    A, B = a * _orthogonal(rng, n), b * _orthogonal(rng, n)
    U = _tensor(student.call("singular_value_bounds", A.to(device), B.to(device)), "singular_value_bounds", (n,), device)
    _close(U, torch.full((n,), a * b, dtype=torch.float64), rtol=1e-9, atol=1e-12, what=_("对 A = aQ1, B = bQ2, 每个 U[k] 都应等于 a·b"))
    rho = _tensor(student.call("spectral_radius_bound", A.to(device), B.to(device)), "spectral_radius_bound", (), device)
    assert abs(rho.item() - a * b) < 1e-9, _("对 A = aQ1, B = bQ2, spectral_radius_bound 应等于 a·b (用的是谱范数吗?)")
    kappa = _tensor(student.call("condition_bound", A.to(device), B.to(device)), "condition_bound", (), device)
    assert abs(kappa.item() - 1.0) < 1e-9, _("正交矩阵 (乘以常数) 的条件数为 1, condition_bound 应返回 1")


# -- psd_bounds ----------------------------------------------------------------------------------
def check_psd_bounds__shapes_and_device(student, device, rng):
    n = 4
    A, B = _psd(rng, n), _psd(rng, n)
    out = student.call("psd_product_eigen_bounds", A.to(device), B.to(device))
    assert isinstance(out, (tuple, list)) and len(out) == 2, _("psd_product_eigen_bounds 应返回二元组 (lo, hi)")
    _tensor(out[0], "lo", (), device)
    _tensor(out[1], "hi", (), device)
    _tensor(student.call("psd_product_eigenvalues", A.to(device), B.to(device)), "psd_product_eigenvalues", (n,), device)


def check_psd_bounds__eigenvalues_inside(student, device, rng):
    n = 6
    A, B = _psd(rng, n), _psd(rng, n, rank=3)  # B 奇异: AB 有零特征值
    lo, hi = student.call("psd_product_eigen_bounds", A.to(device), B.to(device))
    lo, hi = _tensor(lo, "lo", (), device), _tensor(hi, "hi", (), device)
    true = torch.linalg.eigvals(A @ B)
    assert true.imag.abs().max() < 1e-8, _("(检查本身的前提) AB 的特征值应为实数")
    w = true.real
    assert lo <= hi, _("lo 应不大于 hi (torch.linalg.eigvalsh 返回的特征值按升序排列)")
    assert lo >= -1e-9, _("两个半正定矩阵的 λ_min 之积不可能为负")
    assert (w >= lo - 1e-9).all() and (w <= hi + 1e-9).all(), _("AB 的某个特征值落在 [lo, hi] 之外")


def check_psd_bounds__eigenvalues_agree_with_torch(student, device, rng):
    n = 5
    A, B = _psd(rng, n), _psd(rng, n)
    w = _tensor(student.call("psd_product_eigenvalues", A.to(device), B.to(device)), "psd_product_eigenvalues", (n,), device)
    want = torch.sort(torch.linalg.eigvals(A @ B).real).values
    _close(w, want, rtol=1e-6, atol=1e-9, what=_("psd_product_eigenvalues 应等于 AB 的特征值 (实数, 升序)"))


# -- lyapunov ------------------------------------------------------------------------------------
def check_lyapunov__shapes_and_device(student, device, rng):
    T, n = 20, 3
    mats = torch.randn(T, n, n, generator=rng, dtype=torch.float64)
    top = student.call("top_lyapunov", mats.to(device))
    assert isinstance(top, torch.Tensor) and top.dim() == 0, _("top_lyapunov 应返回 0 维张量")
    _tensor(top, "top_lyapunov", (), device)
    _tensor(student.call("all_lyapunov", mats.to(device)), "all_lyapunov", (n,), device)


def check_lyapunov__scaled_orthogonal_exact(student, device, rng):
    # M_t = c_t Q_t (Q_t 正交): 任何向量的长度每步恰好乘以 c_t, 所有指数都等于 mean(log c_t)
    T, n = 50, 4
    c = torch.exp(torch.randn(T, generator=rng, dtype=torch.float64))
    mats = torch.stack([c[t] * _orthogonal(rng, n) for t in range(T)])
    want = torch.log(c).mean().item()
    top = _tensor(student.call("top_lyapunov", mats.to(device)), "top_lyapunov", (), device)
    assert abs(top.item() - want) < 1e-9, _("M_t = c_t·Q_t 时 top_lyapunov 应等于 mean(log c_t) (自然对数, 除以 T)")
    spec = _tensor(student.call("all_lyapunov", mats.to(device)), "all_lyapunov", (n,), device)
    assert (spec - want).abs().max() < 1e-9, _("M_t = c_t·Q_t 时 all_lyapunov 的每个分量都应等于 mean(log c_t)")


def check_lyapunov__long_product_is_finite(student, device, rng):
    T, n, sigma = 2000, 4, 10.0  # 直接连乘会在约 250 步后溢出为 inf
    mats = sigma * torch.randn(T, n, n, generator=rng, dtype=torch.float64)
    top = _tensor(student.call("top_lyapunov", mats.to(device)), "top_lyapunov (T=2000, σ=10)", (), device)
    spec = _tensor(student.call("all_lyapunov", mats[:300].to(device)), "all_lyapunov (T=300, σ=10)", (n,), device)
    assert top.item() > 0 and spec[0].item() > 0, _("σ=10 时乘积爆炸, 最大指数应为正")


def check_lyapunov__sum_is_mean_log_det(student, device, rng):
    T, n = 50, 5
    mats = torch.randn(T, n, n, generator=rng, dtype=torch.float64)
    spec = _tensor(student.call("all_lyapunov", mats.to(device)), "all_lyapunov", (n,), device)
    want = torch.linalg.slogdet(mats)[1].mean().item()
    assert abs(spec.sum().item() - want) < 1e-8, _("all_lyapunov 之和应等于 mean_t log|det M_t| (每步 QR 的 |diag R| 之积 = |det|)")
    assert (spec[:-1] >= spec[1:]).all(), _("all_lyapunov 应按降序排列")


# -- critical_sigma ------------------------------------------------------------------------------
def _number(value, name):
    if isinstance(value, torch.Tensor):
        assert value.numel() == 1, _("{name} 应为一个数").format(name=name)
        value = value.item()
    assert type(value) in (int, float) and math.isfinite(value), _("{name} 应为有限的 Python float").format(name=name)
    return float(value)


# The statement's tolerance (float32 is enough): lambda_1 within 1e-5 * max(1, |lambda_1|), sigma* relatively 1e-5
TOL = 1e-5


def _allowed(*values):
    """The error the statement allows on a sum of the given lambda_1 values: each may be off by TOL * max(1, |v|)."""
    return sum(TOL * max(1.0, abs(v)) for v in values)


def check_critical_sigma__zero_exponent(student, rng):
    for n in (1, 2, 7, 64):
        sigma = _number(student.call("critical_sigma", n), f"critical_sigma({n})")
        assert sigma > 0, _("critical_sigma({n}) 应为正数").format(n=n)
        lam = _number(student.call("gaussian_top_lyapunov", n, sigma), f"gaussian_top_lyapunov({n}, σ)")
        # sigma* off by a relative TOL moves lambda_1 by TOL, lambda_1 itself may be off by TOL
        assert abs(lam) <= 2 * TOL, _("在 σ = critical_sigma({n}) 处 gaussian_top_lyapunov 应为 0").format(n=n)


def check_critical_sigma__scaling_in_sigma(student, rng):
    n = 5
    base = _number(student.call("gaussian_top_lyapunov", n, 1.0), "gaussian_top_lyapunov(5, 1.0)")
    for sigma in (0.1, 3.0):
        lam = _number(student.call("gaussian_top_lyapunov", n, sigma), f"gaussian_top_lyapunov(5, {sigma})")
        assert abs(lam - base - math.log(sigma)) <= _allowed(lam, base), _("把每个矩阵乘以 σ, 指数应恰好增加 log σ (自然对数)")


def check_critical_sigma__large_n(student):
    n = 10 ** 6
    sigma = _number(student.call("critical_sigma", n), "critical_sigma(10**6)")
    assert abs(sigma * math.sqrt(n) - 1) < 1e-3, _("n 很大时 critical_sigma(n) 应接近 1/√n")
