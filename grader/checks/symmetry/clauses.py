"""The statement of `symmetry`, rule by rule, and the checks that fail when an answer breaks the rule.

Every ``says`` is quoted from the notebook's text (tests/test_clauses.py checks that it occurs there).
"""
from grader.checks.clauses import Rule

PC, DT, CNN = "test_permute_channels.py::", "test_detect_ties.py::", "test_constant_init_cnn.py::"
ATT, TB = "test_attention_heads.py::", "test_tie_breakers.py::"
P = "public_checks.py::"

RULES = (
    # -- permute_channels -----------------------------------------------------------------------------------
    Rule("permute_channels", r"$$\mathbf{W}_1'[i] = \mathbf{W}_1[\mathrm{perm}[i]],\qquad b_1'[i] = b_1[\mathrm{perm}[i]],\qquad \mathbf{W}_2'[:, i] = \mathbf{W}_2[:, \mathrm{perm}[i]].$$",
         (PC + "test_convention_new_channel_i_is_old_perm_i", PC + "test_inverse_permutation_restores",
          P + "check_permute_channels__inverse_restores")),
    Rule("permute_channels", r"$\mathbf{Y}$ 就完全不变（ReLU 逐元素作用，不会混合通道）",
         (PC + "test_network_function_unchanged", PC + "test_float32_network_unchanged", P + "check_permute_channels__network_unchanged")),
    Rule("permute_channels", r"不修改输入张量（返回新张量）", (PC + "test_inputs_not_modified",)),
    Rule("permute_channels", r"返回的张量与输入的形状、数据类型和设备相同",
         (PC + "test_network_function_unchanged", PC + "test_float32_network_unchanged", P + "check_permute_channels__shapes_and_device")),
    # -- detect_ties ----------------------------------------------------------------------------------------
    Rule("detect_ties", r"$$\max_k \big|\mathbf{W}[i, k] - \mathbf{W}[j, k]\big| \le \texttt{atol}.$$",
         (DT + "test_planted_ties_matrix", DT + "test_exact_ties_zero_atol", DT + "test_large_magnitudes_absolute_tolerance")),
    Rule("detect_ties", r"（这是逐元素的最大绝对差，不是 $L_1$ 或 $L_2$ 范数。）", (DT + "test_max_abs_difference_not_a_norm",)),
    Rule("detect_ties", r"把“绑在一起”的关系传递地连起来（图的连通分量）", (DT + "test_transitive_chains",)),
    Rule("detect_ties", r"把除第 0 维以外的维度展平", (DT + "test_planted_ties_conv_weight",)),
    Rule("detect_ties", r"每个通道恰好出现在一个组里，没有和别的通道绑定的通道自成一组（例如 `[3]`）",
         (DT + "test_partition_format", P + "check_detect_ties__partition", P + "check_detect_ties__distinct_and_identical")),
    Rule("detect_ties", r"每组内部的下标升序排列，组与组之间按各组的第一个下标升序排列",
         (DT + "test_planted_ties_matrix", DT + "test_transitive_chains", P + "check_detect_ties__partition")),
    Rule("detect_ties", r"`weight` 可能在 GPU 上。", (DT + "test_planted_ties_matrix",)),
    # -- constant_init_cnn ----------------------------------------------------------------------------------
    Rule("constant_init_cnn", r"| `conv2` | `nn.Conv2d(channels, channels, 3, padding=1)`，之后 ReLU |",
         (CNN + "test_trajectory_matches_reference",)),
    Rule("constant_init_cnn", r"| 池化 | 全局平均池化，展平为 `[batch, channels]` |", (CNN + "test_trajectory_matches_reference",)),
    Rule("constant_init_cnn", r"| dropout | 仅当 `dropout=True`：紧接在第一个 ReLU 之后的 `nn.Dropout(0.5)` |", (CNN + "test_dropout_unties", CNN + "test_dropout_rate_is_one_half")),
    Rule("constant_init_cnn", r"先调用 `torch.manual_seed(seed)`", (CNN + "test_seed_controls_random_init",)),
    Rule("constant_init_cnn", r"把网络中**每一个**参数（所有权重和偏置）都设为同一个常数 `value`",
         (CNN + "test_initial_weight_is_the_constant", CNN + "test_channels_stay_tied", CNN + "test_trajectory_matches_reference",
          P + "check_constant_init_cnn__initial_constant", P + "check_constant_init_cnn__channels_tied_after_training")),
    Rule("constant_init_cnn", r"`random_init=True` 时保留 PyTorch 的默认随机初始化",
         (CNN + "test_random_init_unties", CNN + "test_seed_controls_random_init")),
    Rule("constant_init_cnn", r"在训练模式下用 `torch.optim.SGD(lr=lr)`（无动量、无权重衰减）",
         (CNN + "test_trajectory_matches_reference", CNN + "test_channels_stay_tied")),
    Rule("constant_init_cnn", r"`steps=0` 时返回的就是初始权重。", (CNN + "test_initial_weight_is_the_constant",)),
    Rule("constant_init_cnn", r"常数初始化（`value` 可正可负）", (CNN + "test_trajectory_matches_reference",)),
    # -- attention_heads ------------------------------------------------------------------------------------
    Rule("attention_heads", r"每个头做缩放点积注意力 $\mathrm{softmax}(\mathbf{Q}\mathbf{K}^\top/\sqrt{d})\mathbf{V}$，拼接各头的结果后经过 `o`。",
         (ATT + "test_trajectory_matches_reference",)),
    Rule("attention_heads", r"除非 `random_init=True`，所有参数（权重和偏置）都设为常数 `value`",
         (ATT + "test_initial_weight_is_the_constant", ATT + "test_heads_stay_tied", P + "check_attention_heads__initial_constant")),
    Rule("attention_heads", r"用 `torch.optim.SGD(lr=lr)` 做 `steps` 步全批量梯度下降", (ATT + "test_trajectory_matches_reference",)),
    Rule("attention_heads", r"先 `torch.manual_seed(seed)`",
         (ATT + "test_random_init_unties_heads", P + "check_attention_heads__random_init_differs")),
    Rule("attention_heads", r"返回训练后查询投影 `q` 的权重，按头分开：形状 `[num_heads, d, embed_dim]`",
         (ATT + "test_initial_weight_is_the_constant", ATT + "test_trajectory_matches_reference")),
    # -- tie_breakers ---------------------------------------------------------------------------------------
    Rule("tie_breakers", r"把答案写成字典 `BREAKS_SYMMETRY`，键如上，值为 `True`（能打破）或 `False`（不能）。",
         (TB + "test_answer", P + "check_tie_breakers__keys_and_types")),
    Rule("tie_breakers", r"只考虑精确算术（忽略浮点舍入误差）。", (TB + "test_answer",)),
)
