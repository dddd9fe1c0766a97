"""Hidden checks of part `detect_ties`: tied_groups(weight, atol)."""
import torch

from grader.i18n import _
from grader.checks.symmetry.reference import normalize_groups


def _planted(rng, shape_tail, atol):
    """Rows drawn from a few random prototypes plus noise well inside atol; returns (weight, expected groups)."""
    n = int(torch.randint(6, 13, (1,), generator=rng))
    k = int(torch.randint(2, n, (1,), generator=rng))
    protos = torch.randn(k, *shape_tail, generator=rng, dtype=torch.float64)
    labels = torch.randint(0, k, (n,), generator=rng)
    noise = (torch.rand(n, *shape_tail, generator=rng, dtype=torch.float64) - 0.5) * (atol / 2)
    weight = protos[labels] + noise
    groups: dict[int, list[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        groups.setdefault(lab, []).append(i)
    return weight, sorted(groups.values(), key=lambda g: g[0])


def _ask(student, weight, atol, device):
    return normalize_groups(student.call("tied_groups", weight.to(device), atol))


def test_planted_ties_matrix(student, device, rng):
    for atol in (1e-2, 1e-4):
        d = int(torch.randint(4, 20, (1,), generator=rng))
        weight, expected = _planted(rng, (d,), atol)
        assert _ask(student, weight.float(), atol, device) == expected, _("[n, {d}] 权重的分组不对").format(d=d)


def test_planted_ties_conv_weight(student, device, rng):
    c_in = int(torch.randint(1, 4, (1,), generator=rng))
    weight, expected = _planted(rng, (c_in, 3, 3), 1e-3)
    assert _ask(student, weight.float(), 1e-3, device) == expected, _("[out, in, k, k] 权重的分组不对")


def test_exact_ties_zero_atol(student, device, rng):
    weight, expected = _planted(rng, (5,), 0.0)  # no noise at atol = 0: exact copies
    assert _ask(student, weight, 0.0, device) == expected, _("atol=0 时完全相同的副本必须算作相同")


def test_max_abs_difference_not_a_norm(student, device, rng):
    """Rows off by 0.6*atol in every entry are tied; rows off by 3*atol in a single entry are not."""
    atol, d = 1e-3, 16
    base = torch.randn(4, d, generator=rng, dtype=torch.float64) * 3
    near = base[0] + 0.6 * atol * torch.sign(torch.randn(d, generator=rng, dtype=torch.float64))
    far = base[1].clone()
    far[int(torch.randint(0, d, (1,), generator=rng))] += 3 * atol
    weight = torch.stack([base[0], base[1], base[2], near, far, base[3]])
    expected = [[0, 3], [1], [2], [4], [5]]
    assert _ask(student, weight, atol, device) == expected, \
        _("判断相同要看逐元素差的最大值 (<= atol), 而不是整行的某种范数")


def test_transitive_chains(student, device, rng):
    """Rows 0.8*atol apart in a chain belong to one group even when the ends differ by more than atol.  The chain
    has 5 to 8 rows, so that a closure of paths of length 2 or 4 (one or two squarings of the "tied" matrix) is
    not enough: only the full transitive closure joins both ends."""
    atol, d = 1e-2, 6
    length = int(torch.randint(5, 9, (1,), generator=rng))
    n = length + int(torch.randint(2, 5, (1,), generator=rng))
    start = torch.randn(d, generator=rng, dtype=torch.float64)
    step = 0.8 * atol * torch.sign(torch.randn(d, generator=rng, dtype=torch.float64))
    chain = [start + s * step for s in range(length)]
    spots = sorted(torch.randperm(n, generator=rng)[:length].tolist())
    # An end of the chain comes first, so a search that stops at direct neighbours misses the far end.
    order = [0] + (torch.randperm(length - 1, generator=rng) + 1).tolist()
    rows = [torch.randn(d, generator=rng, dtype=torch.float64) * 5 for _ in range(n)]
    for spot, link in zip(spots, order):
        rows[spot] = chain[link]
    expected = sorted([spots] + [[i] for i in range(n) if i not in spots], key=lambda g: g[0])
    assert _ask(student, torch.stack(rows), atol, device) == expected, _('"相同" 是可传递的: 一条链构成一个组')


def test_partition_format(student, device, rng):
    weight = torch.randn(int(torch.randint(3, 9, (1,), generator=rng)), 4, generator=rng)
    groups = _ask(student, weight, 1e-6, device)
    assert groups == [[i] for i in range(weight.shape[0])], _("互不相同的行必须各成一组")
    same = weight[:1].repeat(5, 1)
    assert _ask(student, same, 1e-6, device) == [[0, 1, 2, 3, 4]], _("完全相同的行必须构成一个组")


def test_large_magnitudes_absolute_tolerance(student, device, rng):
    """atol bounds the entry-wise difference absolutely, at any size of the entries: rows of size 10^2 to 10^4
    1.5 atol apart are not tied (torch.allclose's default rtol = 1e-5 would tie them), 0.5 atol apart are."""
    d, atol = int(torch.randint(3, 8, (1,), generator=rng)), 10.0 ** -float(torch.randint(3, 6, (1,), generator=rng))
    scale = 10.0 ** (2 + 2 * float(torch.rand((), generator=rng)))
    base = scale * (1 + torch.rand(d, generator=rng, dtype=torch.float64))
    sign = torch.sign(torch.randn(d, generator=rng, dtype=torch.float64))
    other = -base
    weight = torch.stack([base, base + 1.5 * atol * sign, other, base - 0.5 * atol * sign, other - 1.5 * atol * sign])
    expected = [[0, 3], [1], [2], [4]]
    assert _ask(student, weight, atol, device) == expected, \
        _("大小为 {scale:.0e}、相差 1.5*atol = {atol:.0e} 的行不能算作相同 (atol 是绝对容差)").format(scale=scale, atol=1.5 * atol)
