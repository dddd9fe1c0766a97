"""Hidden checks of part `product_bounds`: singular-value, norm and condition-number bounds for AB."""
import torch

from grader.i18n import _
from grader.checks.eigen_bounds import reference as R


def _dims(rng, lo=1, hi=7):
    return [int(x) for x in torch.randint(lo, hi + 1, (3,), generator=rng)]


def _cases(rng):
    """Square, rectangular (also with a thin middle dimension: rank(AB) < min(m, p)), nearly singular."""
    n = int(torch.randint(2, 8, (), generator=rng))
    m, k, p = _dims(rng)
    m2, p2 = [int(x) for x in torch.randint(4, 8, (2,), generator=rng)]
    k2 = int(torch.randint(1, 3, (), generator=rng))
    q = int(torch.randint(3, 7, (), generator=rng))
    return [
        (R.gaussian(rng, n, n), R.gaussian(rng, n, n)),
        (R.gaussian(rng, m, k), R.gaussian(rng, k, p)),
        (R.gaussian(rng, m2, k2, scale=2.0), R.gaussian(rng, k2, p2)),
        (R.nearly_singular(rng, q, q), R.nearly_singular(rng, q, q, smallest=1e-5)),
        (R.nearly_singular(rng, m2, q), R.gaussian(rng, q, p2, scale=0.5)),
    ]


def _scale(A, B):
    return (torch.linalg.matrix_norm(A, 2) * torch.linalg.matrix_norm(B, 2)).item()


def test_singular_value_bounds_match_reference(student, device, rng):
    for A, B in _cases(rng):
        U = R.checked_tensor(student.call("singular_value_bounds", A.to(device), B.to(device)),
                    f"singular_value_bounds for A {tuple(A.shape)}, B {tuple(B.shape)}", (min(A.shape[0], B.shape[1]),), device)
        R.close(U, R.singular_value_bounds(A, B), rtol=1e-7, atol=1e-11 * _scale(A, B), what=_("A {A_shape}, B {B_shape} 时 singular_value_bounds 不对").format(
                A_shape=tuple(A.shape), B_shape=tuple(B.shape)))


def test_singular_value_bounds_hold(student, device, rng):
    for A, B in _cases(rng):
        U = R.checked_tensor(student.call("singular_value_bounds", A.to(device), B.to(device)),
                    "singular_value_bounds", (min(A.shape[0], B.shape[1]),), device)
        s = torch.linalg.svdvals(A @ B)
        tol = 1e-10 * _scale(A, B)
        assert torch.isfinite(U).all(), _("singular_value_bounds 返回了 nan/inf")
        assert (s[: len(U)] <= U * (1 + 1e-9) + tol).all(), (
            _("A {A_shape}, B {B_shape} 时有一个界不成立: {formula}").format(
                formula="sigma_{k+1}(AB) > U[k]", A_shape=tuple(A.shape), B_shape=tuple(B.shape)))


def test_spectral_radius_bound(student, device, rng):
    for A, B in _cases(rng):
        got = R.checked_tensor(student.call("spectral_radius_bound", A.to(device), B.to(device)), "spectral_radius_bound", (), device)
        R.close(got, R.spectral_bound(A, B), rtol=1e-9, atol=1e-12, what=_("A {A_shape} 时 spectral_radius_bound != ||A||_2 ||B||_2").format(
                A_shape=tuple(A.shape)))
        P = A @ B
        assert torch.linalg.matrix_norm(P, 2) <= got * (1 + 1e-9), _("||AB||_2 超过了 spectral_radius_bound")
        if P.shape[0] == P.shape[1]:
            assert torch.linalg.eigvals(P).abs().max() <= got * (1 + 1e-9), _("AB 的谱半径超过了这个界")


def test_condition_bound(student, device, rng):
    n = int(torch.randint(2, 8, (), generator=rng))
    m, k, p = sorted(_dims(rng, 2, 8), reverse=True)  # m >= k >= p: kappa(AB) <= kappa(A) kappa(B) holds
    q = int(torch.randint(3, 7, (), generator=rng))
    cases = [
        (R.gaussian(rng, n, n), R.gaussian(rng, n, n)),
        (R.gaussian(rng, m, k), R.gaussian(rng, k, p)),
        (R.nearly_singular(rng, q, q), R.nearly_singular(rng, q, q, smallest=1e-5)),
        (R.nearly_singular(rng, m + 2, k, smallest=1e-4), R.gaussian(rng, k, p)),
    ]
    for A, B in cases:
        got = R.checked_tensor(student.call("condition_bound", A.to(device), B.to(device)), "condition_bound", (), device)
        want = R.condition_bound(A, B)
        R.close(got, want, rtol=1e-6, atol=0.0, what=_("A {A_shape}, B {B_shape} 时 condition_bound != kappa(A) kappa(B)").format(
                A_shape=tuple(A.shape), B_shape=tuple(B.shape)))
        assert R.condition_number(A @ B) <= got * (1 + 1e-3), _("kappa(AB) 超过了 condition_bound")


# -- added for `make mutants`: rules of the statement that the checks above leave open ------------------------
def test_singular_value_bounds_stay_float64(student, device, rng):
    """The statement grades parts 1-3 in float64 and says not to drop to float32 on the way: U comes back in
    A's dtype (a float32 U rounds every bound to 6e-8, below the tolerance of the comparisons above)."""
    for A, B in _cases(rng)[:2]:
        U = student.call("singular_value_bounds", A.to(device), B.to(device))
        R.checked_tensor(U, f"singular_value_bounds for A {tuple(A.shape)}, B {tuple(B.shape)}",
                         (min(A.shape[0], B.shape[1]),), device)  # checked_tensor hands back a float64 copy
        assert U.dtype == A.dtype, \
            _("输入为 {A_dtype} 时 singular_value_bounds 返回了 {U_dtype_type}").format(
                    U_dtype_type=getattr(U, 'dtype', type(U).__name__), A_dtype=A.dtype)
