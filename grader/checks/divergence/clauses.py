"""The statement of `divergence`, rule by rule, and the checks that fail when an answer breaks the rule.

Every ``says`` is quoted from the notebook's text (tests/test_clauses.py checks that it occurs there), so the
table is written from the statement, not from the checks.
"""
from grader.checks.clauses import Rule

L, C, D = "test_lars_step.py::", "test_clip_global_norm.py::", "test_deep_mlp.py::"
P = "public_checks.py::"

RULES = (
    # -- lars_step ------------------------------------------------------------------------------------------
    Rule("lars_step", r"其中 $\|\cdot\|$ 是把整个张量看成一个向量的 $\ell_2$ 范数（不是逐元素的绝对值）",
         (L + "test_matches_reference", L + "test_no_momentum_no_decay", P + "check_lars_step__relative_step_size")),
    Rule("lars_step", r"$\eta$ 是信任系数 `trust_coefficient`",
         (L + "test_no_momentum_no_decay", L + "test_matches_reference", P + "check_lars_step__relative_step_size")),
    Rule("lars_step", r"$\beta$ 是权重衰减 `weight_decay`", (L + "test_weight_decay", L + "test_matches_reference")),
    Rule("lars_step", r"$\varepsilon$ 是防止除以零的 `eps`", (L + "test_eps_is_read", L + "test_param_groups", L + "test_eps_is_read_from_the_group")),
    Rule("lars_step", r"$\gamma$ 是全局学习率 `lr`，$m$ 是动量 `momentum`",
         (L + "test_matches_reference", L + "test_momentum_buffer")),
    Rule("lars_step", r"每个参数有自己的动量缓冲 $\mathbf{v}$，第一次更新前为零（所以第一步 $\mathbf{v} = \gamma\lambda(\mathbf{g}+\beta\mathbf{w})$）",
         (L + "test_momentum_buffer", L + "test_momentum_buffer_in_state")),
    Rule("lars_step", r"放在 `self.state[p]` 里，形状、数据类型、设备都和参数相同", (L + "test_momentum_buffer_in_state", L + "test_float32_momentum_buffer_keeps_the_dtype",)),
    Rule("lars_step", r"权重衰减项 $\beta\mathbf{w}$ 既出现在分母里，也要在乘以 $\lambda$ **之前**加到梯度上",
         (L + "test_weight_decay", L + "test_matches_reference")),
    Rule("lars_step", r"$\|\mathbf{w}\| = 0$（例如初始化为零的偏置）或 $\|\mathbf{g}\| = 0$ 时局部学习率取 $1$，不能产生 `nan`/`inf`",
         (L + "test_zero_norm_params", L + "test_all_zero_is_finite", P + "check_lars_step__zero_norm_is_safe", L + "test_zero_gradient_with_weight_decay")),
    Rule("lars_step", r"`p.grad is None` 的参数跳过", (L + "test_params_without_grad_are_skipped",)),
    Rule("lars_step", r"超参数从 `group` 里读，这样不同的参数组可以用不同的超参数", (L + "test_param_groups",)),
    Rule("lars_step", r"更新原地作用在参数上", (L + "test_matches_reference", P + "check_lars_step__shapes_dtype_device")),
    Rule("lars_step", r"评分用 float64 的参数（按相对误差 $10^{-7}$ 比较，动量缓冲也必须是 float64）",
         (L + "test_matches_reference", L + "test_momentum_buffer_in_state", P + "check_lars_step__shapes_dtype_device")),
    Rule("lars_step", r"float32 的参数（相对误差 $10^{-5}$）", (L + "test_float32", L + "test_param_groups")),
    Rule("lars_step", r"把梯度乘以任意正数，更新几乎不变",
         (L + "test_gradient_scale_invariance", P + "check_lars_step__gradient_scale_invariance")),
    Rule("lars_step", r"所有函数都应当在输入张量所在的设备（CPU 或 GPU）上工作",
         (L + "test_matches_reference", L + "test_momentum_buffer_in_state")),
    # -- clip_global_norm -----------------------------------------------------------------------------------
    Rule("clip_global_norm", r"裁剪系数是 $c = \min\!\big(1,\ \theta / (\|\mathbf{g}\| + 10^{-6})\big)$",
         (C + "test_above_threshold", C + "test_one_large_tensor", P + "check_clip_global_norm__matches_torch", C + "test_epsilon_at_small_norms")),
    Rule("clip_global_norm", r"每个梯度都乘以**同一个** $c$", (C + "test_global_not_per_tensor", C + "test_one_large_tensor")),
    Rule("clip_global_norm", r"范数没超过阈值时 $c = 1$，梯度原样返回（不会被“放大”到阈值）",
         (C + "test_below_threshold", P + "check_clip_global_norm__below_threshold_unchanged")),
    Rule("clip_global_norm", r"这是*全局*裁剪：所有张量共用一个系数，整体梯度的方向不变。", (C + "test_global_not_per_tensor",)),
    Rule("clip_global_norm", r"`clipped` 是与 `grads` 一一对应、形状/数据类型/设备都相同的新张量列表",
         (C + "test_above_threshold", C + "test_float64")),
    Rule("clip_global_norm", r"`total_norm` 是裁剪**之前**的全局范数，一个与梯度同设备的 0 维张量",
         (C + "test_above_threshold", C + "test_below_threshold")),
    Rule("clip_global_norm", r"全零的梯度应当得到全零的结果和 `total_norm = 0`", (C + "test_zero_gradients",)),
    Rule("clip_global_norm", r"不要原地修改传入的梯度（评分会比较调用前后的 `grads`）", (C + "test_inputs_not_modified",)),
    Rule("clip_global_norm", r"评分用 float32 和 float64 的梯度，按 float32 的精度比较（相对误差 $10^{-5}$）",
         (C + "test_float64", C + "test_above_threshold")),
    # -- deep_mlp -------------------------------------------------------------------------------------------
    Rule("deep_mlp", r"返回长度为 `steps` 的 Python 浮点数列表 （第 $t$ 个元素是第 $t$ 次参数更新**之前**的训练损失）",
         (D + "test_same_start_for_sgd_and_lars", D + "test_trajectory_matches_reference")),
    Rule("deep_mlp", r"全部用 `gen = torch.Generator().manual_seed(seed)` 在 CPU 上生成，再搬到 `device`",
         (D + "test_trajectory_matches_reference", D + "test_reproducible")),
    Rule("deep_mlp", r"`depth` 个没有偏置的全连接层，宽度依次为 $8 \to$ `width` $\to \dots \to$ `width` $\to 1$",
         (D + "test_trajectory_matches_reference", D + "test_depth_controls_explosion")),
    Rule("deep_mlp", r"相邻两层之间是 ReLU，最后一层之后没有激活", (D + "test_trajectory_matches_reference",)),
    Rule("deep_mlp", r"用同一个 `gen` 依次生成第 $1, 2, \dots$ 层的权重",
         (D + "test_trajectory_matches_reference", D + "test_sgd_diverges")),
    Rule("deep_mlp", r"`torch.optim.SGD(params, lr=0.01, momentum=0.9)`",
         (D + "test_trajectory_matches_reference", D + "test_sgd_diverges", P + "check_deep_mlp__sgd_diverges", D + "test_sgd_momentum_over_several_steps")),
    Rule("deep_mlp", r"你的 `LARS(params, lr=1.0, momentum=0.9, trust_coefficient=0.001)`",
         (D + "test_trajectory_matches_reference", D + "test_lars_recovers", P + "check_deep_mlp__lars_recovers")),
    Rule("deep_mlp", r"同一个 `seed` 结果可复现，不同 `seed` 数据不同", (D + "test_reproducible", D + "test_same_start_for_sgd_and_lars")),
    Rule("deep_mlp", r"对不同的 `seed` 和 `depth`，前几步的损失要与严格按上述约定（float32）得到的结果一致（相对误差 $10^{-3}$）",
         (D + "test_trajectory_matches_reference",)),
)
