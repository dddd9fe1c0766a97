"""The `divergence` table: its mutants and correct alternatives (see tests/assignments/__init__.py).

train_deep_mlp uses the notebook's own LARS, so a LARS mutant that no longer trains the network loses
points on deep_mlp too, by design.
"""
from assignments import Alternative, Mutant

MUTANTS = [
    Mutant("lars_momentum_ignored", {"lars_step", "deep_mlp"}, {"buf.mul_(momentum)": "buf.mul_(0.0)"}),
    Mutant("lars_decay_after_trust_ratio", "lars_step",
           {"buf.mul_(momentum).add_(d * (lr * local_lr))": "buf.mul_(momentum).add_(lr * (local_lr * g + wd * p))"}),
    Mutant("lars_decay_not_in_denominator", "lars_step", {"(g_norm + wd * w_norm + eps)": "(g_norm + eps)"}),
    Mutant("lars_elementwise_abs", {"lars_step", "deep_mlp"},
           {"w_norm = torch.linalg.vector_norm(p)\n": "w_norm = p.abs()\n",
            "g_norm = torch.linalg.vector_norm(g)\n": "g_norm = g.abs()\n"}),
    Mutant("lars_no_zero_norm_rule_no_eps", "lars_step",
           {"local_lr = torch.where((w_norm > 0) & (g_norm > 0), ratio, torch.ones_like(ratio))":
            "local_lr = trust * w_norm / (g_norm + wd * w_norm)"}, public=True),
    Mutant("lars_grad_norm_in_numerator", {"lars_step", "deep_mlp"}, {"ratio = trust * w_norm /": "ratio = trust * g_norm /"},
           public=True),
    # the statement: the buffer has the parameter's dtype (a float32 buffer rounds float64 updates)
    Mutant("lars_buffer_float32", "lars_step",
           {"torch.zeros(p.shape, dtype=p.dtype, device=p.device)": "torch.zeros(p.shape, device=p.device)"}),
    # a fresh buffer every step: momentum never accumulates
    Mutant("lars_buffer_not_kept", {"lars_step", "deep_mlp"},
           {'if "momentum_buffer" not in state:': 'if True:'}),
    Mutant("clip_per_tensor", "clip_global_norm",
           {"clipped = [g.detach() * coef for g in grads]":
            "clipped = [g.detach() * torch.clamp(max_norm / (g.norm() + 1e-6), max=1.0) for g in grads]"}),
    Mutant("clip_without_min_1", "clip_global_norm",
           {"coef = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)": "coef = max_norm / (total_norm + 1e-6)"},
           public=True),
    Mutant("clip_squared_norm", "clip_global_norm", {"total_norm = total_sq.sqrt()": "total_norm = total_sq"}),
    # in place, as clip_grad_norm_ does: the statement asks for new tensors
    Mutant("clip_in_place", "clip_global_norm",
           {"clipped = [g.detach() * coef for g in grads]": "clipped = [g.mul_(coef) for g in grads]"}),
    Mutant("clip_norm_after_clipping", "clip_global_norm",
           {"    return clipped, total_norm": "    return clipped, total_norm * coef"}),
    Mutant("deep_he_init", "deep_mlp", {"* 2 / math.sqrt(n_in)": "* math.sqrt(2 / n_in)"}, public=True),
    Mutant("deep_seed_ignored", "deep_mlp",
           {"gen = torch.Generator().manual_seed(seed)": "gen = torch.Generator().manual_seed(0)"}),
    Mutant("deep_depth_ignored", "deep_mlp",
           {"dims = [8] + [width] * (depth - 1) + [1]": "dims = [8] + [width] * 19 + [1]"}),
    Mutant("deep_no_zero_grad", "deep_mlp", {"        opt.zero_grad()\n": ""}),
    Mutant("deep_relu_on_output", "deep_mlp", {"return h @ weights[-1].T": "return torch.relu(h @ weights[-1].T)"}),
    Mutant("deep_sum_loss", "deep_mlp",
           {"loss = ((net(X) - y) ** 2).mean()": "loss = ((net(X) - y) ** 2).sum()"}),
    Mutant("deep_weights_before_data", "deep_mlp",
           {"    X = torch.randn(64, 8, generator=gen)\n    a = torch.randn(8, 1, generator=gen) / math.sqrt(8)\n"
            "    y = torch.tanh(2 * X @ a)\n    dims = [8] + [width] * (depth - 1) + [1]\n    weights = []\n"
            "    for n_in, n_out in zip(dims[:-1], dims[1:]):\n"
            "        W = torch.randn(n_out, n_in, generator=gen) * 2 / math.sqrt(n_in)\n"
            "        weights.append(torch.nn.Parameter(W.to(device)))\n":
            "    dims = [8] + [width] * (depth - 1) + [1]\n    weights = []\n"
            "    for n_in, n_out in zip(dims[:-1], dims[1:]):\n"
            "        W = torch.randn(n_out, n_in, generator=gen) * 2 / math.sqrt(n_in)\n"
            "        weights.append(torch.nn.Parameter(W.to(device)))\n"
            "    X = torch.randn(64, 8, generator=gen)\n    a = torch.randn(8, 1, generator=gen) / math.sqrt(8)\n"
            "    y = torch.tanh(2 * X @ a)\n"}),
]

