"""Helpers shared by the cells of the chapter 数值稳定性和模型初始化.

The chapter imports this module; the tests in ``tests/test_chapter_numbers.py``
import it too, so every number the prose states comes from one place.
"""

import math
import random

import matplotlib
import numpy as np
import torch
from scipy.special import digamma
from torch import nn

try:  # inside the book build myst-nb stores the value for {glue:text} roles
    from myst_nb import glue as _myst_glue
except ImportError:  # pragma: no cover - a downloaded notebook without myst-nb
    _myst_glue = None

__all__ = [
    "DEVICE",
    "try_device",
    "set_seed",
    "lyapunov_gaussian",
    "log_norm_paths",
    "growth_rate",
    "INITS",
    "init_linear",
    "layer_stats",
    "setup_axes",
    "CJK_FONT",
    "CJK_FONT_RESOURCE",
    "cjk_font_file",
    "lyapunov_explorer",
    "interactive",
    "glue",
]


def try_device():
    """The GPU when there is one, the CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


DEVICE = try_device()


def set_seed(seed=0):
    """Seed Python, NumPy and PyTorch (CPU and every GPU) at once."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def glue(name, value):
    """Hand a number to the prose (myst-nb ``{glue:text}``) without displaying it.

    Plain Python numbers only: NumPy / torch scalars are converted, so that the
    stored text is ``0.25`` and not ``np.float64(0.25)``.  Returns nothing, so
    that a glue call at the end of a cell does not print the value.
    """
    if isinstance(value, (np.generic, torch.Tensor)):
        value = value.item()
    if _myst_glue is not None:
        _myst_glue(name, value, display=False)


# ---------------------------------------------------------------------------
# Products of random matrices
# ---------------------------------------------------------------------------

def lyapunov_gaussian(n, sigma=1.0):
    """Top Lyapunov exponent of products of iid n x n matrices with N(0, sigma^2) entries.

    Newman (1986): lambda_1 = log(sigma) + (log 2 + psi(n/2)) / 2, where psi is the
    digamma function.  For large n this tends to log(sigma * sqrt(n)).
    """
    return math.log(sigma) + 0.5 * (math.log(2.0) + float(digamma(n / 2)))


def log_norm_paths(n, sigma, steps, trials=8, seed=0, device=None):
    """log ||M_k ... M_1 v|| for k = 0..steps, for ``trials`` independent products.

    The vector is renormalised after every factor and the logs of the norms are
    summed, so that nothing overflows even when the norm itself would be 1e300.
    Returns a float64 tensor of shape (steps + 1, trials) on the CPU.
    """
    device = device or DEVICE
    gen = torch.Generator(device=device).manual_seed(seed)
    v = torch.randn(trials, n, 1, generator=gen, device=device, dtype=torch.float64)
    v = v / v.norm(dim=1, keepdim=True)
    logs = torch.zeros(steps + 1, trials, dtype=torch.float64, device=device)
    for k in range(1, steps + 1):
        m = sigma * torch.randn(trials, n, n, generator=gen, device=device, dtype=torch.float64)
        v = m @ v
        norm = v.norm(dim=1, keepdim=True)
        logs[k] = logs[k - 1] + norm.log().flatten()
        v = v / norm
    return logs.cpu()


def growth_rate(n, sigma, steps=2000, trials=64, seed=0, device=None):
    """Empirical top Lyapunov exponent: mean over trials of log||product v|| / steps."""
    logs = log_norm_paths(n, sigma, steps, trials=trials, seed=seed, device=device)
    return float(logs[-1].mean() / steps)


# ---------------------------------------------------------------------------
# Initialisation schemes and per-layer statistics
# ---------------------------------------------------------------------------

def _normal01(w, generator=None):
    nn.init.normal_(w, 0.0, 1.0, generator=generator)


def _pytorch_default(w, generator=None):
    # exactly what nn.Linear.reset_parameters does for the weight
    nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=generator)


def _xavier(w, generator=None):
    nn.init.xavier_normal_(w, generator=generator)


def _he(w, generator=None):
    nn.init.kaiming_normal_(w, nonlinearity="relu", generator=generator)


#: name -> function(weight, generator=None) that initialises a weight matrix in place
INITS = {
    "N(0, 1)": _normal01,
    "PyTorch default": _pytorch_default,
    "Xavier": _xavier,
    "He (Kaiming)": _he,
}


