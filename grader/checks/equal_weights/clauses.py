"""The statement of `equal_weights`, rule by rule, and the checks that fail when an answer breaks the rule.

Every ``says`` is quoted from the notebook's text (tests/test_clauses.py checks that it occurs there).
"""
from grader.checks.clauses import Rule

LR, SG, ST = "test_linear_regression.py::", "test_softmax_gradient.py::", "test_softmax_training.py::"
DU, MT = "test_distinct_units.py::", "test_mlp_ties.py::"
P = "public_checks.py::"

DEVICE = "所有函数都必须在输入张量所在的设备上计算（新建张量时写 `device=X.device`）"
DTYPE = "并保持输入的数据类型"
TOLERANCE = "输入多为 float32（容差按 float32 取：相对误差约 $10^{-4}$），也有 float64 的（容差约 $10^{-7}$）"
UNMODIFIED = "不要原地修改传入的张量：评分会比较调用前后的输入。"

RULES = (
    # -- linear_regression ----------------------------------------------------------------------------------
    Rule("linear_regression", r"$$L(\mathbf w, b) = \frac{1}{2n}\sum_{i=1}^n \left(\mathbf x_i^\top \mathbf w + b - y_i\right)^2 .$$",
         (LR + "test_few_steps_follow_gradient_descent",)),
    Rule("linear_regression", r"但损失必须严格按上式定义（含 $\frac{1}{2n}$）", (LR + "test_few_steps_follow_gradient_descent",)),
    Rule("linear_regression", r"（两者用同一步的梯度同时更新）", (LR + "test_few_steps_follow_gradient_descent",)),
    Rule("linear_regression", r"从 `(w0, b0)` 出发，用**全批量**梯度下降",
         (LR + "test_constant_start_reaches_least_squares", LR + "test_zero_start_reaches_least_squares",
          LR + "test_random_start_reaches_least_squares", LR + "test_constant_and_random_starts_agree",
          P + "check_linear_regression__constant_start_reaches_optimum",
          P + "check_linear_regression__constant_and_random_starts_agree")),
    Rule("linear_regression", r"返回 `(w, b)`：`w` 形状为 `(d,)`，`b` 是 0 维张量，都在 `X` 所在的设备上",
         (LR + "test_shapes_dtype_device", P + "check_linear_regression__shapes_and_device")),
    Rule("linear_regression", DTYPE, (LR + "test_shapes_dtype_device", LR + "test_few_steps_follow_gradient_descent")),
    Rule("linear_regression", TOLERANCE, (LR + "test_few_steps_follow_gradient_descent",)),
    Rule("linear_regression", r"不要修改传入的 `w0`、`b0`", (LR + "test_inputs_not_modified",)),
    # -- softmax_gradient -----------------------------------------------------------------------------------
    Rule("softmax_gradient", r"$$\frac{\partial L}{\partial \mathbf W} = \frac1n(\hat{\mathbf P}-\mathbf Y)^\top \mathbf X \in\mathbb R^{k\times d},",
         (SG + "test_random_weights_float32", SG + "test_constant_weights", P + "check_softmax_gradient__matches_autograd")),
    Rule("softmax_gradient", r"**不要使用自动求导**（不调用 `backward`、`torch.autograd.grad`）：评分时会在 `torch.no_grad()` 下调用它",
         (SG + "test_works_without_autograd",)),
    Rule("softmax_gradient", r"类别数 $k$ 取自 `W.shape[0]`（某个类别可能在这批数据里一个样本都没有）",
         (SG + "test_class_missing_from_batch",)),
    Rule("softmax_gradient", r"计算 softmax 时先减去每行的最大值，以保证数值稳定", (SG + "test_large_logits_float32",)),
    Rule("softmax_gradient", r"结果与 `X` 的设备和数据类型一致", (SG + "test_random_weights_float32", SG + "test_random_weights_float64")),
    Rule("softmax_gradient", TOLERANCE, (SG + "test_random_weights_float32", SG + "test_random_weights_float64")),
    Rule("softmax_gradient", r"梯度的第 $j$ 行等于 $\frac1k\bar{\mathbf x}-\frac1n\sum_{i:\,y_i=j}\mathbf x_i$",
         (SG + "test_labels_break_symmetry", P + "check_softmax_gradient__labels_break_symmetry")),
    Rule("softmax_gradient", UNMODIFIED, (SG + "test_inputs_not_modified",)),
    # -- softmax_training -----------------------------------------------------------------------------------
    Rule("softmax_training", r"对上一部分的平均交叉熵做 `steps` 步全批量梯度下降",
         (ST + "test_few_steps_follow_gradient_descent", ST + "test_constant_start_is_not_stuck")),
    Rule("softmax_training", r"从常数权重训练 softmax 回归，与随机初始化比较最终损失",
         (ST + "test_constant_and_random_starts_reach_same_loss",
          P + "check_softmax_training__constant_and_random_starts_reach_same_loss")),
    Rule("softmax_training", DTYPE, (ST + "test_few_steps_follow_gradient_descent",)),
    Rule("softmax_training", r"不要修改传入的 `W0`、`b0`。", (ST + "test_inputs_not_modified",)),
    # -- distinct_units -------------------------------------------------------------------------------------
    Rule("distinct_units", r"若某行与之前**每一组**的代表行的最大绝对差都大于 `atol`， 它就开启新的一组（并成为该组代表）；否则归入已有的组。",
         (DU + "test_clusters", DU + "test_atol_is_used", DU + "test_max_abs_difference_not_a_norm",
          DU + "test_large_magnitudes_absolute_tolerance", P + "check_distinct_units__simple_cases", DU + "test_difference_of_exactly_atol_is_the_same_unit")),
    Rule("distinct_units", r"返回组数（Python `int`）", (DU + "test_single_row", DU + "test_all_equal_and_all_distinct")),
    # -- mlp_ties -------------------------------------------------------------------------------------------
    Rule("mlp_ties", r"L = \frac1n\sum_{i=1}^n (\hat y_i - y_i)^2,$$", (MT + "test_matches_gradient_descent",)),
    Rule("mlp_ties", r"**所有**参数（包括两个偏置）都初始化为 `value`",
         (MT + "test_matches_gradient_descent", MT + "test_hidden_units_stay_tied", P + "check_mlp_ties__hidden_units_stay_tied")),
    Rule("mlp_ties", r"然后做 `steps` 步全批量梯度下降（学习率 `lr`，可以用自动求导）",
         (MT + "test_matches_gradient_descent", MT + "test_weights_moved")),
    Rule("mlp_ties", r"返回训练后的隐藏层权重 $\mathbf W_1$（形状 `(hidden, d)`）", (MT + "test_shapes_dtype_device",)),
    Rule("mlp_ties", r"注意 $\hat{\mathbf y}$ 的形状应为 `(n,)`，与 `y` 一致。", (MT + "test_matches_gradient_descent", MT + "test_float64_inputs",)),
    Rule("mlp_ties", DTYPE, (MT + "test_shapes_dtype_device", MT + "test_matches_gradient_descent")),
    Rule("mlp_ties", DEVICE, (MT + "test_shapes_dtype_device",)),
)
