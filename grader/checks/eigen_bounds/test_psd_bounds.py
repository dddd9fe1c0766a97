"""Hidden checks of part `psd_bounds`: the eigenvalues of a product of symmetric PSD matrices."""
import torch

from grader.i18n import _
from grader.checks.eigen_bounds import reference as R


def _pair(result, name):
    assert isinstance(result, (tuple, list)) and len(result) == 2, _("{name} 应当返回二元组 (lo, hi)").format(name=name)
    return result


def _cases(rng):
    """Full rank, ill-conditioned, rank-deficient (lambda_min = 0 up to rounding), different sizes."""
    n1, n2, n3 = [int(x) for x in torch.randint(2, 9, (3,), generator=rng)]
    r = max(1, n3 // 2)
    return [
        (R.psd(rng, n1), R.psd(rng, n1)),
        (R.psd(rng, n2, jitter=0.5), R.psd(rng, n2, rank=n2 + 3)),
        (R.psd(rng, n3, rank=r, jitter=1e-7), R.psd(rng, n3)),
        (R.psd(rng, n3, rank=r), R.psd(rng, n3, rank=r)),
        (torch.diag(torch.rand(n1, generator=rng, dtype=torch.float64) + 0.1), R.psd(rng, n1)),
        (R.psd_rounded(rng, max(n3, 3), rank=max(1, max(n3, 3) - 2)), R.psd(rng, max(n3, 3))),
    ]


def test_bounds_match_reference(student, device, rng):
    for A, B in _cases(rng):
        lo, hi = _pair(student.call("psd_product_eigen_bounds", A.to(device), B.to(device)), "psd_product_eigen_bounds")
        lo = R.checked_tensor(lo, "lo", (), device)
        hi = R.checked_tensor(hi, "hi", (), device)
        want_lo, want_hi = R.psd_bounds(A, B)
        scale = want_hi.item()
        R.close(lo, want_lo, rtol=1e-7, atol=1e-12 * scale, what=_("lo 不对 (n={A})").format(A=len(A)))
        R.close(hi, want_hi, rtol=1e-7, atol=1e-12 * scale, what=_("hi 不对 (n={A})").format(A=len(A)))


def test_true_eigenvalues_inside_bounds(student, device, rng):
    for A, B in _cases(rng):
        lo, hi = _pair(student.call("psd_product_eigen_bounds", A.to(device), B.to(device)), "psd_product_eigen_bounds")
        lo, hi = R.checked_tensor(lo, "lo", (), device), R.checked_tensor(hi, "hi", (), device)
        w = R.psd_product_eigenvalues(A, B)
        tol = 1e-10 * max(hi.abs().item(), 1.0)
        assert lo <= hi + tol, "lo > hi"
        assert (w >= lo - tol).all() and (w <= hi + tol).all(), _("AB 有一个特征值落在 [lo, hi] 之外 (n={A})").format(A=len(A))


def test_product_eigenvalues(student, device, rng):
    for A, B in _cases(rng):
        w = R.checked_tensor(student.call("psd_product_eigenvalues", A.to(device), B.to(device)),
                    "psd_product_eigenvalues", (len(A),), device)
        want = R.psd_product_eigenvalues(A, B)
        scale = want.abs().max().item()
        R.close(w, want, rtol=1e-6, atol=1e-9 * scale, what=_("n={A} 时 psd_product_eigenvalues 与 AB 的特征值 (升序) 不一致").format(
                A=len(A)))
        assert (w >= -1e-9 * scale).all(), _("psd_product_eigenvalues 返回了明显为负的特征值")