def init_linear(layer, scheme, generator=None):
    """Initialise an ``nn.Linear`` with one of :data:`INITS`; biases are set to 0."""
    INITS[scheme](layer.weight, generator=generator)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z}


@torch.no_grad()
def _make_weights(scheme, depth, width, gen, device, dtype):
    weights = []
    for _ in range(depth):
        w = torch.empty(width, width, dtype=dtype)
        INITS[scheme](w, generator=gen)
        weights.append(w.to(device))
    return weights


def layer_stats(scheme, activation="tanh", depth=50, width=256, batch=256, seed=0,
                device=None, dtype=torch.float64):
    """Per-layer standard deviation of activations and of gradients.

    A plain MLP ``h_l = f(W_l h_{l-1})`` (no biases), ``l = 1..depth``, all layers
    ``width`` wide, is fed a standard normal batch.  The loss is ``<g, h_depth>``
    for a fixed standard normal ``g``, so the gradient that arrives at the top
    has unit scale and only the network changes it on the way down.

    Returns two NumPy arrays of length ``depth``: std of ``h_l`` and std of
    ``dLoss/dh_l``.  float64 is used so that even N(0, 1) with ReLU (which
    grows like 11^l) stays finite for 50 layers.
    """
    device = device or DEVICE
    f = _ACTIVATIONS[activation]
    gen = torch.Generator().manual_seed(seed)
    weights = _make_weights(scheme, depth, width, gen, device, dtype)
    x = torch.randn(batch, width, generator=gen, dtype=dtype).to(device).requires_grad_()
    g = torch.randn(batch, width, generator=gen, dtype=dtype).to(device)
    hs = []
    h = x
    for w in weights:
        h = f(h @ w.T)
        h.retain_grad()
        hs.append(h)
    (h * g).sum().backward()
    act_std = np.array([float(t.detach().std()) for t in hs])
    grad_std = np.array([float(t.grad.std()) for t in hs])
    return act_std, grad_std


# ---------------------------------------------------------------------------
# Plotting
# ---------------------------------------------------------------------------

# SVG figures with fixed element ids, so that a rebuild gives the same files
matplotlib.rcParams["svg.hashsalt"] = "numerical-stability"

#: Where the figures' Chinese comes from: Noto Sans SC (SIL Open Font License 1.1), the file that the
#: pinned PyPI package ``pylopdf-fonts-zh-cn`` ships, so that the venv carries the font and no system
#: font (nor root to install one) is needed.  The book's extension (``numstab_book.font``) reads this
#: constant to ship the same file to the pages and the PDF.
CJK_FONT_RESOURCE = ("pylopdf_fonts_zh_cn", "NotoSansSC-Regular.otf")

#: CJK fonts a reader's system may have, tried in this order when the package is not installed
#: (a downloaded ``stability.py`` runs without the book's venv)
_SYSTEM_CJK_FONTS = ("Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                     "Microsoft YaHei", "PingFang SC", "SimHei")


def cjk_font_file():
    """The bundled CJK font file (a ``pathlib.Path``), or None where the package is not installed."""
    import importlib.resources
    from pathlib import Path

    package, name = CJK_FONT_RESOURCE
    try:
        path = Path(str(importlib.resources.files(package) / name))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def _register_cjk_font():
    """Register the bundled font with matplotlib and return its family name.  Without the package,
    the first CJK font the system has (or None: the labels then show as boxes, with a warning)."""
    from matplotlib import font_manager

    path = cjk_font_file()
    if path is not None:
        font_manager.fontManager.addfont(str(path))
        return font_manager.FontProperties(fname=str(path)).get_name()
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _SYSTEM_CJK_FONTS if name in installed), None)


#: the family name of the figures' CJK font ("Noto Sans SC"; the pages' ``@font-face`` uses it too)
CJK_FONT = _register_cjk_font() or _SYSTEM_CJK_FONTS[0]
# A list, not the generic "sans-serif": matplotlib falls back glyph by glyph only along font.family,
# so a character the CJK font lacks (the subscript in "λ₁") comes from DejaVu Sans, which matplotlib
# itself ships.  Neither entry depends on the system's fonts.
matplotlib.rcParams["font.family"] = [CJK_FONT, "DejaVu Sans"]


