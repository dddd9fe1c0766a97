"""Where the book teaches each part of `eigen_bounds`, and what to reread when a public check fails.

Ships to students beside public_checks.py: the self-check prints the hint and a link into the book.
The hidden checks' hints live in hints.py, which never ships.  A hint says where to look, never an
input or an expected value (the leak scan checks).
"""


def N_(message):  # marks a message for the catalog (locale/); selfcheck translates it where it is shown
    return message


# part, or part::check-name prefix -> label of a section of book/numerical-stability.md (selfcheck.SECTION_TITLES)
SECTIONS = {
    "product_bounds": "vanishing-and-exploding-gradients",
    "psd_bounds": "vanishing-and-exploding-gradients",
    "lyapunov": "exploding-gradients",
    "critical_sigma": "exploding-gradients",
}

# public check name (or a prefix of names; the longest match wins) -> one line, in the source language (its English is in the catalog)
HINTS = {
    "check_product_bounds__": N_("奇异值按从大到小排列, 超出 min(行数, 列数) 的奇异值记为 0; 界是所有 a + b = k 的组合里最小的乘积。"),
    "check_product_bounds__shapes_and_device": N_("返回的张量长度是 min(m, p), 放在输入所在的设备上, 标量结果是 0 维张量。"),
    "check_psd_bounds__": N_("半正定矩阵之积 AB 与 A^{1/2} B A^{1/2} 相似, 所以特征值是实数且非负; 界由两者的最小、最大特征值相乘得到。"),
    "check_psd_bounds__shapes_and_device": N_("返回两个 0 维张量 (或升序的特征值向量), 放在输入所在的设备上。"),
    "check_lyapunov__": N_("每乘一个矩阵就把向量重新归一化, 把被除掉的范数取对数累加, 最后除以因子个数。"),
    "check_lyapunov__shapes_and_device": N_("top_lyapunov 返回 0 维张量, all_lyapunov 返回长度为 n 的降序张量, 都在输入所在的设备上。"),
    "check_lyapunov__long_product_is_finite": N_("直接连乘会溢出: 每一步都要归一化, 只累加对数。"),
    "check_lyapunov__sum_is_mean_log_det": N_("QR 迭代里累加 R 的对角元绝对值的对数; 所有指数之和等于平均的 log|det|。"),
    "check_critical_sigma__": N_("对照书中高斯矩阵乘积的增长率公式 log σ + (log 2 + ψ(n/2))/2, 临界 σ 让它等于零。"),
    "check_critical_sigma__large_n": N_("n 很大时 ψ(n/2) ≈ log(n/2), 临界 σ 应接近 1/√n: 检查 digamma 的自变量是不是 n/2。"),
}
