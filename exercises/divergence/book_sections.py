"""Where the book teaches each part of `divergence`, and what to reread when a public check fails.

Ships to students beside public_checks.py: the self-check prints the hint and a link into the book.
The hidden checks' hints live in hints.py, which never ships.  A hint says where to look, never an
input or an expected value (the leak scan checks).
"""


def N_(message):  # marks a message for the catalog (locale/); selfcheck translates it where it is shown
    return message


# part, or part::check-name prefix -> label of a section of book/numerical-stability.md (selfcheck.SECTION_TITLES)
SECTIONS = {
    "lars_step": "further-reading",
    "clip_global_norm": "further-reading",
    "deep_mlp": "exploding-gradients",
    "deep_mlp::check_deep_mlp__lars_recovers": "further-reading",
    "deep_mlp::test_lars_recovers": "further-reading",
}

# public check name (or a prefix of names; the longest match wins) -> one line, in the source language (its English is in the catalog)
HINTS = {
    "check_lars_step__": N_("对照书中 LARS 的两行更新式, 逐项检查局部学习率、动量缓冲区和权重衰减各自出现在哪里。"),
    "check_lars_step__shapes_dtype_device": N_("每一步之后参数应保持原来的形状、数据类型和设备: 动量缓冲区要在参数所在的设备上创建。"),
    "check_lars_step__relative_step_size": N_("局部学习率的分子是整个参数张量的 l2 范数 ||w||, 不是逐元素的绝对值; 分母是 ||g|| + β||w||。"),
    "check_lars_step__gradient_scale_invariance": N_("不计动量与权重衰减时, 梯度整体放大不应改变更新: 梯度范数应当出现在局部学习率的分母里。"),
    "check_lars_step__zero_norm_is_safe": N_("||w|| 或 ||g|| 为零时按约定把局部学习率取为 1, 不要让除以零产生 nan。"),
    "check_clip_global_norm__": N_("先把所有梯度拼成一个长向量求全局范数, 再让每个张量乘同一个系数 min(1, θ/||g||)。"),
    "check_clip_global_norm__below_threshold_unchanged": N_("全局范数低于阈值时系数取 min(1, ·) 中的 1: 梯度应当原样返回。"),
    "check_deep_mlp__": N_("严格按笔记本约定的初始化和数据生成顺序构造网络, 同一个 seed 下 SGD 与 LARS 从同一起点出发。"),
    "check_deep_mlp__sgd_diverges": N_("按约定的差初始化每层都把信号放大, 梯度随深度指数增长: 检查初始化的尺度和层数是否照约定。"),
    "check_deep_mlp__lars_recovers": N_("LARS 把每层的相对步长限制在 lr 乘信任系数左右: 确认训练用的是你实现的 LARS, 并且每步清零梯度。"),
}
