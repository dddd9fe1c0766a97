"""The `eigen_bounds` table: its mutants and correct alternatives (see tests/assignments/__init__.py)."""
from assignments import Alternative, Mutant

TOP_LOOP = """    for t in range(T):
        v = mats[t] @ v
        norm = torch.linalg.vector_norm(v)
        total = total + torch.log(norm)
        v = v / norm
    return total / T
"""

MUTANTS = [
    Mutant("sv_index_off_by_one", "product_bounds",
           {"U[k] = min(sA[a] * sB[k - a] for a in range(k + 1))": "U[k] = min(sA[a] * sB[k - a - 1] for a in range(k + 1))"}),
    # no zero padding: the bounds past rank(A) or rank(B) are taken over the existing values only
    Mutant("sv_no_zero_padding", "product_bounds",
           {"U[k] = min(sA[a] * sB[k - a] for a in range(k + 1))":
            "U[k] = min([a_vals[a] * b_vals[k - a] for a in range(k + 1) if a < len(a_vals) and k - a < len(b_vals)]"
            " or [a_vals[-1] * b_vals[-1]])"}),
    Mutant("spectral_from_eigenvalues", "product_bounds",
           {"return torch.linalg.matrix_norm(A, ord=2) * torch.linalg.matrix_norm(B, ord=2)":
            "return torch.linalg.eigvals(A).abs().max() * torch.linalg.eigvals(B).abs().max()"}),
    Mutant("spectral_frobenius", "product_bounds", {"ord=2": 'ord="fro"'}, public=True),
    Mutant("condition_inverted", "product_bounds",
           {"return (sA[0] / sA[-1]) * (sB[0] / sB[-1])": "return (sA[0] / sA[-1]) / (sB[0] / sB[-1])"}),
    Mutant("psd_bounds_swapped", "psd_bounds",
           {"return wA[0] * wB[0], wA[-1] * wB[-1]": "return wA[-1] * wB[-1], wA[0] * wB[0]"}, public=True),
    Mutant("psd_bounds_from_the_product", "psd_bounds",
           {"return wA[0] * wB[0], wA[-1] * wB[-1]":
            "w = torch.linalg.eigvals(A @ B).real\n    return w.min(), w.max()"}),
    Mutant("psd_eigvalsh_of_nonsymmetric", "psd_bounds",
           {"return torch.linalg.eigvalsh((S + S.mT) / 2)": "return torch.linalg.eigvalsh(A @ B)"}),
    # rounding leaves tiny negative eigenvalues in a PSD matrix: their square root is nan
    Mutant("psd_root_without_clamp", "psd_bounds", {"w.clamp(min=0).sqrt()": "w.sqrt()"}),
    Mutant("lyapunov_no_renormalisation", "lyapunov",
           {TOP_LOOP: "    for t in range(T):\n        v = mats[t] @ v\n    return torch.log(torch.linalg.vector_norm(v)) / T\n"},
           public=True),
    Mutant("lyapunov_divides_by_T_minus_1", "lyapunov", {"return total / T\n": "return total / (T - 1)\n"}),
    Mutant("lyapunov_log10", "lyapunov", {"total = total + torch.log(norm)": "total = total + torch.log10(norm)"}),
    Mutant("lyapunov_start_not_normalised", "lyapunov",
           {"v = torch.ones(n, dtype=mats.dtype, device=mats.device) / math.sqrt(n)":
            "v = torch.ones(n, dtype=mats.dtype, device=mats.device)"}),
    Mutant("lyapunov_qr_signed_diagonal", "lyapunov",
           {"torch.log(torch.diagonal(R).abs())": "torch.log(torch.diagonal(R))"}),
    # QR's exponents usually come out descending already: unsorted is wrong only for some inputs
    Mutant("lyapunov_spectrum_unsorted", "lyapunov",
           {"return torch.sort(total / T, descending=True).values": "return total / T"}),
    Mutant("critical_forgets_half", "critical_sigma",
           {"return math.exp(-0.5 * (math.log(2.0) + psi))": "return math.exp(-(math.log(2.0) + psi))"}, public=True),
    # the large-n approximation where the statement asks for the exact digamma
    Mutant("critical_asymptotic_digamma", "critical_sigma",
           {"    psi = torch.special.digamma(torch.tensor(n / 2, dtype=torch.float64)).item()\n    return math.exp(":
            "    psi = math.log(n / 2) - 1 / n\n    return math.exp("}),
    Mutant("gaussian_top_natural_sigma_squared", "critical_sigma",
           {"return math.log(sigma) + 0.5 * (math.log(2.0) + psi)": "return math.log(sigma ** 2) + 0.5 * (math.log(2.0) + psi)"}),
]

# Hard-codes the CPU: the start vector is created on the CPU while the matrices live on the device.
CPU_ONLY = [Mutant("lyapunov_cpu_start_vector", "lyapunov",
                   {"v = torch.ones(n, dtype=mats.dtype, device=mats.device)": "v = torch.ones(n, dtype=mats.dtype)"})]

