"""The pipe between the sandbox and the checker: typed messages of plain data, never pickle.

Every frame holds one message of a known kind (``msgspec`` Structs below: types, ranges and caps are
part of the schema) plus, for the kinds that carry values (a request's arguments, a reply), plain data:
JSON with tagged tuples, dicts, devices and raw tensor buffers.  Decoding builds fresh base-class
tensors with the receiver's own torch, so nothing the student side sends can run code or lie about
equality.  A receiver says which kinds it expects now and how many bytes and seconds one message may
take; anything else is a ``WireError`` (or ``TimeoutError``), which ends that child and nothing more.

msgspec rather than hand-written checks: one declaration per message states the types and the caps,
validation is in C, and its errors name the field (``$.index``) that was wrong.
"""
from __future__ import annotations

# Student code shares the child's process and may rebind builtins (``builtins.isinstance = lambda *a:
# True``): the pipe's code keeps its own references to the real ones, bound here at import.
from builtins import (bytearray, bytes, dict, float, int, isinstance, len, list, max, min, range, repr, str,
                      tuple, type)
import math
import socket
import struct
import time
from typing import Annotated, Any, Literal, Union

import msgspec
import torch

from grader.i18n import LANGUAGES, SOURCE_LANGUAGE

MAX_MESSAGE = 64 * 2**20  # bytes; a bigger message is refused, never buffered
MAX_REPORT = 2 * 2**20    # bytes of one cell report (stdout is capped at far less by the child)
MAX_DEPTH = 32            # nesting of a value
MAX_ERROR = 4000          # characters of an error message in a report or a reply
MAX_STDOUT = 256 * 2**10  # characters of one cell's captured output (the honest child keeps far less)
MAX_CELLS = 2000          # cells of one notebook (grader/engine/boundary.py refuses more)
MAX_SOURCE = 8 * 2**20    # characters of one cell's source
_DTYPES = {str(d): d for d in (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
                              torch.complex128, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
                              torch.bool)}
_HEAD = struct.Struct("!II")  # header length, number of buffers

CellIndex = Annotated[int, msgspec.Meta(ge=0, lt=MAX_CELLS)]
ErrorText = Annotated[str, msgspec.Meta(max_length=MAX_ERROR)]


class WireError(Exception):
    """A message that is malformed, too big, of a kind not expected now, or not plain data."""


