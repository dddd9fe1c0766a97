"""The numbers the chapter states are true (independently of the book build).

Imports ``book/stability.py``, the module the chapter's cells use.
"""

import math
import sys
from pathlib import Path

import pytest
import torch
from scipy.special import digamma
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book"))
import stability as st  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: one thread avoids oversubscription on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# -- products of Gaussian matrices ------------------------------------------

def test_lyapunov_formula_known_values():
    # n = 2, sigma = 1: (log 2 + psi(1)) / 2 = (log 2 - Euler's gamma) / 2
    assert st.lyapunov_gaussian(2, 1.0) == pytest.approx((math.log(2) - 0.5772156649015329) / 2)
    # log sigma shifts the exponent
    assert st.lyapunov_gaussian(4, 2.0) - st.lyapunov_gaussian(4, 1.0) == pytest.approx(math.log(2))
    # wide matrices: lambda_1 -> log(sigma sqrt(n))
    assert st.lyapunov_gaussian(4096, 1.0) == pytest.approx(0.5 * math.log(4096), abs=1e-3)
    assert st.lyapunov_gaussian(4, 1.0) == pytest.approx(0.5 * (math.log(2) + digamma(2)))


@pytest.mark.parametrize("n", [2, 4, 8, 32])
@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_empirical_growth_rate_matches_newman(n, sigma):
    # Var of one step shrinks like 1/n, so wide matrices need fewer paths
    emp = st.growth_rate(n, sigma, steps=1000, trials=max(16, 512 // n), seed=n)
    assert emp == pytest.approx(st.lyapunov_gaussian(n, sigma), abs=0.01)


def test_growth_rate_is_stable_where_the_plain_product_overflows():
    # 2000 factors with sigma = 2, n = 4: the norm is about e^2500, far beyond float64
    logs = st.log_norm_paths(4, 2.0, 2000, trials=4, seed=0)
    assert torch.isfinite(logs).all()
    assert float(logs[-1].min()) > 2000
    assert logs.shape == (2001, 4)


def test_critical_sigma_of_the_chapter():
    # the chapter says sigma = 1/sqrt(4) still shrinks and sigma* ~ 0.572 for n = 4
    assert st.lyapunov_gaussian(4, 0.5) < 0
    sigma_star = math.exp(-st.lyapunov_gaussian(4, 1.0))
    assert st.lyapunov_gaussian(4, sigma_star) == pytest.approx(0.0, abs=1e-12)
    assert sigma_star == pytest.approx(0.572, abs=1e-3)


# -- initialisation ----------------------------------------------------------

def test_xavier_keeps_linear_variance_while_normal_explodes():
    act, grad = st.layer_stats("Xavier", "linear", depth=20, width=256, batch=512, seed=0)
    var = act**2
    assert var.max() / var.min() < 2.0
    assert 0.5 < var[-1] < 2.0
    assert 0.5 < grad[0] ** 2 < 2.0

    act, grad = st.layer_stats("N(0, 1)", "linear", depth=20, width=256, batch=512, seed=0)
    assert (act[-1] / act[0]) ** 2 > 1e40  # about 256 ** 19
    assert grad[0] > 1e20


def test_he_keeps_relu_scale_xavier_and_default_shrink_it():
    he, he_grad = st.layer_stats("He (Kaiming)", "relu", seed=0)
    assert 0.5 < he.min() and he.max() < 2.0
    assert 0.5 < he_grad.min() and he_grad.max() < 2.0
    xavier, _ = st.layer_stats("Xavier", "relu", seed=0)
    assert xavier[-1] < 1e-5
    default, _ = st.layer_stats("PyTorch default", "relu", seed=0)
    assert default[-1] < 1e-15
    normal, normal_grad = st.layer_stats("N(0, 1)", "relu", seed=0)
    assert normal[-1] > 1e45 and normal_grad[0] > 1e45


def test_tanh_normal_init_hides_exploding_gradients():
    act, grad = st.layer_stats("N(0, 1)", "tanh", seed=0)
    assert act.max() <= 1.0
    assert grad[0] > 1e15


def test_layer_stats_is_reproducible():
    a1, g1 = st.layer_stats("Xavier", "tanh", depth=5, width=32, batch=16, seed=3)
    a2, g2 = st.layer_stats("Xavier", "tanh", depth=5, width=32, batch=16, seed=3)
    assert (a1 == a2).all() and (g1 == g2).all()


def test_pytorch_default_linear_init():
    torch.manual_seed(0)
    fan_in = 1024
    layer = nn.Linear(fan_in, 512)
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight.detach(), layer.bias.detach()
    assert w.abs().max() <= bound and b.abs().max() <= bound
    assert w.abs().max() > 0.99 * bound
    assert float(w.var()) == pytest.approx(1 / (3 * fan_in), rel=0.02)
    # and stability's "PyTorch default" is the very same scheme
    w2 = torch.empty(512, fan_in)
    st.INITS["PyTorch default"](w2)
    assert float(w2.var()) == pytest.approx(1 / (3 * fan_in), rel=0.02)
    assert w2.abs().max() <= bound


def test_xavier_and_he_variances():
    w = torch.empty(300, 500)
    st.INITS["Xavier"](w, generator=torch.Generator().manual_seed(0))
    assert float(w.var()) == pytest.approx(2 / (300 + 500), rel=0.03)
    st.INITS["He (Kaiming)"](w, generator=torch.Generator().manual_seed(0))
    assert float(w.var()) == pytest.approx(2 / 500, rel=0.03)  # fan_in = 500


# -- sigmoid -----------------------------------------------------------------

def test_sigmoid_derivative_at_most_a_quarter_with_max_at_zero():
    x = torch.linspace(-8, 8, 16001, dtype=torch.float64, requires_grad=True)
    torch.sigmoid(x).sum().backward()
    grad = x.grad
    assert float(grad.max()) == pytest.approx(0.25, abs=1e-12)
    assert float(grad.max()) <= 0.25
    assert float(x.detach()[grad.argmax()]) == pytest.approx(0.0, abs=1e-12)
    s = torch.sigmoid(x.detach())
    assert torch.allclose(grad, s * (1 - s))


# -- symmetry ----------------------------------------------------------------

def test_constant_init_keeps_hidden_units_identical_and_random_init_breaks_it():
    def train(constant):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1))
        if constant:
            for m in net:
                if isinstance(m, nn.Linear):
                    nn.init.constant_(m.weight, 0.3)
                    nn.init.zeros_(m.bias)
        X = torch.randn(64, 3)
        y = X[:, :1] * X[:, 1:2]
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        for _ in range(50):
            loss = ((net(X) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        W = net[0].weight.detach()
        return float((W - W[0]).abs().max())

    assert train(constant=True) == 0.0
    assert train(constant=False) > 0.1


def test_device_and_seed_helpers():
    assert st.DEVICE.type == ("cuda" if torch.cuda.is_available() else "cpu")
    st.set_seed(5)
    a = torch.rand(3)
    st.set_seed(5)
    assert torch.equal(a, torch.rand(3))


# -- the divergence exercise: the numbers its statement gives ------------------------------------------------
from grader.checks.divergence.reference import ReferenceLARS, deep_mlp_reference  # noqa: E402
from grader.engine.notebook import load_notebook  # noqa: E402
from grader.layout import source_notebook  # noqa: E402

DIVERGENCE_SEEDS = range(300)  # as issue 21 measured; the forward passes alone take about half a second


def _divergence_text(grade_id: str) -> str:
    nb = load_notebook(source_notebook("divergence"))
    # a statement is an ordinary markdown cell (its text differs between languages), named by its cell id
    return next(c.source for c in nb.cells if c.get("id") == grade_id)


def _bad_mlp_forward(seed: int, depth: int = 20, width: int = 32):
    """The statement's recipe up to the first loss: (initial loss, rms(out)/rms(X), mean-square ratio per layer)."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(64, 8, generator=gen)
    a = torch.randn(8, 1, generator=gen) / math.sqrt(8)
    y = torch.tanh(2 * X @ a)
    dims = [8] + [width] * (depth - 1) + [1]
    Ws = [torch.randn(o, i, generator=gen) * 2 / math.sqrt(i) for i, o in zip(dims[:-1], dims[1:])]
    h, ratios = X, []
    for W in Ws[:-1]:
        nxt = torch.relu(h @ W.T)
        ratios.append(float(nxt.pow(2).mean() / h.pow(2).mean()))
        h = nxt
    out = h @ Ws[-1].T
    ratios.append(float(out.pow(2).mean() / h.pow(2).mean()))
    loss = float(((out - y) ** 2).mean())
    return loss, float((out.pow(2).mean() / X.pow(2).mean()).sqrt()), ratios


@pytest.fixture(scope="module")
def bad_mlp_starts():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # set up before the per-test autouse fixture: 32-wide layers gain nothing from threads
    try:
        runs = [_bad_mlp_forward(s) for s in DIVERGENCE_SEEDS]
    finally:
        torch.set_num_threads(before)
    loss = torch.tensor([r[0] for r in runs], dtype=torch.float64)
    amp = torch.tensor([r[1] for r in runs], dtype=torch.float64)
    ratios = torch.tensor([r[2] for r in runs], dtype=torch.float64)
    return loss, amp, ratios


def test_the_forward_pass_here_is_the_reference_deep_mlp():
    # the statistics below come from this file's forward pass: it must be the grader's reference, bit for bit
    for seed in range(4):
        assert _bad_mlp_forward(seed)[0] == deep_mlp_reference("sgd", 1, seed)[0]


def test_divergence_mean_square_amplification(bad_mlp_starts):
    """"按均方算 20 层之后放大 2^10.5 ≈ 1450 倍": each ReLU layer doubles the mean square, the last one multiplies
    it by 4, so the RMS grows by sqrt(2^19 · 4) = 2^10.5."""
    text = _divergence_text("md_deep")
    assert r"按均方算 20 层之后放大 $2^{10.5} \approx 1450$ 倍" in text
    assert 2 ** 10.5 == pytest.approx(1450, rel=0.005)
    _, _, ratios = bad_mlp_starts
    relu, last = ratios[:, :-1], ratios[:, -1]
    se_relu = float(relu.std()) / math.sqrt(relu.numel())
    se_last = float(last.std()) / math.sqrt(last.numel())
    # within four standard errors of the sample means (0.009 and 0.32 over 300 seeds)
    assert abs(float(relu.mean()) - 2.0) < 4 * se_relu
    assert abs(float(last.mean()) - 4.0) < 4 * se_last
    assert float(ratios.mean(0).prod().sqrt()) == pytest.approx(2 ** 10.5, rel=0.15)


def test_divergence_initial_losses_over_300_seeds(bad_mlp_starts):
    """The spread the statement gives, over seeds 0..299 (issue 21: median 10^5.4, 24 % above 10^6 up to
    10^8.9, 5 % below 10^4, median amplification about 500).  The bands are what the words allow; at 300 seeds
    a share of 24 % has a standard error of 2.5 points."""
    text = _divergence_text("md_deep")
    for phrase in ("中位数只有 500 倍左右", "初始损失大多在 $10^4$ 到 $10^6$ 之间（中位数约 $10^{5.4}$）",
                   "约四分之一的种子超过 $10^6$（最高可达 $10^9$ 左右），少数低于 $10^4$"):
        assert phrase in text, phrase
    loss, amp, _ = bad_mlp_starts
    log_loss = loss.log10()
    assert 400 < float(amp.median()) < 625  # "500 倍左右"
    assert float(log_loss.median()) == pytest.approx(5.4, abs=0.15)
    between = float(((loss >= 1e4) & (loss <= 1e6)).double().mean())
    above, below = float((loss > 1e6).double().mean()), float((loss < 1e4).double().mean())
    assert between > 0.5  # "大多"
    assert 0.18 < above < 0.32  # "约四分之一"
    assert 0.0 < below < 0.10  # "少数"
    assert 8.5 < float(log_loss.max()) < 9.5  # "最高可达 10^9 左右"


def test_lars_update_almost_unchanged_when_the_gradient_is_scaled():
    """§1: with β = 0 and m = 0, scaling the gradient by c changes the update only through ε, by about
    ε/‖g‖ (1 - 1/c) relatively: "几乎不变", not "完全不变"; the relative change of the layer stays γη."""
    text = _divergence_text("md_lars")
    assert r"更新几乎不变（只有 $\varepsilon$ 带来约 $\varepsilon/\|\mathbf{g}\|$ 的相对差别）" in text
    assert "完全不变" not in text
    gen = torch.Generator().manual_seed(0)
    w0 = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    g = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    lr, trust, eps = 0.5, 0.02, 1e-8

    def update(scale):
        p = torch.nn.Parameter(w0.clone())
        p.grad = scale * g
        ReferenceLARS([p], lr=lr, momentum=0.0, trust_coefficient=trust, eps=eps).step()
        return w0 - p.detach()

    base = update(1.0)
    for c in (1000.0, 1e6):
        change = float((update(c) - base).norm() / base.norm())
        assert change > 0  # ε is there: the update is not exactly the same
        assert change == pytest.approx(eps / float(g.norm()) * (1 - 1 / c), rel=1e-4)
        assert float(update(c).norm() / w0.norm()) == pytest.approx(lr * trust, rel=1e-6)  # "大约 γη"
