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