ALTERNATIVES = [
    # vectorised bounds, torch.linalg.cond, Cholesky-free root by eigh, float32 digamma (the statement allows it)
    Alternative("vectorised_float32_digamma", '''
def singular_value_bounds(A, B):
    r = min(A.shape[0], B.shape[1])
    sA = torch.zeros(r, dtype=A.dtype, device=A.device)
    sB = torch.zeros(r, dtype=B.dtype, device=B.device)
    a, b = torch.linalg.svdvals(A)[:r], torch.linalg.svdvals(B)[:r]
    sA[:len(a)], sB[:len(b)] = a, b
    prod = sA[:, None] * sB[None, :]
    idx = torch.arange(r, device=A.device)
    k = idx[:, None] + idx[None, :]
    inf = torch.full_like(prod, float("inf"))
    return torch.stack([torch.where(k == j, prod, inf).min() for j in range(r)])


def spectral_radius_bound(A, B):
    return torch.linalg.svdvals(A)[0] * torch.linalg.svdvals(B)[0]


def condition_bound(A, B):
    return torch.linalg.cond(A) * torch.linalg.cond(B)


def gaussian_top_lyapunov(n, sigma):
    return math.log(sigma) + 0.5 * math.log(2) + 0.5 * torch.special.digamma(torch.tensor(n / 2)).item()


def critical_sigma(n):
    return math.exp(-0.5 * (math.log(2) + torch.special.digamma(torch.tensor(n / 2)).item()))
'''),
    # numpy-free loops with torch.linalg.norm; eigendecomposition with explicit square root matrix
    Alternative("loops_and_eigh", '''
def psd_product_eigen_bounds(A, B):
    a, b = torch.linalg.eigh(A)[0], torch.linalg.eigh(B)[0]
    return a.min() * b.min(), a.max() * b.max()


def psd_product_eigenvalues(A, B):
    w, V = torch.linalg.eigh(A)
    w = torch.where(w > 0, w, torch.zeros_like(w))
    R = V @ torch.diag(w.sqrt()) @ V.T
    M = R @ B @ R
    return torch.linalg.eigvalsh(0.5 * (M + M.T))


def top_lyapunov(mats):
    T, n, _ = mats.shape
    v = torch.full((n,), 1 / math.sqrt(n), dtype=mats.dtype, device=mats.device)
    logs = []
    for M in mats:
        w = M @ v
        r = torch.linalg.norm(w)
        logs.append(torch.log(r))
        v = w / r
    return torch.stack(logs).mean()


def all_lyapunov(mats):
    T, n, _ = mats.shape
    Q = torch.eye(n, dtype=mats.dtype, device=mats.device)
    acc = torch.zeros(n, dtype=mats.dtype, device=mats.device)
    for t in range(T):
        Q, R = torch.linalg.qr(mats[t] @ Q)
        acc += R.diagonal().abs().log()
    return (acc / T).sort(descending=True).values
'''),
    # digamma from its recurrences (exact at half-integers), no torch for the numbers at all
    Alternative("digamma_by_recurrence", '''
def _digamma_half(n):
    if n % 2 == 0:
        return -0.5772156649015329 + sum(1.0 / j for j in range(1, n // 2))
    return -0.5772156649015329 - 2 * math.log(2) + sum(2.0 / (2 * j - 1) for j in range(1, (n - 1) // 2 + 1))


def gaussian_top_lyapunov(n, sigma):
    return math.log(sigma) + (math.log(2) + _digamma_half(n)) / 2


def critical_sigma(n):
    return 1.0 / math.sqrt(2 * math.exp(_digamma_half(n)))


def condition_bound(A, B):
    s = torch.linalg.svdvals(A)
    t = torch.linalg.svdvals(B)
    return s.max() / s.min() * (t.max() / t.min())
'''),
]

ALTERNATIVES += [
    # Issue 21: computed entirely in float32 tensors (the statement allows it), .item() at the very end
    Alternative("critical_sigma_all_float32", '''
def gaussian_top_lyapunov(n, sigma):
    psi = torch.special.digamma(torch.tensor(n / 2))
    return (torch.log(torch.tensor(sigma)) + 0.5 * (torch.log(torch.tensor(2.0)) + psi)).item()


def critical_sigma(n):
    psi = torch.special.digamma(torch.tensor(n / 2))
    return torch.exp(-0.5 * (torch.log(torch.tensor(2.0)) + psi)).item()
'''),
    # Issue 21: the root of A with the rounding negatives clamped by relu before the square root, as the statement says
    Alternative("psd_relu_before_sqrt", '''
def psd_product_eigenvalues(A, B):
    w, V = torch.linalg.eigh(A)
    root = V @ torch.diag_embed(torch.sqrt(torch.relu(w))) @ V.transpose(-2, -1)
    S = root @ B @ root
    return torch.linalg.eigvalsh(0.5 * (S + S.transpose(-2, -1)))
'''),
]

# Parts whose statement allows float32: that float32 answer (tests/test_statement_agreement.py).
FLOAT32 = {"critical_sigma": ALTERNATIVES[-2].code}

# "数据类型与输入相同": a result cast to float32 on float64 inputs
MUTANTS += [
    Mutant("condition_bound_in_float32", "product_bounds",
           {"return (sA[0] / sA[-1]) * (sB[0] / sB[-1])": "return ((sA[0] / sA[-1]) * (sB[0] / sB[-1])).float()"}),
]
