"""Small assertions shared by the hidden checks of `equal_weights`."""
from __future__ import annotations

import torch

from grader.i18n import _


def as_tensor(value, name: str, shape, device, dtype=None) -> torch.Tensor:
    assert isinstance(value, torch.Tensor), _("{name}: 应当是 torch.Tensor, 实际是 {value_type}").format(
            name=name, value_type=type(value).__name__)
    assert tuple(value.shape) == tuple(shape), _("{name}: 形状应为 {shape}, 实际为 {value_shape}").format(
            name=name, shape=tuple(shape), value_shape=tuple(value.shape))
    assert value.device.type == torch.device(device).type, _("{name}: 应当在设备 {device} 上, 实际在 {value_device} 上").format(
            name=name, device=device, value_device=value.device)
    if dtype is not None:
        assert value.dtype == dtype, _("{name}: 数据类型应为 {dtype}, 实际为 {value_dtype}").format(
                name=name, dtype=dtype, value_dtype=value.dtype)
    assert torch.isfinite(value).all(), _("{name}: 含有 nan 或 inf").format(name=name)
    return value


def pair(result, name: str):
    assert isinstance(result, (tuple, list)) and len(result) == 2, _("`{name}` 必须返回二元组 (weights, bias)").format(
            name=name)
    return result


def scalar(value, name: str, device, dtype=None) -> torch.Tensor:
    assert isinstance(value, torch.Tensor) and value.numel() == 1, _("{name}: 应当是只有一个元素的张量").format(name=name)
    return as_tensor(value.reshape(()), name, (), device, dtype=dtype)


def randint(rng, low: int, high: int) -> int:
    """An int in [low, high] drawn from the check's generator."""
    return int(torch.randint(low, high + 1, (1,), generator=rng))


def uniform(rng, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=rng))