# Hard-coded CPU tensors.
CPU_ONLY = [
    Mutant("lars_buffer_on_cpu", {"lars_step", "deep_mlp"},
           {"torch.zeros(p.shape, dtype=p.dtype, device=p.device)": "torch.zeros(p.shape, dtype=p.dtype)"}),
    Mutant("deep_data_on_cpu", "deep_mlp", {"    X, y = X.to(device), y.to(device)\n": ""}),
]

ALTERNATIVES = [
    # Python-float branches, zeros_like buffers, torch.cat for the global norm, nn.Sequential for the network
    Alternative("floats_and_modules", '''
class LARS(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=0.001, eps=1e-8):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      trust_coefficient=trust_coefficient, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                w_norm, g_norm = p.norm().item(), p.grad.norm().item()
                if w_norm > 0 and g_norm > 0:
                    local = group["trust_coefficient"] * w_norm / (g_norm + group["weight_decay"] * w_norm + group["eps"])
                else:
                    local = 1.0
                st = self.state[p]
                if "momentum_buffer" not in st:
                    st["momentum_buffer"] = torch.zeros_like(p)
                v = st["momentum_buffer"]
                v.mul_(group["momentum"]).add_(p.grad + group["weight_decay"] * p, alpha=group["lr"] * local)
                p.add_(-v)
        return loss


def clip_by_global_norm(grads, max_norm):
    total = torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in grads]))
    c = min(1.0, max_norm / (total.item() + 1e-6))
    return [g * c for g in grads], total


def train_deep_mlp(optimizer, steps, seed, depth=20, width=32, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(64, 8, generator=gen)
    a = torch.randn(8, 1, generator=gen) / math.sqrt(8)
    y = torch.tanh(2 * X @ a)
    sizes = [8] + [width] * (depth - 1) + [1]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = torch.nn.Linear(n_in, n_out, bias=False)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(n_out, n_in, generator=gen) * (2 / math.sqrt(n_in)))
        layers.append(lin)
        if i < depth - 1:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(device)
    X, y = X.to(device), y.to(device)
    opt = LARS(net.parameters(), lr=1.0, momentum=0.9, trust_coefficient=0.001) if optimizer == "lars" \\
        else torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(X), y)
        losses.append(float(loss))
        loss.backward()
        if optimizer == "clip":
            new, _ = clip_by_global_norm([p.grad for p in net.parameters()], 1.0)
            for p, g in zip(net.parameters(), new):
                p.grad = g
        opt.step()
    return losses
'''),
    # tensors only (no .item()), a momentum buffer rebound rather than updated in place, a stacked norm
    Alternative("tensor_branches", '''
class LARS(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=0.001, eps=1e-8):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                                  "trust_coefficient": trust_coefficient, "eps": eps})

    def step(self, closure=None):
        with torch.no_grad():
            for group in self.param_groups:
                lr, m, wd = group["lr"], group["momentum"], group["weight_decay"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    wn, gn = torch.linalg.norm(p.flatten()), torch.linalg.norm(p.grad.flatten())
                    ok = (wn > 0) & (gn > 0)
                    local = torch.where(ok, group["trust_coefficient"] * wn / (gn + wd * wn + group["eps"]), 1.0)
                    buf = self.state[p].get("momentum_buffer", torch.zeros_like(p))
                    buf = m * buf + lr * local * (p.grad + wd * p)
                    self.state[p]["momentum_buffer"] = buf
                    p -= buf
        return None


def clip_by_global_norm(grads, max_norm):
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
    return [g.clone().mul_(coef) for g in grads], total
'''),
    # functional network with torch.func-free autograd.grad, float32 throughout as the statement uses
    Alternative("functional_network", '''
def train_deep_mlp(optimizer, steps, seed, depth=20, width=32, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(64, 8, generator=g)
    y = torch.tanh(2 * X @ (torch.randn(8, 1, generator=g) / math.sqrt(8)))
    shapes = [(width if i else 8, width if i < depth - 1 else 1) for i in range(depth)]
    Ws = [torch.nn.Parameter((torch.randn(o, i, generator=g) * 2 / math.sqrt(i)).to(device, torch.float32))
          for i, o in shapes]
    X, y = X.to(device), y.to(device)

    def forward(h):
        for k, W in enumerate(Ws):
            h = torch.nn.functional.linear(h, W)
            if k < len(Ws) - 1:
                h = h.relu()
        return h

    opt = {"sgd": lambda: torch.optim.SGD(Ws, lr=0.01, momentum=0.9),
           "clip": lambda: torch.optim.SGD(Ws, lr=0.01, momentum=0.9),
           "lars": lambda: LARS(Ws, lr=1.0, momentum=0.9, trust_coefficient=0.001)}[optimizer]()
    out = []
    for _ in range(steps):
        loss = (forward(X) - y).pow(2).mean()
        out.append(loss.item())
        grads = torch.autograd.grad(loss, Ws)
        if optimizer == "clip":
            grads, _ = clip_by_global_norm(list(grads), 1.0)
        for W, gr in zip(Ws, grads):
            W.grad = gr
        opt.step()
    return out
'''),
]

