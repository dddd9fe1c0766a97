"""The `symmetry` table: its mutants and correct alternatives (see tests/assignments/__init__.py)."""
from assignments import Alternative, Mutant

MUTANTS = [
    Mutant("perm_w2_wrong_dim", "permute_channels", {"w2_new = w2[:, perm].clone()": "w2_new = w2[perm].clone()"},
           public=True),
    Mutant("perm_forgets_bias", "permute_channels", {"b1_new = b1[perm].clone()": "b1_new = b1.clone()"}),
    Mutant("perm_inverse", "permute_channels",
           {"    w1_new = w1[perm].clone()": "    perm = torch.argsort(perm)\n    w1_new = w1[perm].clone()"}),
    Mutant("perm_identity_trick", "permute_channels",
           {"    return w1_new, b1_new, w2_new": "    return w1.clone(), b1.clone(), w2.clone()"}),
    # in place on the caller's tensors: the statement asks for new ones
    Mutant("perm_in_place", "permute_channels",
           {"    w1_new = w1[perm].clone()\n    b1_new = b1[perm].clone()\n    w2_new = w2[:, perm].clone()\n"
            "    return w1_new, b1_new, w2_new":
            "    w1.copy_(w1[perm])\n    b1.copy_(b1[perm])\n    w2.copy_(w2[:, perm])\n    return w1, b1, w2"}),
    Mutant("ties_wrong_tolerance_direction", "detect_ties", {"(diff <= atol)": "(diff > atol)"}),
    Mutant("ties_compare_columns", "detect_ties",
           {"rows = weight.detach().reshape(n, -1)": "rows = weight.detach().reshape(n, -1).T"}, public=True),
    Mutant("ties_l2_norm", "detect_ties", {".abs().amax(dim=-1)": ".norm(dim=-1)"}),
    Mutant("ties_not_transitive", "detect_ties", {"                    stack.append(k)": "                    pass"}),
    Mutant("ties_strict_inequality", "detect_ties", {"(diff <= atol)": "(diff < atol)"}),
    Mutant("cnn_random_bias", "constant_init_cnn",
           {"                p.fill_(value)": "                if 'weight' in name:\n                    p.fill_(value)"},
           public=True),
    Mutant("cnn_dropout_ignored", "constant_init_cnn",
           {"self.drop = nn.Dropout(0.5) if dropout else nn.Identity()": "self.drop = nn.Identity()"}),
    Mutant("cnn_dropout_rate_small", "constant_init_cnn", {"nn.Dropout(0.5)": "nn.Dropout(0.05)"}),  # make mutants' survivor
    Mutant("cnn_dropout_after_pooling", "constant_init_cnn",
           {"h = self.drop(F.relu(self.conv1(x)))": "h = F.relu(self.conv1(x))",
            "return self.fc(h)": "return self.fc(self.drop(h))"}),
    Mutant("cnn_max_pooling", "constant_init_cnn",
           {"F.adaptive_avg_pool2d(h, 1)": "F.adaptive_max_pool2d(h, 1)"}),
    Mutant("cnn_no_relu_after_conv2", "constant_init_cnn",
           {"h = F.relu(self.conv2(h))": "h = self.conv2(h)"}),
    Mutant("cnn_no_zero_grad", "constant_init_cnn", {"        opt.zero_grad()\n        loss = F.cross_entropy": "        loss = F.cross_entropy"}),
    Mutant("attention_random_bias", "attention_heads",
           {"        for p in mha.parameters():": "        for p in (mha.q.weight, mha.k.weight, mha.v.weight, mha.o.weight):"}),
    Mutant("attention_random_init_ignored", "attention_heads",
           {"    if not random_init:\n        for p in mha": "    if True:\n        for p in mha"}),
    Mutant("attention_scaled_by_embed_dim", "attention_heads",
           {"/ math.sqrt(self.head_dim)": "/ math.sqrt(E)"}),
    Mutant("attention_softmax_over_queries", "attention_heads",
           {"/ math.sqrt(self.head_dim), dim=-1)": "/ math.sqrt(self.head_dim), dim=-2)"}),
    Mutant("attention_no_output_projection", "attention_heads",
           {"        return self.o(out)": "        return out"}),
    Mutant("breakers_momentum", "tie_breakers", {'"momentum": False': '"momentum": True'}),
    Mutant("breakers_batchnorm", "tie_breakers", {'"batchnorm": False': '"batchnorm": True'}),
    Mutant("breakers_gradient_noise", "tie_breakers", {'"gradient_noise": True': '"gradient_noise": False'}),
]

# Hard-codes the CPU: the model stays on the CPU while the data goes to the device.
CPU_ONLY = [Mutant("cnn_cpu_only", "constant_init_cnn", {"    net = net.to(device)\n": ""})]

