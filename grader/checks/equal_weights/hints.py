"""Hints of the hidden checks of `equal_weights` (instructor side: never ships; feedback shows them after grading).

Keys: a part (every check of it), or ``part::`` plus a prefix of a check's name (the longest match wins).
The section each check belongs to is in book_sections.py.  A hint names the idea to reread, never an
input or an expected value.
"""
from grader.i18n import N_

HINTS = {
    "linear_regression": N_("全批量梯度下降: 残差 r = Xw + b − y, w 的梯度是 Xᵀr/n, b 的梯度是 r 的平均; w 与 b 同时更新。"),
    "linear_regression::test_shapes": N_("返回的 w 与 w0 同形状、b 是 0 维张量, 数据类型和设备跟随 X。"),
    "softmax_gradient": N_("梯度是 (P − Y)/n 乘以 X (dW) 和按样本求和 (db); 手写, 不用自动求导, 数值上先减去每行最大值。"),
    "softmax_gradient::test_class_missing": N_("某个类别不在这一批样本里时, 它那一行的梯度只来自 P, 不能出错或变成 nan。"),
    "softmax_gradient::test_works_without_autograd": N_("梯度要用公式直接算出, 不能依赖 requires_grad 或 torch.autograd。"),
    "softmax_training": N_("每一步用平均交叉熵的梯度更新 W 和 b; 常数初始化的 softmax 回归不会卡住, 因为不同类别的标签打破了对称。"),
    "distinct_units": N_("逐行比较逐元素最大绝对差, 超过 atol 才算不同; 注意只有一行、全部相同和全部不同的情形。"),
    "mlp_ties": N_("单隐藏层 ReLU 网络的全部参数初始化为同一个常数, 用全批量梯度下降训练; 隐藏单元应始终绑在一起。"),
}