def setup_axes(ax, xlabel=None, ylabel=None, title=None, yscale="linear", legend=True):
    """Labels, grid and legend in one call (keeps the cells short)."""
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.set_yscale(yscale)
    ax.grid(True, alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    return ax


# ---------------------------------------------------------------------------
# The interactive figure (plotly; the book ships plotly.min.js itself, no CDN)
# ---------------------------------------------------------------------------

def lyapunov_explorer(ns=(2, 4, 32), sigmas=None, steps=60, trials=6, seed=3, *,
                      xlabel="k", path_name="sample path", theory_name="theory: slope λ₁ = {rate:+.3f}"):
    """A plotly figure of log||M_k ... M_1 u|| against k: a slider over sigma, a menu over n.

    The words on the figure (``xlabel``, the legend's ``path_name`` and ``theory_name``, a format
    string of ``rate``) come from the calling cell, so that they are in the page's language: the
    cells are what the book's translations translate (``numstab_book.i18n``).

    Every (n, sigma) pair is computed here, at build time, with :func:`log_norm_paths`, so the
    numbers are the book's.  Each n owns ``trials + 1`` traces (the sample paths and Newman's line
    of slope :func:`lyapunov_gaussian`); the menu shows one n's traces, and each slider step
    restyles the y data of all of them, so the two controls never undo each other.
    """
    import plotly.graph_objects as go

    if sigmas is None:
        sigmas = [round(0.3 + 0.1 * i, 1) for i in range(18)]  # 0.3 ... 2.0
    k = list(range(steps + 1))

    def ys(n, sigma):
        paths = log_norm_paths(n, sigma, steps, trials=trials, seed=seed, device=torch.device("cpu"))
        rate = lyapunov_gaussian(n, sigma)
        return ([[round(float(v), 3) for v in paths[:, t]] for t in range(trials)]
                + [[round(rate * i, 3) for i in k]])

    def names(n, sigma):
        return [path_name] * trials + [theory_name.format(rate=lyapunov_gaussian(n, sigma))]

    start = sigmas.index(1.0) if 1.0 in sigmas else 0
    fig = go.Figure()
    for group, n in enumerate(ns):
        for t, (y, name) in enumerate(zip(ys(n, sigmas[start]), names(n, sigmas[start]))):
            theory = t == trials
            fig.add_trace(go.Scatter(
                x=k, y=y, name=name, mode="lines", visible=n == 4 or (4 not in ns and group == 0),
                showlegend=theory or t == 0, legendgroup="theory" if theory else f"paths{n}",
                line=dict(color="#d62728" if theory else "#1f77b4", width=3 if theory else 1,
                          dash="dash" if theory else "solid"),
                opacity=1.0 if theory else 0.45))
    steps_ = []
    for sigma in sigmas:
        y_all, name_all = [], []
        for n in ns:
            y_all += ys(n, sigma)
            name_all += names(n, sigma)
        steps_.append(dict(method="restyle", label=f"{sigma:.1f}", args=[{"y": y_all, "name": name_all}]))
    per_n = trials + 1
    buttons = [dict(method="restyle", label=f"n = {n}",
                    args=[{"visible": [g == i for g in range(len(ns)) for _ in range(per_n)]}])
               for i, n in enumerate(ns)]
    fig.update_layout(
        sliders=[dict(active=start, steps=steps_, currentvalue=dict(prefix="σ = "), pad=dict(t=40))],
        updatemenus=[dict(buttons=buttons, active=list(ns).index(4) if 4 in ns else 0,
                          x=0.0, xanchor="left", y=1.18, yanchor="top", direction="down")],
        xaxis_title=xlabel, yaxis_title="log ‖M_k ⋯ M_1 u‖",
        font=dict(family=f"{CJK_FONT}, sans-serif"), template="plotly_white",
        margin=dict(l=60, r=20, t=60, b=20), height=480,
        legend=dict(orientation="h", y=1.02, x=1.0, xanchor="right", yanchor="bottom"))
    return fig


def interactive(fig, div_id, alt):
    """The figure as HTML for the page: no plotly.js inside (the book loads its local copy once),
    wrapped in a ``role="img"`` element whose ``aria-label`` is the alt text (in the page's language)."""
    from IPython.display import HTML

    body = fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})
    return HTML(f'<div class="interactive-figure" role="img" aria-label="{alt}">{body}</div>')
