"""Hints of the hidden checks of `divergence` (instructor side: never ships; feedback shows them after grading).

Keys: a part (every check of it), or ``part::`` plus a prefix of a check's name (the longest match wins).
The section each check belongs to is in book_sections.py.  A hint names the idea to reread, never an
input or an expected value.
"""
from grader.i18n import N_

HINTS = {
    "lars_step": N_("对照书中 LARS 的更新式: 局部学习率由整个张量的 ||w|| 和 ||g|| 算出, 权重衰减先加到梯度上, 动量缓冲区累积的是乘过学习率的更新。"),
    "lars_step::test_momentum": N_("每个参数一个动量缓冲区, 从零开始并在各步之间保存, 不要每步重新创建。"),
    "lars_step::test_weight_decay": N_("权重衰减系数出现在两处: 局部学习率的分母里, 以及加到梯度上的 β w 项。"),
    "lars_step::test_zero_norm": N_("||w|| 或 ||g|| 为零时局部学习率取 1 (笔记本里的约定), 更新不能出现 nan。"),
    "lars_step::test_all_zero": N_("参数和梯度都为零时更新应当恰好为零: 零范数时别除以零。"),
    "lars_step::test_float32": N_("float32 参数的计算留在 float32 里, 缓冲区与参数同数据类型。"),
    "clip_global_norm": N_("全局范数是所有梯度拼成一个向量后的 l2 范数; 每个张量乘同一个系数 min(1, θ/||g||), 返回 (clipped, total_norm)。"),
    "clip_global_norm::test_global_not_per_tensor": N_("裁剪系数由全部梯度共同的范数决定, 而不是每个张量各算各的。"),
    "clip_global_norm::test_zero_gradients": N_("梯度全为零时范数为零, 不要除以零; 返回的梯度仍是零。"),
    "deep_mlp": N_("按笔记本的约定初始化网络、生成数据; 差初始化下每层的雅可比矩阵放大梯度, SGD 才会发散。"),
    "deep_mlp::test_lars_recovers": N_("LARS 训练应当收敛: 检查训练循环是否用了你实现的 LARS, 每步是否清零梯度。"),
    "deep_mlp::test_reproducible": N_("同一个 seed 应当给出同样的损失序列: 所有随机数都从这个 seed 的生成器里抽。"),
    "deep_mlp::test_same_start": N_("SGD 和 LARS 应当从同一组初始参数出发: 两者用同一个 seed 构造网络。"),
    "deep_mlp::test_depth": N_("depth 参数要真的决定层数, 不能写死。"),
}
