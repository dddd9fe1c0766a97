"""Where the book teaches each part of `symmetry`, and what to reread when a public check fails.

Ships to students beside public_checks.py: the self-check prints the hint and a link into the book.
The hidden checks' hints live in hints.py, which never ships.  A hint says where to look, never an
input or an expected value (the leak scan checks).
"""


def N_(message):  # marks a message for the catalog (locale/); selfcheck translates it where it is shown
    return message


# part, or part::check-name prefix -> label of a section of book/numerical-stability.md (selfcheck.SECTION_TITLES)
SECTIONS = {
    "permute_channels": "breaking-the-symmetry",
    "detect_ties": "breaking-the-symmetry",
    "constant_init_cnn": "breaking-the-symmetry",
    "attention_heads": "breaking-the-symmetry",
    "tie_breakers": "breaking-the-symmetry",
}

# public check name (or a prefix of names; the longest match wins) -> one line, in the source language (its English is in the catalog)
HINTS = {
    "check_permute_channels__": N_("交换隐藏通道时, 第一层权重和偏置按输出通道重排, 第二层权重按输入通道 (第 1 维) 用同一个置换重排。"),
    "check_permute_channels__inverse_restores": N_("新通道 i 取旧通道 perm[i]; 用逆置换再排一次应当回到原来的参数。"),
    "check_detect_ties__": N_("把除第 0 维以外的维度展平, 逐元素最大绝对差不超过 atol 的通道归为一组, 组的列表构成一个划分。"),
    "check_constant_init_cnn__": N_("常数初始化要覆盖权重和偏置; 同一层的所有通道收到相同的梯度, 训练之后仍然相同。"),
    "check_attention_heads__": N_("各个头的查询、键、值权重都设成同一个常数时, 头与头之间对称; 随机初始化才会让它们不同。"),
    "check_tie_breakers__": N_("BREAKS_SYMMETRY 是字典, 每个键对应一种做法, 值是布尔值: 想一想哪些做法让不同单元拥有不同的参数或得到不同的更新。"),
}
