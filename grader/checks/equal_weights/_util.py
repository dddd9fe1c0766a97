"""Small assertions shared by the hidden checks of `equal_weights`."""
from __future__ import annotations

import torch


def as_tensor(value, name: str, shape, device, dtype=None) -> torch.Tensor:
    assert isinstance(value, torch.Tensor), f"{name}: expected a torch.Tensor, got {type(value).__name__}"
    assert tuple(value.shape) == tuple(shape), f"{name}: expected shape {tuple(shape)}, got {tuple(value.shape)}"
    assert value.device.type == torch.device(device).type, f"{name}: expected device {device}, got {value.device}"
    if dtype is not None:
        assert value.dtype == dtype, f"{name}: expected dtype {dtype}, got {value.dtype}"
    assert torch.isfinite(value).all(), f"{name}: contains nan or inf"
    return value


def pair(result, name: str):
    assert isinstance(result, (tuple, list)) and len(result) == 2, f"`{name}` must return a pair (weights, bias)"
    return result


def scalar(value, name: str, device, dtype=None) -> torch.Tensor:
    assert isinstance(value, torch.Tensor) and value.numel() == 1, f"{name}: expected a one-element tensor"
    return as_tensor(value.reshape(()), name, (), device, dtype=dtype)


def randint(rng, low: int, high: int) -> int:
    """An int in [low, high] drawn from the check's generator."""
    return int(torch.randint(low, high + 1, (1,), generator=rng))


def uniform(rng, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=rng))
