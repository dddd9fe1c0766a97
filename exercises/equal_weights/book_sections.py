"""Where the book teaches each part of `equal_weights`, and what to reread when a public check fails.

Ships to students beside public_checks.py: the self-check prints the hint and a link into the book.
The hidden checks' hints live in hints.py, which never ships.  A hint says where to look, never an
input or an expected value (the leak scan checks).
"""


def N_(message):  # marks a message for the catalog (locale/); selfcheck translates it where it is shown
    return message


# part, or part::check-name prefix -> label of a section of book/numerical-stability.md (selfcheck.SECTION_TITLES)
SECTIONS = {
    "linear_regression": "breaking-the-symmetry",
    "softmax_gradient": "breaking-the-symmetry",
    "softmax_training": "breaking-the-symmetry",
    "distinct_units": "breaking-the-symmetry",
    "mlp_ties": "breaking-the-symmetry",
}

# public check name (or a prefix of names; the longest match wins) -> one line, in the source language (its English is in the catalog)
HINTS = {
    "check_linear_regression__": N_("线性回归的平方损失是凸函数, 从相同的权重出发的全批量梯度下降也走到最小二乘解: 检查梯度里的 1/n 和偏置的更新。"),
    "check_linear_regression__shapes_and_device": N_("返回 (w, b): w 与 w0 同形状, b 是 0 维张量, 都和 X 在同一设备上。"),
    "check_softmax_gradient__": N_("softmax 交叉熵对 logits 的梯度是 (P − Y)/n; 再按链式法则得到 dW 和 db, 减去每行最大值防止溢出。"),
    "check_softmax_gradient__labels_break_symmetry": N_("即使所有权重相同, 不同类别的标签不同, 各行收到的梯度也不同: 检查 one-hot 的 Y 是否按标签填写。"),
    "check_softmax_training__": N_("softmax 回归的损失是凸的, 常数初始化与随机初始化最终到达同样的损失: 检查每步的梯度下降更新。"),
    "check_distinct_units__": N_("按顺序扫描各行, 与已保留的每一行的逐元素最大绝对差都超过 atol 时才算一个新单元。"),
    "check_mlp_ties__": N_("所有参数都初始化为同一个常数时, 隐藏单元收到相同的梯度, 训练之后 W1 的各行仍然相同: 偏置和输出层也要设成常数。"),
}
