"""The pipe between the sandbox and the checker: plain data only, never pickle.

A message is a JSON header plus raw tensor buffers, framed by lengths and capped in size.  Decoding
builds fresh base-class tensors with the checker's own torch, so nothing the student side sends can
run code or lie about equality.
"""
from __future__ import annotations

import json
import math
import socket
import struct

import torch

MAX_MESSAGE = 64 * 2**20  # bytes; a bigger message is refused, never buffered
_DTYPES = {str(d): d for d in (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
                              torch.complex128, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
                              torch.bool)}
_HEAD = struct.Struct("!II")  # header length, number of buffers


class WireError(Exception):
    """A message that is malformed, too big, or holds something that is not plain data."""


def _pack(value, buffers: list[bytes], depth: int = 0):
    if depth > 32:
        raise WireError("value nested deeper than 32 levels")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, torch.Tensor):
        t = torch.Tensor.detach(value).as_subclass(torch.Tensor)
        if str(t.dtype) not in _DTYPES:
            raise WireError(f"tensor dtype {t.dtype} is not supported")
        flat = t.to("cpu").contiguous().reshape(-1)
        buffers.append(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
        return {"__tensor__": len(buffers) - 1, "dtype": str(t.dtype), "shape": list(t.shape), "device": t.device.type}
    if kind is torch.device:
        return {"__device__": value.type}
    if kind is list:
        return [_pack(v, buffers, depth + 1) for v in value]
    if kind is tuple:
        return {"__tuple__": [_pack(v, buffers, depth + 1) for v in value]}
    if kind is dict:
        return {"__dict__": [[_pack(k, buffers, depth + 1), _pack(v, buffers, depth + 1)] for k, v in value.items()]}
    raise WireError(f"{kind.__name__} is not plain data")


def _unpack(obj, buffers: list[bytes], device_map):
    if isinstance(obj, list):
        return [_unpack(v, buffers, device_map) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__device__" in obj:
        return torch.device(device_map(str(obj["__device__"])))
    if "__tuple__" in obj:
        return tuple(_unpack(v, buffers, device_map) for v in obj["__tuple__"])
    if "__dict__" in obj:
        out = {}
        for k, v in obj["__dict__"]:
            key = _unpack(k, buffers, device_map)
            if isinstance(key, (list, dict, torch.Tensor)):
                raise WireError("dict keys must be numbers, strings or tuples")
            out[key] = _unpack(v, buffers, device_map)
        return out
    if "__tensor__" in obj:
        dtype = _DTYPES.get(obj.get("dtype"))
        shape = obj.get("shape")
        if dtype is None or not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
            raise WireError(f"bad tensor header {obj!r}"[:200])
        raw = buffers[obj["__tensor__"]]
        numel = math.prod(shape)
        if len(raw) != numel * torch.empty((), dtype=dtype).element_size():
            raise WireError("tensor buffer does not match its shape and dtype")
        flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        t = flat.view(dtype).reshape(shape).clone()
        return t.to(device_map(obj.get("device", "cpu")))
    raise WireError("unknown object in message")


def encode(value) -> bytes:
    buffers: list[bytes] = []
    header = json.dumps(_pack(value, buffers)).encode()
    frame = _HEAD.pack(len(header), len(buffers)) + header
    frame += b"".join(struct.pack("!Q", len(b)) + b for b in buffers)
    if len(frame) > MAX_MESSAGE:
        raise WireError(f"message of {len(frame)} bytes exceeds the {MAX_MESSAGE} byte cap")
    return frame


def decode(frame: bytes, device_map=lambda d: "cpu"):
    """Plain data from a frame; ``device_map`` says where tensors go (the checker picks)."""
    try:
        hlen, nbuf = _HEAD.unpack_from(frame, 0)
        pos = _HEAD.size
        header = json.loads(frame[pos:pos + hlen].decode())
        pos += hlen
        buffers = []
        for _ in range(nbuf):
            (n,) = struct.unpack_from("!Q", frame, pos)
            pos += 8
            buffers.append(frame[pos:pos + n])
            pos += n
        return _unpack(header, buffers, device_map)
    except WireError:
        raise
    except Exception as exc:
        raise WireError(f"malformed message: {type(exc).__name__}: {exc}"[:300]) from None


def send(sock: socket.socket, value) -> None:
    frame = encode(value)
    sock.sendall(struct.pack("!Q", len(frame)) + frame)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket, device_map=lambda d: "cpu"):
    (n,) = struct.unpack("!Q", _recv_exact(sock, 8))
    if n > MAX_MESSAGE:
        raise WireError(f"message of {n} bytes exceeds the {MAX_MESSAGE} byte cap")
    return decode(_recv_exact(sock, n), device_map)
