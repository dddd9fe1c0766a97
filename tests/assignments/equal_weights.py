"""The `equal_weights` table: its mutants and correct alternatives (see tests/assignments/__init__.py)."""
from assignments import Alternative, Mutant

MUTANTS = [
    Mutant("linear_no_mean", "linear_regression", {"w - lr * (X.T @ r) / n,": "w - lr * (X.T @ r),"}),
    Mutant("linear_missing_bias", "linear_regression", {"r = X @ w + b - y": "r = X @ w - y"}, public=True),
    Mutant("linear_wrong_sign", "linear_regression",
           {"w, b = w - lr * (X.T @ r) / n, b - lr * r.sum() / n": "w, b = w + lr * (X.T @ r) / n, b + lr * r.sum() / n"}),
    Mutant("linear_b_not_updated", "linear_regression",
           {"w, b = w - lr * (X.T @ r) / n, b - lr * r.sum() / n": "w, b = w - lr * (X.T @ r) / n, b"}),
    # in place on the caller's w0: the statement says not to modify it
    Mutant("linear_updates_w0_in_place", "linear_regression",
           {"w = w0.detach().clone().to(X.dtype)": "w = w0.to(X.dtype)",
            "w, b = w - lr * (X.T @ r) / n, b - lr * r.sum() / n": "w -= lr * (X.T @ r) / n\n        b = b - lr * r.sum() / n"}),
    Mutant("softmax_no_mean", "softmax_gradient", {"G = (P - Y) / n": "G = P - Y"}),
    Mutant("softmax_no_onehot", "softmax_gradient", {"G = (P - Y) / n": "G = P / n"}, public=True),
    Mutant("softmax_bias_wrong_dim", "softmax_gradient", {"db = G.sum(dim=0)": "db = G.sum(dim=1)"}),
    Mutant("softmax_transposed_dW", "softmax_gradient", {"dW = G.T @ X": "dW = X.T @ G"}),
    Mutant("softmax_k_from_labels", "softmax_gradient", {"n, k = X.shape[0], W.shape[0]": "n, k = X.shape[0], int(y.max()) + 1"}),
    # the statement asks for the max subtraction: large logits overflow exp without it
    Mutant("softmax_no_max_subtraction", "softmax_gradient",
           {"    logits = logits - logits.max(dim=1, keepdim=True).values\n": ""}),
    # autograd where the statement forbids it: fails where the grader calls it, under torch.no_grad()
    Mutant("softmax_by_autograd", "softmax_gradient",
           {"    n, k = X.shape[0], W.shape[0]\n    logits = X @ W.T + b\n":
            "    Wg, bg = W.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True)\n"
            "    return torch.autograd.grad(F.cross_entropy(X @ Wg.T + bg, y), (Wg, bg))\n"
            "    n, k = X.shape[0], W.shape[0]\n    logits = X @ W.T + b\n"}),
    Mutant("softmax_train_b_not_updated", "softmax_training", {"W -= lr * gW\n            b -= lr * gb": "W -= lr * gW"},
           public=True),
    # detach() shares storage: the in-place updates land in the caller's W0
    Mutant("softmax_train_updates_W0", "softmax_training",
           {"W = W0.detach().clone().requires_grad_(True)": "W = W0.detach().requires_grad_(True)"}),
    Mutant("count_ignores_atol", "distinct_units",
           {"if all(float((row - r).abs().max()) > atol for r in reps):": "if all(not torch.equal(row, r) for r in reps):"},
           public=True),
    Mutant("count_l2_distance", "distinct_units",
           {"if all(float((row - r).abs().max()) > atol for r in reps):": "if all(float((row - r).norm()) > atol for r in reps):"}),
    Mutant("mlp_random_hidden_bias", "mlp_ties",
           {"b1 = torch.full((hidden,), value, **kw, requires_grad=True)": "b1 = torch.randn(hidden, **kw).requires_grad_(True)"},
           public=True),
    Mutant("mlp_update_rebinds_copy", "mlp_ties", {"p -= lr * g": "p = p - lr * g"}),
    Mutant("mlp_no_output_bias", "mlp_ties",
           {"out = torch.relu(X @ W1.T + b1) @ w2 + b2": "out = torch.relu(X @ W1.T + b1) @ w2"}),
    Mutant("mlp_sum_loss", "mlp_ties", {"loss = ((out - y) ** 2).mean()": "loss = ((out - y) ** 2).sum()"}),
]

# Hard-codes the CPU: the one-hot targets are created on the CPU while the logits live on the device.
CPU_ONLY = [Mutant("softmax_onehot_on_cpu", "softmax_gradient",
                   {"Y = torch.zeros(n, k, dtype=X.dtype, device=X.device)": "Y = torch.zeros(n, k, dtype=X.dtype)"})]

