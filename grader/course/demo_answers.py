'''grace's hand-in for the demo class: a second correct answer to every exercise, written apart from the
reference solution (other algorithms, other library calls, other structure), and her written answers.

With alice (the reference solution) she is the demo's honest pair: both correct, and the similarity
report must not flag them.  Instructor side only: nothing here ships.
'''

# assignment -> grade_id of a solution cell -> its source
CODE = {
    "divergence": {
        "lars_class": '''class LARS(torch.optim.Optimizer):
    """Every parameter tensor gets its own step size: trust * |w| / (|g| + wd |w|)."""

    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=0.001, eps=1e-8):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                                  "trust_coefficient": trust_coefficient, "eps": eps})

    @staticmethod
    def _rate(w, grad, cfg):
        wn, gn = w.norm(), grad.norm()
        if wn.item() == 0.0 or gn.item() == 0.0:  # the convention: plain SGD step for empty layers
            return torch.ones((), dtype=w.dtype, device=w.device)
        return cfg["trust_coefficient"] * wn / (gn + cfg["weight_decay"] * wn + cfg["eps"])

    def step(self, closure=None):
        result = closure() if closure is not None else None
        with torch.no_grad():
            for cfg in self.param_groups:
                for w in cfg["params"]:
                    if w.grad is None:
                        continue
                    push = (w.grad + cfg["weight_decay"] * w) * (cfg["lr"] * self._rate(w, w.grad, cfg))
                    velocity = self.state[w].setdefault("velocity", torch.zeros_like(w))
                    velocity.mul_(cfg["momentum"]).add_(push)
                    w.sub_(velocity)
        return result
''',
        "clip_function": '''def clip_by_global_norm(grads, max_norm):
    """All gradients rescaled together so that their joint l2 norm is at most max_norm."""
    everything = torch.cat([g.detach().reshape(-1) for g in grads])
    joint = torch.linalg.vector_norm(everything)
    factor = min(1.0, max_norm / (joint.item() + 1e-6))
    return [g.detach() * factor for g in grads], joint
''',
        "deep_mlp_function": '''def train_deep_mlp(optimizer, steps, seed, depth=20, width=32, device="cpu"):
    """The badly initialised deep ReLU network, trained with the chosen optimizer: the list of losses."""
    rng = torch.Generator().manual_seed(seed)
    inputs = torch.randn(64, 8, generator=rng)
    direction = torch.randn(8, 1, generator=rng) / math.sqrt(8)
    targets = torch.tanh(2 * inputs @ direction)
    sizes = [8] + [width] * (depth - 1) + [1]
    blocks = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layer = torch.nn.Linear(fan_in, fan_out, bias=False)
        layer.weight.data = torch.randn(fan_out, fan_in, generator=rng) * 2 / math.sqrt(fan_in)
        blocks += [layer, torch.nn.ReLU()]
    model = torch.nn.Sequential(*blocks[:-1]).to(device)
    inputs, targets = inputs.to(device), targets.to(device)
    if optimizer == "lars":
        opt = LARS(model.parameters(), lr=1.0, momentum=0.9, trust_coefficient=0.001)
    elif optimizer in ("sgd", "clip"):
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        raise ValueError(optimizer)
    history = []
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        history.append(float(loss))
        opt.zero_grad()
        loss.backward()
        if optimizer == "clip":
            grads = [p.grad for p in model.parameters()]
            for p, g in zip(model.parameters(), clip_by_global_norm(grads, 1.0)[0]):
                p.grad = g
        opt.step()
    return history
''',
    },
    "eigen_bounds": {
        "product_bounds_solution": '''def singular_value_bounds(A, B):
    """Bound k: the smallest product sA[a] * sB[k - a] over the splits of k (an anti-diagonal of the table)."""
    r = min(A.shape[0], B.shape[1])

    def padded(M):
        s = torch.linalg.svdvals(M)
        out = torch.zeros(r, dtype=M.dtype, device=M.device)
        m = min(r, s.numel())
        out[:m] = s[:m]
        return out

    table = padded(A)[:, None] * padded(B)[None, :]
    flipped = torch.flip(table, dims=[1])
    return torch.stack([flipped.diagonal(r - 1 - k).min() for k in range(r)])


def spectral_radius_bound(A, B):
    return torch.linalg.svdvals(A)[0] * torch.linalg.svdvals(B)[0]


def condition_bound(A, B):
    return torch.linalg.cond(A) * torch.linalg.cond(B)
''',
        "psd_bounds_solution": '''def psd_product_eigen_bounds(A, B):
    ea, eb = torch.linalg.eigvalsh(A), torch.linalg.eigvalsh(B)
    return ea.min() * eb.min(), ea.max() * eb.max()


def psd_product_eigenvalues(A, B):
    """AB is similar to B^(1/2) A B^(1/2), which is symmetric."""
    vals, vecs = torch.linalg.eigh(B)
    half = vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.mT
    M = half @ A @ half
    return torch.linalg.eigvalsh(0.5 * (M + M.mT))
''',
        "lyapunov_solution": '''def top_lyapunov(mats):
    n = mats.shape[-1]
    v = torch.full((n,), 1 / math.sqrt(n), dtype=mats.dtype, device=mats.device)
    logs = []
    for M in mats:
        v = M @ v
        size = v.norm()
        logs.append(size.log())
        v = v / size
    return torch.stack(logs).mean()


def all_lyapunov(mats):
    n = mats.shape[-1]
    frame = torch.eye(n, dtype=mats.dtype, device=mats.device)
    growth = []
    for M in mats:
        frame, upper = torch.linalg.qr(M @ frame)
        growth.append(upper.diagonal().abs().log())
    return torch.stack(growth).mean(dim=0).sort(descending=True).values
''',
        "critical_sigma_solution": '''def gaussian_top_lyapunov(n, sigma):
    half = torch.tensor(n, dtype=torch.float64) / 2
    return float(torch.log(torch.tensor(sigma, dtype=torch.float64)) + (math.log(2) + torch.special.digamma(half)) / 2)


def critical_sigma(n):
    # lambda_1(n, sigma) = log(sigma) + lambda_1(n, 1): zero at sigma = exp(-lambda_1(n, 1))
    return math.exp(-gaussian_top_lyapunov(n, 1.0))
''',
    },
    "equal_weights": {
        "fit_linear": '''def fit_linear(X, y, w0, b0, lr, steps):
    """Gradient descent on the augmented design [X, 1] with theta = (w, b)."""
    n, d = X.shape
    design = torch.cat([X, torch.ones(n, 1, dtype=X.dtype, device=X.device)], dim=1)
    theta = torch.cat([w0.to(X.dtype).reshape(-1), torch.as_tensor(b0, dtype=X.dtype, device=X.device).reshape(1)])
    for _ in range(steps):
        theta = theta - (lr / n) * (design.T @ (design @ theta - y))
    return theta[:d].clone(), theta[d].clone()
''',
        "softmax_regression_grad": '''def softmax_regression_grad(X, y, W, b):
    n = X.shape[0]
    delta = torch.softmax(X @ W.T + b, dim=1)
    delta[torch.arange(n, device=X.device), y] -= 1  # softmax minus the one-hot labels
    delta = delta / n
    return delta.T @ X, delta.sum(0)
''',
        "train_softmax": '''def train_softmax(X, y, W0, b0, lr, steps):
    W, b = W0.clone(), b0.clone()
    for _ in range(steps):
        dW, db = softmax_regression_grad(X, y, W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b
''',
        "count_distinct_units": '''def count_distinct_units(W, atol):
    kept = W[:0]
    for row in W:
        if kept.shape[0] == 0 or bool(((kept - row).abs().amax(dim=1) > atol).all()):
            kept = torch.cat([kept, row[None]])
    return int(kept.shape[0])
''',
        "train_constant_mlp": '''def train_constant_mlp(X, y, hidden, value, lr, steps):
    hidden_layer = torch.nn.Linear(X.shape[1], hidden).to(X.device, X.dtype)
    output_layer = torch.nn.Linear(hidden, 1).to(X.device, X.dtype)
    params = list(hidden_layer.parameters()) + list(output_layer.parameters())
    with torch.no_grad():
        for p in params:
            p.fill_(value)
    sgd = torch.optim.SGD(params, lr=lr)
    for _ in range(steps):
        with torch.enable_grad():
            prediction = output_layer(torch.relu(hidden_layer(X))).squeeze(1)
            loss = F.mse_loss(prediction, y)
            sgd.zero_grad()
            loss.backward()
        sgd.step()
    return hidden_layer.weight.detach().clone()
''',
    },
    "symmetry": {
        "permute_conv_channels": '''def permute_conv_channels(w1, b1, w2, perm):
    return w1.index_select(0, perm), b1.index_select(0, perm), w2.index_select(1, perm)
''',
        "tied_groups": '''def tied_groups(weight, atol=1e-6):
    """Union-find over the pairs of channels that agree within atol."""
    flat = weight.detach().reshape(weight.shape[0], -1).cpu()
    n = flat.shape[0]
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if (flat[i] - flat[j]).abs().max().item() <= atol:
                parent[root(j)] = root(i)
    buckets = {}
    for i in range(n):
        buckets.setdefault(root(i), []).append(i)
    return sorted(buckets.values(), key=lambda group: group[0])
''',
        "train_constant_cnn": '''def train_constant_cnn(steps, seed=0, lr=0.5, value=0.1, channels=8, dropout=False, random_init=False, device="cpu"):
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(), nn.Dropout(0.5) if dropout else nn.Identity(),
        nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10))
    if not random_init:
        for p in model.parameters():
            nn.init.constant_(p, value)
    model = model.to(device)
    data = torch.Generator().manual_seed(seed)
    images = torch.randn(32, 3, 8, 8, generator=data).to(device)
    labels = torch.randint(0, 10, (32,), generator=data).to(device)
    sgd = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        sgd.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        sgd.step()
    return model[0].weight.detach()
''',
        "train_constant_attention": '''def train_constant_attention(steps, seed=0, lr=0.5, value=0.1, embed_dim=16, num_heads=4, random_init=False, device="cpu"):
    """torch's own nn.MultiheadAttention; its query weights are the first embed_dim rows of in_proj_weight."""
    torch.manual_seed(seed)
    attention = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)
    if not random_init:
        with torch.no_grad():
            for p in attention.parameters():
                p.fill_(value)
    attention = attention.to(device)
    data = torch.Generator().manual_seed(seed)
    tokens = torch.randn(8, 6, embed_dim, generator=data).to(device)
    goal = torch.randn(8, 6, embed_dim, generator=data).to(device)
    sgd = torch.optim.SGD(attention.parameters(), lr=lr)
    for _ in range(steps):
        sgd.zero_grad()
        out, _ = attention(tokens, tokens, tokens, need_weights=False)
        F.mse_loss(out, goal).backward()
        sgd.step()
    return attention.in_proj_weight.detach()[:embed_dim].reshape(num_heads, embed_dim // num_heads, embed_dim)
''',
        "breaks_symmetry": '''# what gives two identical units different gradients at some step
BREAKERS = {"random_init", "dropout", "gradient_noise"}
KEEPERS = ["weight_decay", "momentum", "larger_learning_rate", "batchnorm", "adam", "gradient_clipping",
           "data_augmentation"]
BREAKS_SYMMETRY = {name: True for name in sorted(BREAKERS)}
BREAKS_SYMMETRY.update(dict.fromkeys(KEEPERS, False))
''',
    },
}

# assignment -> grade_id of a written (manually graded) answer -> grace's text
WRITTEN = {
    "divergence": {"answer_post_hoc": "裁剪和 LARS 限制了每一步更新的大小, 所以训练不再发散; "
                                      "但它们不改变初始化本身, 前向信号仍然逐层放大, 网络仍然难以训练得好。"},
    "eigen_bounds": {"discussion_answer": "梯度是许多雅可比矩阵的乘积, 它的范数被各因子范数的乘积所界定, "
                                          "条件数的乘积说明各方向的缩放会越来越不均匀。"},
    "equal_weights": {"why_equal_ok": "线性回归和 softmax 回归的损失是凸的, 而且没有隐藏单元可以交换, "
                                      "所以从相同的权重出发也能到达最优解; 多层感知机的隐藏单元对称, 相同的初值永远得到相同的梯度。"},
    "symmetry": {"design_symmetry": "混合专家层: 交换两个专家以及门控网络的对应输出, 函数不变; "
                                    "若专家初始化相同, 它们会一直相同, 需要随机初始化打破。"},
}