# The answers that slipped through last time (issue 19): each is a clause of the statement no check varied.
MUTANTS += [
    # "超参数从 group 里读": read once from the constructor's defaults, the same for every group
    Mutant("lars_hyperparameters_from_defaults", "lars_step",
           {'lr, momentum = group["lr"], group["momentum"]': 'lr, momentum = self.defaults["lr"], self.defaults["momentum"]',
            'wd, trust, eps = group["weight_decay"], group["trust_coefficient"], group["eps"]':
            'wd, trust, eps = self.defaults["weight_decay"], self.defaults["trust_coefficient"], self.defaults["eps"]'}),
    # a hyperparameter every check left at its default
    Mutant("lars_eps_hard_coded", "lars_step",
           {"ratio = trust * w_norm / (g_norm + wd * w_norm + eps)": "ratio = trust * w_norm / (g_norm + wd * w_norm + 1e-8)"}),
    # SGD without its momentum: the first two losses are the same, the third is not
    Mutant("deep_mlp_sgd_without_momentum", "deep_mlp",
           {"opt = torch.optim.SGD(weights, lr=0.01, momentum=0.9)": "opt = torch.optim.SGD(weights, lr=0.01)"}),
    Mutant("deep_mlp_width_hard_coded", "deep_mlp",
           {"dims = [8] + [width] * (depth - 1) + [1]": "dims = [8] + [32] * (depth - 1) + [1]"}),
]

ALTERNATIVES += [
    # one functional update per group, torch._foreach-free; float32 parameters stay float32, groups read as dicts
    Alternative("lars_per_group_closures", '''
class LARS(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0, trust_coefficient=0.001, eps=1e-8):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                                  "trust_coefficient": trust_coefficient, "eps": eps})

    def _update(self, p, group):
        g = p.grad
        wn, gn = p.norm(), g.norm()
        denom = gn + group["weight_decay"] * wn + group["eps"]
        local = torch.where((wn > 0) & (gn > 0), group["trust_coefficient"] * wn / denom, torch.ones_like(wn))
        buf = self.state[p].setdefault("v", torch.zeros_like(p, memory_format=torch.preserve_format))
        buf.copy_(group["momentum"] * buf + group["lr"] * local * (g + group["weight_decay"] * p))
        p.sub_(buf)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in (q for q in group["params"] if q.grad is not None):
                self._update(p, group)
        return loss
'''),
    # clipping computed in float64 whatever the gradients' dtype, cast back; the network in float32 by nn.Linear modules
    Alternative("clip_in_float64_then_cast_back", '''
def clip_by_global_norm(grads, max_norm):
    norms = torch.stack([torch.linalg.vector_norm(g.double()) for g in grads])
    total = torch.linalg.vector_norm(norms)
    c = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return [(g.double() * c).to(g.dtype) for g in grads], total.to(grads[0].dtype)
'''),
]

# For every part whose statement allows float32 where the solution computes otherwise: that float32 answer.
# Parts whose statement fixes the dtype (deep_mlp: float32; lars_step: the parameter's own) map to None.
FLOAT32 = {
    "lars_step": None,
    "deep_mlp": None,
    # "按 float32 的精度比较": the norm and the scaling computed in float32 for float64 gradients too
    "clip_global_norm": '''
def clip_by_global_norm(grads, max_norm):
    total = torch.sqrt(sum((g.float() ** 2).sum() for g in grads))
    c = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return [(g.float() * c).to(g.dtype) for g in grads], total.to(grads[0].dtype)
''',
}

# "`p.grad is None` 的参数跳过"
MUTANTS += [
    Mutant("lars_does_not_skip_missing_grads", "lars_step",
           {"                if p.grad is None:\n                    continue\n                g = p.grad\n":
            "                g = p.grad if p.grad is not None else torch.zeros_like(p)\n"}),
]