ALTERNATIVES = [
    # autograd everywhere it is allowed, nn.Module style for the MLP
    Alternative("autograd_and_modules", '''
def fit_linear(X, y, w0, b0, lr, steps):
    w = w0.clone().requires_grad_(True)
    b = b0.clone().reshape(()).requires_grad_(True)
    for _ in range(steps):
        with torch.enable_grad():
            loss = ((X @ w + b - y) ** 2).sum() / (2 * X.shape[0])
            gw, gb = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w.sub_(lr * gw)
            b.sub_(lr * gb)
    return w.detach(), b.detach()


def softmax_regression_grad(X, y, W, b):
    P = torch.softmax(X @ W.T + b, dim=1)
    P[torch.arange(X.shape[0], device=X.device), y] -= 1
    P /= X.shape[0]
    return P.T @ X, P.sum(0)


def train_softmax(X, y, W0, b0, lr, steps):
    W, b = W0.clone(), b0.clone()
    for _ in range(steps):
        gW, gb = softmax_regression_grad(X, y, W, b)
        W, b = W - lr * gW, b - lr * gb
    return W, b


def count_distinct_units(W, atol):
    reps = []
    for i in range(W.shape[0]):
        if not any(torch.max(torch.abs(W[i] - r)).item() <= atol for r in reps):
            reps.append(W[i])
    return int(len(reps))


class ConstMLP(torch.nn.Module):
    def __init__(self, d, hidden, value):
        super().__init__()
        self.hidden = torch.nn.Linear(d, hidden)
        self.out = torch.nn.Linear(hidden, 1)
        for p in self.parameters():
            torch.nn.init.constant_(p, value)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x))).squeeze(-1)


def train_constant_mlp(X, y, hidden, value, lr, steps):
    net = ConstMLP(X.shape[1], hidden, value).to(device=X.device, dtype=X.dtype)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        with torch.enable_grad():
            F.mse_loss(net(X), y).backward()
        opt.step()
    return net.hidden.weight.detach().clone()
'''),
    # vectorised and in float64 inside, cast back to the input's dtype at the end
    Alternative("float64_inside_vectorised", '''
def fit_linear(X, y, w0, b0, lr, steps):
    Xd = torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device)], dim=1).double()
    theta = torch.cat([w0.reshape(-1), b0.reshape(1)]).to(Xd)
    for _ in range(steps):
        theta = theta - lr * Xd.T @ (Xd @ theta - y.double()) / X.shape[0]
    return theta[:-1].to(X.dtype), theta[-1].to(X.dtype)


def softmax_regression_grad(X, y, W, b):
    Xd = X.double()
    logits = Xd @ W.double().T + b.double()
    P = torch.exp(logits - torch.logsumexp(logits, dim=1, keepdim=True))
    G = (P - F.one_hot(y, W.shape[0]).double()) / X.shape[0]
    return (G.T @ Xd).to(X.dtype), G.sum(0).to(X.dtype)


def train_softmax(X, y, W0, b0, lr, steps):
    W = W0.detach().clone()
    b = b0.detach().clone()
    for _ in range(steps):
        gW, gb = softmax_regression_grad(X, y, W, b)
        W -= lr * gW
        b -= lr * gb
    return W, b


def count_distinct_units(W, atol):
    D = torch.cdist(W.double(), W.double(), p=float("inf"))
    reps = []
    for i in range(W.shape[0]):
        if all(D[i, j] > atol for j in reps):
            reps.append(i)
    return len(reps)


def train_constant_mlp(X, y, hidden, value, lr, steps):
    d = X.shape[1]
    params = [torch.full(s, float(value), dtype=X.dtype, device=X.device) for s in [(hidden, d), (hidden,), (hidden,), ()]]
    for _ in range(steps):
        params = [p.detach().requires_grad_(True) for p in params]
        with torch.enable_grad():
            W1, b1, w2, b2 = params
            loss = torch.mean((F.relu(F.linear(X, W1, b1)) @ w2 + b2 - y) ** 2)
            grads = torch.autograd.grad(loss, params)
        params = [p.detach() - lr * g for p, g in zip(params, grads)]
    return params[0]
'''),
    # hand-written gradients everywhere (also for the MLP), no autograd at all
    Alternative("by_hand", '''
def fit_linear(X, y, w0, b0, lr, steps):
    n = len(X)
    w, b = w0 + 0, b0.reshape(()) + 0
    for _ in range(steps):
        r = torch.addmv(b - y, X, w)
        gw, gb = X.T @ r / n, r.mean()
        w, b = w - lr * gw, b - lr * gb
    return w, b


def softmax_regression_grad(X, y, W, b):
    z = X @ W.T + b
    z = z - z.amax(1, keepdim=True)
    e = z.exp()
    P = e / e.sum(1, keepdim=True)
    Y = torch.zeros_like(P).scatter_(1, y.view(-1, 1), 1.0)
    n = X.shape[0]
    return (P - Y).T @ X / n, (P - Y).sum(0) / n


def train_softmax(X, y, W0, b0, lr, steps):
    W, b = W0, b0
    for _ in range(steps):
        gW, gb = softmax_regression_grad(X, y, W, b)
        W = W - lr * gW
        b = b - lr * gb
    return W, b


def count_distinct_units(W, atol):
    count, reps = 0, torch.empty(0, W.shape[1], dtype=W.dtype, device=W.device)
    for row in W:
        if reps.shape[0] == 0 or bool(((reps - row).abs().amax(dim=1) > atol).all()):
            reps = torch.cat([reps, row[None]])
            count += 1
    return count


def train_constant_mlp(X, y, hidden, value, lr, steps):
    n, d = X.shape
    W1 = torch.full((hidden, d), value, dtype=X.dtype, device=X.device)
    b1 = torch.full((hidden,), value, dtype=X.dtype, device=X.device)
    w2 = torch.full((hidden,), value, dtype=X.dtype, device=X.device)
    b2 = torch.tensor(value, dtype=X.dtype, device=X.device)
    for _ in range(steps):
        Z = X @ W1.T + b1
        H = Z.clamp(min=0)
        out = H @ w2 + b2
        g_out = 2 * (out - y) / n
        g_w2, g_b2 = H.T @ g_out, g_out.sum()
        g_Z = g_out[:, None] * w2[None, :] * (Z > 0).to(X.dtype)
        g_W1, g_b1 = g_Z.T @ X, g_Z.sum(0)
        W1, b1, w2, b2 = W1 - lr * g_W1, b1 - lr * g_b1, w2 - lr * g_w2, b2 - lr * g_b2
    return W1
'''),
]

