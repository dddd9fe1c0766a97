"""Hidden checks of part `constant_init_cnn`: train_constant_cnn(steps, seed, lr, value, channels, dropout, random_init, device)."""
import torch

from grader.checks.symmetry.reference import (cnn_constant_reference, max_spread, min_pair_gap, tie_groups,
                                             trajectory_tolerance)

TIE_ATOL = 1e-5      # float32 weights of size ~0.1: identical computations agree far better than this
MOVED = 1e-3         # training at lr >= 0.25 for >= 6 steps moves the weights by more than this
APART = 1e-4         # channels that were separated differ by more than this


def _lr(rng):
    """A learning rate other than the default 0.5 (an answer that hard-codes it shows)."""
    lr = 0.25 + 0.55 * float(torch.rand(1, generator=rng))
    return lr if abs(lr - 0.5) > 0.05 else lr + 0.1


def _draw(rng):
    return dict(seed=int(torch.randint(0, 2**20, (1,), generator=rng)),
                channels=int(torch.randint(3, 9, (1,), generator=rng)),
                value=round(0.08 + 0.07 * float(torch.rand(1, generator=rng)), 4),
                steps=int(torch.randint(6, 11, (1,), generator=rng)), lr=_lr(rng))


def _train(student, device, steps, seed, channels, value, lr=0.5, **kw):
    w = student.call("train_constant_cnn", steps, seed=seed, lr=lr, value=value, channels=channels,
                     device=str(device), **kw)
    assert isinstance(w, torch.Tensor), "train_constant_cnn must return conv1's weight tensor"
    assert tuple(w.shape) == (channels, 3, 3, 3), f"conv1 weight shape {tuple(w.shape)}, expected {(channels, 3, 3, 3)}"
    assert w.device.type == device.type, f"conv1 weight is on {w.device}, expected {device}"
    assert torch.isfinite(w).all(), "conv1 weight has non-finite entries"
    return w


def test_initial_weight_is_the_constant(student, device, rng):
    c = _draw(rng)
    w = _train(student, device, 0, c["seed"], c["channels"], c["value"])
    torch.testing.assert_close(w, torch.full_like(w, c["value"]), msg="with steps=0 every entry of conv1 must equal value")


def test_channels_stay_tied(student, device, rng):
    c = _draw(rng)
    w = _train(student, device, dropout=False, random_init=False, **c)
    assert max_spread(w) <= TIE_ATOL, "under constant init the conv1 channels should stay identical, but they differ"
    assert (w - c["value"]).abs().max().item() > MOVED, "conv1 weight did not move away from the constant: no training?"


def test_dropout_unties(student, device, rng):
    c = _draw(rng)
    w = _train(student, device, dropout=True, **c)
    assert tie_groups(w, APART) == [[i] for i in range(c["channels"])], \
        "with dropout after conv1 every conv1 channel should end up different from the others"


def test_random_init_unties(student, device, rng):
    c = _draw(rng)
    w = _train(student, device, random_init=True, **c)
    assert min_pair_gap(w) > APART, "with random_init=True the conv1 channels should all differ"
    assert (w - c["value"]).abs().max().item() > MOVED, "random_init=True must not use the constant"


def test_seed_controls_random_init(student, device, rng):
    c = _draw(rng)
    a = _train(student, device, 0, c["seed"], c["channels"], c["value"], random_init=True)
    b = _train(student, device, 0, c["seed"], c["channels"], c["value"], random_init=True)
    d = _train(student, device, 0, c["seed"] + 1, c["channels"], c["value"], random_init=True)
    torch.testing.assert_close(a, b, msg="the same seed must give the same initial weights")
    assert not torch.allclose(a, d), "different seeds should give different random initial weights"


def test_trajectory_matches_reference(student, device, rng):
    """conv1's weight after a few constant-init steps equals the statement's network trained here: this is what
    sees the layers after conv1 (conv2, its ReLU, the average pooling, fc) and the update itself."""
    c = _draw(rng)
    # a negative value too: conv2's pre-activations are then all negative, so its ReLU decides everything
    for value in (c["value"], -c["value"]):
        w = _train(student, device, c["steps"], c["seed"], c["channels"], value, lr=c["lr"])
        want = cnn_constant_reference(c["steps"], c["seed"], c["lr"], value, c["channels"])
        torch.testing.assert_close(w.cpu(), want, **trajectory_tolerance(device), msg=lambda m: (
            f"value={value}, lr={c['lr']:.3f}: conv1's weight after {c['steps']} steps differs from the specified network\n{m}"))


# The statement fixes the rate at 0.5.  The masks come from the student's global RNG, and an answer may build
# its modules in another order (so draw other masks), so the rate is measured as a class of networks shows it,
# not by one trajectory: how far conv1's channels drift apart, relative to how far they move together, after
# 3 steps (the first step sends no gradient below fc: its constant rows see a uniform softmax).  Over 10 of
# the draws below this averages 0.52 at rate 0.5 (lowest of 40 repeats: 0.36) and 0.12 at rate 0.05 (highest:
# 0.18); the bound sits between them.
DROPOUT_RUNS = 10
DROPOUT_SPREAD_AT_HALF = 0.26


def _relative_spread(w: torch.Tensor, value: float) -> float:
    moved = w.detach().cpu().double().reshape(w.shape[0], -1) - value
    together = moved.mean(0)
    return ((moved - together).pow(2).mean().sqrt() / together.abs().mean()).item()


def test_dropout_rate_is_one_half(student, device, rng):
    spreads = []
    for _ in range(DROPOUT_RUNS):
        c = _draw(rng)  # value > 0: conv1's ReLU passes, so every channel gets a gradient
        w = _train(student, device, 3, c["seed"], c["channels"], c["value"], lr=c["lr"], dropout=True)
        spreads.append(_relative_spread(w, c["value"]))
    mean = sum(spreads) / len(spreads)
    assert mean > DROPOUT_SPREAD_AT_HALF, (
        f"with dropout=True conv1's channels drift apart by {mean:.3f} of their common move on average over "
        f"{DROPOUT_RUNS} runs; nn.Dropout(0.5) right after the first ReLU gives about 0.5 (a smaller rate, less)")
