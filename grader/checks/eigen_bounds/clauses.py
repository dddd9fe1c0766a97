"""The statement of `eigen_bounds`, rule by rule, and the checks that fail when an answer breaks the rule.

Every ``says`` is quoted from the notebook's text (tests/test_clauses.py checks that it occurs there).
"""
from grader.checks.clauses import Rule

PB, PS, LY, CS = "test_product_bounds.py::", "test_psd_bounds.py::", "test_lyapunov.py::", "test_critical_sigma.py::"
P = "public_checks.py::"

RULES = (
    # -- product_bounds -------------------------------------------------------------------------------------
    Rule("product_bounds", r"$$U[k] = \min_{a+b=k}\; s_A[a]\, s_B[b],\qquad k=0,\dots,r-1,$$",
         (PB + "test_singular_value_bounds_match_reference", PB + "test_singular_value_bounds_hold",
          P + "check_product_bounds__bounds_hold", P + "check_product_bounds__scaled_orthogonal_is_tight")),
    Rule("product_bounds", r"下标超过 $\min(\text{行数}, \text{列数})$ 时约定 $\sigma_i = 0$",
         (PB + "test_singular_value_bounds_match_reference",)),
    Rule("product_bounds", r"返回长度为 $r=\min(m,p)$ 的张量 `U`",
         (PB + "test_singular_value_bounds_match_reference", P + "check_product_bounds__shapes_and_device")),
    Rule("product_bounds", r"`spectral_radius_bound(A, B)`: 0 维张量 $\|A\|_2\,\|B\|_2$ (谱范数, 不是 Frobenius 范数)",
         (PB + "test_spectral_radius_bound", P + "check_product_bounds__scaled_orthogonal_is_tight")),
    Rule("product_bounds", r"`condition_bound(A, B)`: 0 维张量 $\kappa(A)\,\kappa(B)$",
         (PB + "test_condition_bound", P + "check_product_bounds__bounds_hold")),
    Rule("product_bounds", r"结果与输入在同一设备上, 数据类型与输入相同。",
         (PB + "test_singular_value_bounds_match_reference", P + "check_product_bounds__shapes_and_device", "test_product_bounds.py::test_singular_value_bounds_stay_float64")),
    Rule("product_bounds", r"第 1–3 部分的评分输入都是 float64, 结果按 float64 的精度比较",
         (PB + "test_singular_value_bounds_match_reference", PB + "test_condition_bound")),
    # -- psd_bounds -----------------------------------------------------------------------------------------
    Rule("psd_bounds", r"`psd_product_eigen_bounds(A, B)`: 返回二元组 `(lo, hi)`, 两个 0 维张量, 分别是上式的下界和上界",
         (PS + "test_bounds_match_reference", PS + "test_true_eigenvalues_inside_bounds", P + "check_psd_bounds__shapes_and_device",
          P + "check_psd_bounds__eigenvalues_inside")),
    Rule("psd_bounds", r"通过对称矩阵 $S=A^{1/2}BA^{1/2}$ 计算 $AB$ 的全部特征值, 返回形状 `(n,)` 的实数张量, **升序**",
         (PS + "test_product_eigenvalues", P + "check_psd_bounds__eigenvalues_agree_with_torch")),
    Rule("psd_bounds", r"求 $\sqrt{w}$ 之前先把特征值截断到 0 (例如 `w.clamp(min=0)`); 评分的输入里就有这样的矩阵。",
         (PS + "test_product_eigenvalues",)),
    Rule("psd_bounds", r"第 1–3 部分的评分输入都是 float64, 结果按 float64 的精度比较",
         (PS + "test_bounds_match_reference", PS + "test_product_eigenvalues")),
    # -- lyapunov -------------------------------------------------------------------------------------------
    Rule("lyapunov", r"`mats[0]` 就是最先作用的 $M_1$", (LY + "test_top_matches_reference", LY + "test_all_matches_reference")),
    Rule("lyapunov", r"按上面的重新归一化 (起始向量 $v_0 = (1,\dots,1)/\sqrt n$) 返回 $\hat\lambda_1$, 0 维张量",
         (LY + "test_top_matches_reference", LY + "test_top_gaussian_matches_newman", P + "check_lyapunov__scaled_orthogonal_exact")),
    Rule("lyapunov", r"\qquad(\text{自然对数, 除以 } T)",
         (LY + "test_top_matches_reference", LY + "test_top_gaussian_matches_newman", P + "check_lyapunov__scaled_orthogonal_exact")),
    Rule("lyapunov", r"按上面的 QR 迭代 ($Q_0=I$) 返回形状 `(n,)` 的张量, 所有 $\hat\lambda_k$ **按降序排列**",
         (LY + "test_all_matches_reference", LY + "test_all_long_products_and_spectrum", P + "check_lyapunov__sum_is_mean_log_det")),
    Rule("lyapunov", r"两者都必须在 $T=2000$, $\sigma=10$ 时给出有限值",
         (LY + "test_top_long_products_stay_finite", LY + "test_all_long_products_and_spectrum",
          P + "check_lyapunov__long_product_is_finite")),
    Rule("lyapunov", r"并在 `mats` 所在的设备上计算", (LY + "test_top_matches_reference", P + "check_lyapunov__shapes_and_device")),
    # -- critical_sigma -------------------------------------------------------------------------------------
    Rule("critical_sigma", r"`gaussian_top_lyapunov(n, sigma)`: 上面的 $\lambda_1$",
         (CS + "test_gaussian_top_lyapunov", P + "check_critical_sigma__scaling_in_sigma")),
    Rule("critical_sigma", r"`critical_sigma(n)`: 上面的 $\sigma^*(n)$",
         (CS + "test_critical_sigma_matches_reference", CS + "test_critical_sigma_zeroes_the_exponent",
          P + "check_critical_sigma__zero_exponent")),
    Rule("critical_sigma", r"评分 (公开自检和隐藏检查都一样) 对 $\lambda_1$ 允许的误差是 $10^{-5}\cdot\max(1, |\lambda_1|)$, 对 $\sigma^*$ 是相对误差 $10^{-5}$。",
         (CS + "test_gaussian_top_lyapunov", CS + "test_critical_sigma_matches_reference",
          P + "check_critical_sigma__zero_exponent", P + "check_critical_sigma__scaling_in_sigma")),
    Rule("critical_sigma", r"但必须用精确的 $\psi$, 不能用大 $n$ 的近似 $\log\tfrac n2-\tfrac1n$ (小 $n$ 时差得很远)。",
         (CS + "test_critical_sigma_matches_reference",)),
    Rule("critical_sigma", r"于是 $\sigma^*\approx \tfrac{1}{\sqrt n}\,e^{1/(2n)}$",
         (CS + "test_critical_sigma_large_n", P + "check_critical_sigma__large_n")),
)