# The answers that slipped through last time (issue 19): each is a clause of the statement no check varied.
MUTANTS += [
    # b updated from the new w ("两者用同一步的梯度同时更新"): invisible on centred columns
    Mutant("linear_bias_from_the_new_weights", "linear_regression",
           {"w, b = w - lr * (X.T @ r) / n, b - lr * r.sum() / n":
            "w = w - lr * (X.T @ r) / n\n        b = b - lr * (X @ w + b - y).sum() / n"}),
    # parameters created in the default dtype, not the input's
    Mutant("mlp_parameters_in_default_dtype", "mlp_ties",
           {"kw = dict(dtype=X.dtype, device=X.device)": "kw = dict(device=X.device)"}),
    Mutant("softmax_training_in_float32", "softmax_training",
           {"W = W0.detach().clone().requires_grad_(True)": "W = W0.detach().clone().float().requires_grad_(True)",
            "b = b0.detach().clone().requires_grad_(True)": "b = b0.detach().clone().float().requires_grad_(True)",
            "loss = F.cross_entropy(X @ W.T + b, y)": "loss = F.cross_entropy(X.float() @ W.T + b, y)"}),
    # torch.allclose's default rtol = 1e-5 added to atol: invisible for entries of size 1
    Mutant("count_with_allclose_rtol", "distinct_units",
           {"if all(float((row - r).abs().max()) > atol for r in reps):":
            "if all(not torch.allclose(row, r, atol=atol) for r in reps):"}),
]

ALTERNATIVES += [
    # float64-safe by construction: everything built from the inputs with *_like / new_full, autograd for the fit
    Alternative("dtype_from_the_inputs", '''
def fit_linear(X, y, w0, b0, lr, steps):
    w = w0.detach().to(dtype=X.dtype, device=X.device).clone().requires_grad_(True)
    b = X.new_tensor(float(b0)).requires_grad_(True)
    n = X.shape[0]
    for _ in range(steps):
        with torch.enable_grad():
            loss = ((X @ w + b - y) ** 2).sum() / (2 * n)
            gw, gb = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w, b = (w - lr * gw).requires_grad_(True), (b - lr * gb).requires_grad_(True)
    return w.detach(), b.detach()


def train_constant_mlp(X, y, hidden, value, lr, steps):
    d = X.shape[1]
    params = [X.new_full((hidden, d), value), X.new_full((hidden,), value), X.new_full((hidden,), value), X.new_full((), value)]
    for _ in range(steps):
        params = [p.detach().requires_grad_(True) for p in params]
        with torch.enable_grad():
            W1, b1, w2, b2 = params
            loss = F.mse_loss(F.relu(F.linear(X, W1, b1)) @ w2 + b2, y)
            grads = torch.autograd.grad(loss, params)
        params = [p.detach() - lr * g for p, g in zip(params, grads)]
    return params[0].detach()
'''),
    # softmax training by the hand-written gradient, in the inputs' dtype; count by a pairwise distance matrix
    Alternative("train_by_own_gradient_and_cdist", '''
def train_softmax(X, y, W0, b0, lr, steps):
    W, b = W0.detach().clone(), b0.detach().clone()
    for _ in range(steps):
        dW, db = softmax_regression_grad(X, y, W, b)
        W, b = W - lr * dW, b - lr * db
    return W, b


def count_distinct_units(W, atol):
    D = torch.cdist(W.double(), W.double(), p=float("inf"))
    reps = []
    for i in range(W.shape[0]):
        if all(float(D[i, j]) > atol for j in reps):
            reps.append(i)
    return len(reps)
'''),
]

# No part's statement allows float32 where a float64 input is given ("保持输入的数据类型", 1e-7 for float64).
FLOAT32 = {}