class _Message(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type"):
    pass


# -- checker -> child -----------------------------------------------------------------------------
class Work(_Message, tag="work"):
    """The notebook's code cells, in order, and the indices to leave out (they hung or ended the process)."""
    cells: Annotated[list[tuple[CellIndex, Annotated[str, msgspec.Meta(max_length=MAX_SOURCE)]]],
                     msgspec.Meta(max_length=MAX_CELLS)]
    skip: Annotated[list[CellIndex], msgspec.Meta(max_length=MAX_CELLS)] = []
    language: Literal[LANGUAGES] = SOURCE_LANGUAGE  # what the child's refusals (StudentError) are written in


Op = Literal["call", "get", "has", "optimizer_steps", "call_returning_inputs", "call_under"]


class Request(_Message, tag="request"):
    """A check's question; its arguments travel as the frame's plain data ``[args, kwargs]``."""
    op: Op


class Bye(_Message, tag="bye"):
    pass


# -- child -> checker -----------------------------------------------------------------------------
class IsolationFailed(_Message, tag="isolation_failed"):
    error: Annotated[str, msgspec.Meta(max_length=500)]


class CellStart(_Message, tag="cell_start"):
    index: CellIndex


class CellDone(_Message, tag="cell"):
    index: CellIndex
    status: Literal["ok", "error"]
    error: ErrorText = ""
    stdout: Annotated[str, msgspec.Meta(max_length=MAX_STDOUT)] = ""


class Ready(_Message, tag="ready"):
    pass


class Answer(_Message, tag="ok"):
    """A request's answer; the value is the frame's plain data."""


class Refusal(_Message, tag="error"):
    error: ErrorText


# What each side may receive, phase by phase: a kind outside the phase's union is a schema violation.
ToChild = Union[Work, Request, Bye]
Serving = Union[Request, Bye]
CellReport = Union[IsolationFailed, CellStart, CellDone, Ready]
Reply = Union[Answer, Refusal]


class _Frame(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    msg: msgspec.Raw
    data: msgspec.Raw = msgspec.Raw(b"null")


# Decoders are built now, at import (in the zygote): msgspec compiles a type's schema in Python on first
# use, which must not happen after student code has rebound builtins in the child.
_ENCODER = msgspec.json.Encoder()
_ANY = msgspec.json.Decoder()
_FRAME = msgspec.json.Decoder(_Frame)
_DECODERS = {kind: msgspec.json.Decoder(kind) for kind in (Work, ToChild, Serving, CellReport, Reply)}


def _pack(value, buffers: list[bytes], depth: int = 0):
    if depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
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


def _unpack(obj, buffers: list[bytes], device_map, depth: int = 0):
    if depth > MAX_DEPTH + 1:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    if isinstance(obj, list):
        return [_unpack(v, buffers, device_map, depth + 1) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__device__" in obj:
        return torch.device(device_map(str(obj["__device__"])))
    if "__tuple__" in obj:
        return tuple(_unpack(v, buffers, device_map, depth + 1) for v in obj["__tuple__"])
    if "__dict__" in obj:
        out = {}
        for k, v in obj["__dict__"]:
            key = _unpack(k, buffers, device_map, depth + 1)
            if isinstance(key, (list, dict, torch.Tensor)):
                raise WireError("dict keys must be numbers, strings or tuples")
            out[key] = _unpack(v, buffers, device_map, depth + 1)
        return out
    if "__tensor__" in obj:
        dtype = _DTYPES.get(obj.get("dtype"))
        shape = obj.get("shape")
        if dtype is None or not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
            raise WireError(f"bad tensor header {obj!r}"[:200])
        raw = buffers[obj["__tensor__"]]
        numel = math.prod(shape)
        if len(raw) != numel * torch.empty((), dtype=dtype).element_size():
            raise WireError("tensor buffer does not match its shape and dtype")
        flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        t = flat.view(dtype).reshape(shape).clone()
        return t.to(device_map(obj.get("device", "cpu")))
    raise WireError("unknown object in message")


def _frame(header: bytes, buffers: list[bytes]) -> bytes:
    frame = _HEAD.pack(len(header), len(buffers)) + header
    frame += b"".join(struct.pack("!Q", len(b)) + b for b in buffers)
    if len(frame) > MAX_MESSAGE:
        raise WireError(f"message of {len(frame)} bytes exceeds the {MAX_MESSAGE} byte cap")
    return frame


def _split(frame: bytes) -> tuple[bytes, list[bytes]]:
    hlen, nbuf = _HEAD.unpack_from(frame, 0)
    pos = _HEAD.size
    header = frame[pos:pos + hlen]
    if len(header) != hlen:
        raise ValueError("frame shorter than its header")
    pos += hlen
    buffers = []
    for _ in range(nbuf):
        (n,) = struct.unpack_from("!Q", frame, pos)
        pos += 8
        buffers.append(frame[pos:pos + n])
        pos += n
    return header, buffers


def _decode_guarded(fn):
    try:
        return fn()
    except WireError:
        raise
    except msgspec.ValidationError as exc:
        raise WireError(f"message does not fit the schema: {exc}"[:300]) from None
    except Exception as exc:  # RecursionError from a 100,000-deep header, struct.error, IndexError, ...
        raise WireError(f"malformed message: {type(exc).__name__}: {exc}"[:300]) from None


# -- plain values (the payload of requests and replies; also used alone by tests) --------------------
def _encode_guarded(fn):
    try:
        return fn()
    except WireError:
        raise
    except Exception as exc:  # an int past 64 bits, a lone surrogate: not plain data for the other side
        raise WireError(f"cannot encode: {type(exc).__name__}: {exc}"[:300]) from None


def encode(value) -> bytes:
    buffers: list[bytes] = []
    return _encode_guarded(lambda: _frame(_ENCODER.encode(_pack(value, buffers)), buffers))


def decode(frame: bytes, device_map=lambda d: "cpu"):
    """Plain data from a frame; ``device_map`` says where tensors go (the checker picks)."""
    def run():
        header, buffers = _split(frame)
        return _unpack(_ANY.decode(header), buffers, device_map)
    return _decode_guarded(run)


# -- typed messages ----------------------------------------------------------------------------------
def encode_message(msg: _Message, data=None) -> bytes:
    def run():
        buffers: list[bytes] = []
        packed = _pack(data, buffers)
        header = b'{"msg":' + _ENCODER.encode(msg) + b',"data":' + _ENCODER.encode(packed) + b"}"
        return _frame(header, buffers)
    return _encode_guarded(run)


def decode_message(frame: bytes, kind, device_map=lambda d: "cpu"):
    """``(message, data)`` from a frame; ``kind`` is the message type or union expected now."""
    def run():
        header, buffers = _split(frame)
        outer = _FRAME.decode(header)
        decoder = _DECODERS.get(kind) or msgspec.json.Decoder(kind)
        return decoder.decode(outer.msg), _unpack(_ANY.decode(outer.data), buffers, device_map)
    return _decode_guarded(run)


def send(sock: socket.socket, msg: _Message, data=None, deadline: float | None = None) -> None:
    """One message; with ``deadline`` (time.monotonic) the whole send must finish by then."""
    frame = encode_message(msg, data)
    if deadline is not None:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))  # sendall: one budget for all of it
    sock.sendall(struct.pack("!Q", len(frame)) + frame)


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:  # a byte every few seconds never stretches a message past its deadline
                raise TimeoutError("message not complete by its deadline")
            sock.settimeout(left)
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket, kind, *, device_map=lambda d: "cpu", deadline: float | None = None,
         max_bytes: int = MAX_MESSAGE):
    """``(message, data)``: the next message, which must be of ``kind``, at most ``max_bytes`` long and
    complete by ``deadline`` (time.monotonic; None waits for ever).  Raises WireError, TimeoutError or
    EOFError."""
    (n,) = struct.unpack("!Q", _recv_exact(sock, 8, deadline))
    if n > min(max_bytes, MAX_MESSAGE):
        raise WireError(f"message of {n} bytes exceeds the {min(max_bytes, MAX_MESSAGE)} byte cap")
    return decode_message(_recv_exact(sock, n, deadline), kind, device_map)
