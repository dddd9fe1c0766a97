"""Hints of the hidden checks of `symmetry` (instructor side: never ships; feedback shows them after grading).

Keys: a part (every check of it), or ``part::`` plus a prefix of a check's name (the longest match wins).
The section each check belongs to is in book_sections.py.  A hint names the idea to reread, never an
input or an expected value.
"""
from grader.i18n import N_

HINTS = {
    "permute_channels": N_("同一个置换作用在第一层的输出通道 (权重和偏置) 和第二层的输入通道上, 网络的函数才不变。"),
    "permute_channels::test_inputs_not_modified": N_("不要原地修改传入的张量: 返回新的张量。"),
    "permute_channels::test_convention": N_("约定是新通道 i 等于旧通道 perm[i], 而不是反过来。"),
    "detect_ties": N_("两个通道绑在一起, 当且仅当展平后逐元素最大绝对差不超过 atol; 分组要把相连的链条合成一组。"),
    "detect_ties::test_max_abs_difference": N_("比较用的是逐元素最大绝对差, 不是范数或平均差。"),
    "constant_init_cnn": N_("按规格构造网络, 常数初始化覆盖所有权重和偏置; 暂退法或随机初始化才能让通道分开。"),
    "constant_init_cnn::test_seed": N_("随机初始化要使用传入的 seed, 同一个 seed 得到同样的结果。"),
    "attention_heads": N_("所有头的参数相同时它们的输出和梯度也相同, 训练后仍然绑在一起; 随机初始化打破这种对称。"),
    "tie_breakers": N_("对每种做法想一想: 它有没有让不同的单元在某一步拥有不同的参数或收到不同的更新; 对相同的参数和相同的梯度做同样运算的做法不会。"),
}