ALTERNATIVES = [
    # index_select, union-find, a functional CNN with explicit tensors, einsum attention
    Alternative("functional", '''
def permute_conv_channels(w1, b1, w2, perm):
    return w1.index_select(0, perm), b1.index_select(0, perm), w2.index_select(1, perm)


def tied_groups(weight, atol=1e-6):
    n = weight.shape[0]
    flat = weight.reshape(n, -1)
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if (flat[i] - flat[j]).abs().max().item() <= atol:
                parent[root(j)] = root(i)
    groups = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


def train_constant_cnn(steps, seed=0, lr=0.5, value=0.1, channels=8, dropout=False, random_init=False, device="cpu"):
    torch.manual_seed(seed)
    ref = SmallCNN(channels, dropout=dropout)  # only for PyTorch's default random initialisation
    params = [p.detach().clone() for p in ref.parameters()]
    if not random_init:
        params = [torch.full_like(p, value) for p in params]
    params = [p.to(device).requires_grad_(True) for p in params]
    w1, c1, w2, c2, wf, bf = params
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(32, 3, 8, 8, generator=g).to(device)
    y = torch.randint(0, 10, (32,), generator=g).to(device)
    for _ in range(steps):
        h = F.relu(F.conv2d(x, w1, c1, padding=1))
        if dropout:
            h = F.dropout(h, 0.5, training=True)
        h = F.relu(F.conv2d(h, w2, c2, padding=1)).mean(dim=(2, 3))
        grads = torch.autograd.grad(F.cross_entropy(F.linear(h, wf, bf), y), params)
        with torch.no_grad():
            for p, gr in zip(params, grads):
                p -= lr * gr
    return w1.detach()


class TinyMHA(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h, self.d = num_heads, embed_dim // num_heads
        self.q, self.k, self.v, self.o = (nn.Linear(embed_dim, embed_dim) for _ in range(4))

    def forward(self, x):
        B, T, E = x.shape
        q, k, v = (m(x).reshape(B, T, self.h, self.d) for m in (self.q, self.k, self.v))
        att = torch.einsum("bthd,bshd->bhts", q, k).div(self.d ** 0.5).softmax(-1)
        return self.o(torch.einsum("bhts,bshd->bthd", att, v).reshape(B, T, E))
'''),
    # nn.init on every module, Sequential pieces, PyTorch's fused attention
    Alternative("modules_and_fused_attention", '''
def permute_conv_channels(w1, b1, w2, perm):
    return torch.stack([w1[i] for i in perm.tolist()]), b1[perm], w2.transpose(0, 1)[perm].transpose(0, 1).contiguous()


def tied_groups(weight, atol=1e-6):
    rows = weight.reshape(weight.shape[0], -1).double()
    close = torch.cdist(rows, rows, p=float("inf")) <= atol
    reach = close.clone()
    for _ in range(weight.shape[0]):
        reach = reach | ((reach.double() @ close.double()) > 0)
    groups, seen = [], set()
    for i in range(weight.shape[0]):
        if i not in seen:
            g = [int(j) for j in torch.nonzero(reach[i]).flatten()]
            seen.update(g)
            groups.append(g)
    return groups


class SmallCNN(nn.Module):
    def __init__(self, channels=8, num_classes=10, dropout=False):
        super().__init__()
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1)
        self.drop = nn.Dropout(0.5) if dropout else nn.Identity()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        h = torch.relu(self.conv2(self.drop(torch.relu(self.conv1(x)))))
        return self.fc(torch.flatten(self.pool(h), 1))


def train_constant_cnn(steps, seed=0, lr=0.5, value=0.1, channels=8, dropout=False, random_init=False, device="cpu"):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(32, 3, 8, 8, generator=g), torch.randint(0, 10, (32,), generator=g)
    net = SmallCNN(channels, dropout=dropout)
    if not random_init:
        for m in (net.conv1, net.conv2, net.fc):
            nn.init.constant_(m.weight, value)
            nn.init.constant_(m.bias, value)
    net.to(device).train()
    x, y = x.to(device), y.to(device)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.0)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        nn.CrossEntropyLoss()(net(x), y).backward()
        opt.step()
    return net.conv1.weight.detach().clone()


class TinyMHA(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(embed_dim, embed_dim)
        self.k = nn.Linear(embed_dim, embed_dim)
        self.v = nn.Linear(embed_dim, embed_dim)
        self.o = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        B, T, E = x.shape
        heads = lambda t: t.view(B, T, self.num_heads, -1).permute(0, 2, 1, 3)
        out = F.scaled_dot_product_attention(heads(self.q(x)), heads(self.k(x)), heads(self.v(x)))
        return self.o(out.permute(0, 2, 1, 3).reshape(B, T, E))


def train_constant_attention(steps, seed=0, lr=0.5, value=0.1, embed_dim=16, num_heads=4, random_init=False, device="cpu"):
    torch.manual_seed(seed)
    mha = TinyMHA(embed_dim, num_heads)
    if not random_init:
        with torch.no_grad():
            for p in mha.parameters():
                p.fill_(value)
    mha.to(device)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 6, embed_dim, generator=g, device="cpu").to(device)
    t = torch.randn(8, 6, embed_dim, generator=g).to(device)
    opt = torch.optim.SGD(mha.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        ((mha(x) - t) ** 2).mean().backward()
        opt.step()
    return mha.q.weight.detach().reshape(num_heads, -1, embed_dim)
'''),
    # the answers written out another way; the dict built in a loop
    Alternative("other_spellings", '''
def permute_conv_channels(w1, b1, w2, perm):
    onehot = torch.zeros(len(perm), len(perm), dtype=w1.dtype, device=w1.device)
    onehot[torch.arange(len(perm), device=w1.device), perm] = 1
    return (torch.einsum("ij,j...->i...", onehot, w1), onehot @ b1, torch.einsum("ij,oj...->oi...", onehot, w2))


BREAKS_SYMMETRY = {k: k in ("random_init", "dropout", "gradient_noise") for k in [
    "random_init", "dropout", "gradient_noise", "weight_decay", "momentum", "larger_learning_rate",
    "batchnorm", "adam", "gradient_clipping", "data_augmentation"]}
'''),
]

