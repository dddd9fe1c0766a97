"""Hints of the hidden checks of `eigen_bounds` (instructor side: never ships; feedback shows them after grading).

Keys: a part (every check of it), or ``part::`` plus a prefix of a check's name (the longest match wins).
The section each check belongs to is in book_sections.py.  A hint names the idea to reread, never an
input or an expected value.
"""
from grader.i18n import N_

HINTS = {
    "product_bounds": N_("U[k] 界的是乘积的第 k+1 大奇异值: σ_{k+1}(AB) ≤ σ_{a+1}(A) σ_{b+1}(B) 对所有 a + b = k 成立 (a, b, k 从 0 起算), 取其中最小的; 矩阵不是方阵时缺的奇异值按 0 算。"),
    "product_bounds::test_spectral_radius": N_("||AB||_2 ≤ ||A||_2 ||B||_2: 用矩阵的谱范数 (最大奇异值), 不是 Frobenius 范数。"),
    "product_bounds::test_condition": N_("条件数是最大奇异值除以最小奇异值, 两个矩阵的条件数相乘。"),
    "psd_bounds": N_("AB 与对称矩阵 A^{1/2} B A^{1/2} 相似: 用 eigh/eigvalsh 求实特征值, 结果按升序排列; 舍入会让 eigh 给奇异的半正定矩阵返回略小于零的特征值, 开方前先截断到 0。"),
    "lyapunov": N_("把乘积作用在向量上并每步归一化, 累加对数范数; 全部指数用 QR 迭代, 结果按降序排列。"),
    "lyapunov::test_top_gaussian": N_("对高斯矩阵, 你的估计应当接近书中李雅普诺夫指数的精确公式: 检查起始向量和是否除以了因子个数。"),
    "critical_sigma": N_("增长率公式是 log σ + (log 2 + ψ(n/2))/2 (自然对数, ψ 的自变量是 n/2); 临界 σ 是让它为零的那个值。"),
}
