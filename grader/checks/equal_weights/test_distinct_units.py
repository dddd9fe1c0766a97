"""Hidden checks of part `distinct_units`: count_distinct_units(W, atol) -> int."""
import torch

from grader.i18n import _
from grader.checks.equal_weights._util import randint


def _count(student, W, atol):
    got = student.call("count_distinct_units", W, atol)
    if isinstance(got, torch.Tensor):
        assert got.numel() == 1 and not got.is_floating_point(), _("count_distinct_units 必须返回 int")
        got = int(got)
    assert type(got) is int, _("count_distinct_units 必须返回 int, 实际是 {got_type}").format(got_type=type(got).__name__)
    return got


def _clustered(rng, groups: int, rows: int, d: int, spread: float):
    """rows rows around `groups` well separated centres (every centre used), shuffled."""
    centres = torch.randn(groups, d, generator=rng) * 1.0 + 3.0 * torch.arange(groups).unsqueeze(1)
    which = torch.cat([torch.arange(groups), torch.randint(0, groups, (rows - groups,), generator=rng)])
    W = centres[which] + spread * (2 * torch.rand(rows, d, generator=rng) - 1)
    return W[torch.randperm(rows, generator=rng)]


def test_clusters(student, rng):
    for atol in (1e-6, 1e-3, 0.1):
        groups, rows, d = randint(rng, 2, 6), randint(rng, 8, 16), randint(rng, 2, 5)
        W = _clustered(rng, groups, rows, d, spread=atol / 4)
        assert _count(student, W, atol) == groups, _("{rows} 行, 分成 {groups} 个紧密的组 (atol={atol})").format(
                rows=rows, groups=groups, atol=atol)


def test_all_equal_and_all_distinct(student, rng):
    d, h = randint(rng, 2, 6), randint(rng, 3, 10)
    row = torch.randn(d, generator=rng)
    assert _count(student, row.repeat(h, 1), 1e-6) == 1, _("完全相同的行算作一个单元")
    W = torch.randn(h, d, generator=rng) + 5 * torch.arange(h).unsqueeze(1)
    assert _count(student, W, 1e-6) == h, _("明显不同的行要分别计数")


def test_atol_is_used(student, rng):
    h, d = randint(rng, 4, 8), randint(rng, 2, 5)
    row = torch.randn(d, generator=rng)
    W = row + 0.01 * torch.arange(h).unsqueeze(1).float() * torch.ones(d)
    assert _count(student, W, 1e-4) == h, _("atol = 1e-4 时相差 0.01 的行是不同的单元")
    W = row.repeat(h, 1) + 1e-3 * torch.rand(h, d, generator=rng)
    assert _count(student, W, 0.05) == 1, _("atol = 0.05 时彼此相差不到 1e-3 的行是同一个单元")


def test_single_row(student, rng):
    assert _count(student, torch.randn(1, randint(rng, 1, 5), generator=rng), 1e-6) == 1, _("一行就是一个单元")


def test_max_abs_difference_not_a_norm(student, rng):
    """Rows 0.9*atol apart in every entry are one unit (max-abs distance); their L2 distance exceeds atol."""
    d, atol = randint(rng, 4, 8), 10.0 ** -randint(rng, 2, 4)
    row = torch.randn(d, generator=rng, dtype=torch.float64)
    sign = torch.where(torch.rand(d, generator=rng) < 0.5, -1.0, 1.0).double()
    W = torch.stack([row, row + 0.9 * atol * sign, row + 5 * atol])
    assert _count(student, W, atol) == 2, _("比较单元要看逐元素差的最大值, 而不是某种范数")


# -- added for `make mutants`: rules of the statement that the checks above leave open ------------------------
def test_difference_of_exactly_atol_is_the_same_unit(student, rng):
    """Rows are distinct only when their largest absolute difference is greater than atol: two rows that differ by
    exactly atol (binary fractions, so the difference is exact in float32) count once."""
    atol = (0.25, 0.5, 0.125)[randint(rng, 0, 2)]
    d = randint(rng, 2, 5)
    base = torch.randint(-8, 9, (d,), generator=rng).float()
    j = randint(rng, 0, d - 1)
    twin = base.clone()
    twin[j] += atol
    far = base + 10.0
    W = torch.stack([base, twin, far, twin.clone()])
    assert _count(student, W, atol) == 2, _("恰好相差 atol={atol} 的行是同一个单元 (在 atol 之内)").format(atol=atol)


def test_large_magnitudes_absolute_tolerance(student, rng):
    """atol is an absolute bound on the entry-wise difference, whatever the size of the entries: rows of size
    10^2 to 10^4 that differ by 1.5 atol are different units (a relative tolerance such as torch.allclose's
    default rtol = 1e-5 would merge them), rows 0.5 atol apart are one unit."""
    d, atol = randint(rng, 3, 6), 10.0 ** -randint(rng, 3, 5)
    scale = 10.0 ** (2 + 2 * float(torch.rand((), generator=rng)))
    row = scale * (1 + torch.rand(d, generator=rng, dtype=torch.float64))
    sign = torch.where(torch.rand(d, generator=rng) < 0.5, -1.0, 1.0).double()
    W = torch.stack([row, row + 1.5 * atol * sign, row + 0.5 * atol * sign, row - 1.5 * atol * sign])
    # greedy: row 0 opens a group, row 1 (1.5 atol away) another, row 2 joins row 0, row 3 (3 atol from row 1) a third
    assert _count(student, W, atol) == 3, _("大小为 {scale:.0e}、相差 1.5*atol={atol:.0e} 的行是不同的单元").format(
            scale=scale, atol=1.5 * atol)