# The answers that slipped through last time (issue 19): each is a clause of the statement no check varied.
DFS = """        group, stack = {i}, [i]
        while stack:  # depth-first search over the "tied" graph
            j = stack.pop()
            for k in torch.nonzero(close[j]).flatten().tolist():
                if k not in group:
                    group.add(k)
                    stack.append(k)
"""
MUTANTS += [
    # a transitive closure that stops after one squaring: paths of two links, enough for chains of three rows
    Mutant("ties_closure_after_one_squaring", "detect_ties",
           {DFS: "        reach = (close.double() @ close.double()) > 0\n"
                 "        group = set(torch.nonzero(reach[i] | close[i]).flatten().tolist())\n"}),
    # torch.allclose's default rtol = 1e-5 on top of atol: invisible for entries of size 1
    Mutant("ties_allclose_rtol", "detect_ties",
           {"close = (diff <= atol).cpu()":
            "close = torch.tensor([[torch.allclose(rows[a], rows[b], atol=atol) for b in range(n)] for a in range(n)])"}),
    # the default learning rate, hard-coded
    Mutant("cnn_lr_hard_coded", "constant_init_cnn",
           {"opt = torch.optim.SGD(net.parameters(), lr=lr)": "opt = torch.optim.SGD(net.parameters(), lr=0.5)"}),
    Mutant("attention_lr_hard_coded", "attention_heads",
           {"opt = torch.optim.SGD(mha.parameters(), lr=lr)": "opt = torch.optim.SGD(mha.parameters(), lr=0.5)"}),
]

ALTERNATIVES += [
    # union-find over the pairs, tolerance compared as (a - b).abs() <= atol on any dtype; functional permutation
    Alternative("union_find_and_index_select", '''
def tied_groups(weight, atol=1e-6):
    rows = weight.detach().flatten(1)
    n = rows.shape[0]
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if bool(((rows[i] - rows[j]).abs() <= atol).all()):
                parent[find(j)] = find(i)
    groups = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def permute_conv_channels(w1, b1, w2, perm):
    return w1.index_select(0, perm), b1.index_select(0, perm), w2.index_select(1, perm)
'''),
    # optimizer built from a param list with the lr passed by keyword through a dict; F.scaled_dot_product_attention
    Alternative("sdpa_and_hyper_dict", '''
class TinyMHA(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.q, self.k, self.v, self.o = (nn.Linear(embed_dim, embed_dim) for _ in range(4))

    def forward(self, x):
        B, T, E = x.shape
        heads = lambda t: t.reshape(B, T, self.h, E // self.h).permute(0, 2, 1, 3)
        out = F.scaled_dot_product_attention(heads(self.q(x)), heads(self.k(x)), heads(self.v(x)))
        return self.o(out.permute(0, 2, 1, 3).reshape(B, T, E))


def train_constant_attention(steps, seed=0, lr=0.5, value=0.1, embed_dim=16, num_heads=4, random_init=False, device="cpu"):
    torch.manual_seed(seed)
    mha = TinyMHA(embed_dim, num_heads)
    if not random_init:
        with torch.no_grad():
            for p in mha.parameters():
                p.fill_(value)
    mha.to(device)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 6, embed_dim, generator=g).to(device)
    target = torch.randn(8, 6, embed_dim, generator=g).to(device)
    hyper = {"lr": lr}
    opt = torch.optim.SGD(list(mha.parameters()), **hyper)
    for _ in range(steps):
        opt.zero_grad()
        ((mha(x) - target) ** 2).mean().backward()
        opt.step()
    return mha.q.weight.detach().reshape(num_heads, embed_dim // num_heads, embed_dim).clone()
'''),
]

# Parts whose statement allows float32: constant_init_cnn and attention_heads fix float32 themselves, and
# permute_channels keeps the input's dtype exactly: no answer computes in another precision.
FLOAT32 = {"constant_init_cnn": None, "attention_heads": None}
