"""The pipe carries plain data only: what comes out is always the checker's own base types."""
import math
import socket

import pytest
import torch

from grader.engine import wire


def test_round_trip_keeps_values_types_and_shapes():
    value = {"t": torch.arange(6.0).reshape(2, 3), "b": torch.tensor([True, False]), "h": torch.ones(2, dtype=torch.bfloat16),
             "e": torch.empty(0, 4), "n": (1, 2.5, None, "x"), "d": torch.device("cpu"), "l": [float("nan"), float("inf")], 3: {"k": -1}}
    back = wire.decode(wire.encode(value))
    assert torch.equal(back["t"], value["t"]) and back["t"].dtype == torch.float32
    assert back["d"] == torch.device("cpu")
    assert back["h"].dtype == torch.bfloat16 and back["e"].shape == (0, 4)
    assert back["n"] == (1, 2.5, None, "x") and isinstance(back["n"], tuple)
    assert math.isnan(back["l"][0]) and back["l"][1] == math.inf and back[3] == {"k": -1}


def test_a_lying_tensor_subclass_arrives_as_a_plain_tensor():
    class AlwaysEqual(torch.Tensor):
        def __eq__(self, other):
            return True

    back = wire.decode(wire.encode(torch.zeros(3).as_subclass(AlwaysEqual)))
    assert type(back) is torch.Tensor
    assert not torch.equal(back, torch.ones(3))


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes", type("F", (float,), {})(1.0), lambda: 0])
def test_anything_but_plain_data_is_refused(value):
    with pytest.raises(wire.WireError):
        wire.encode(value)


@pytest.mark.parametrize("frame", [b"", b"\x00\x00\x00\x05\x00\x00\x00\x00{", b"garbage" * 3])
def test_malformed_frames_raise_wire_error(frame):
    with pytest.raises(wire.WireError):
        wire.decode(frame)


def test_tensor_header_must_match_its_buffer():
    frame = wire.encode(torch.ones(4))
    forged = frame.replace(b'"shape":[4]', b'"shape":[9]')
    with pytest.raises(wire.WireError, match="does not match"):
        wire.decode(forged)


def test_oversized_messages_are_refused_before_reading(monkeypatch):
    a, b = socket.socketpair()
    a.sendall((wire.MAX_MESSAGE + 1).to_bytes(8, "big"))
    with pytest.raises(wire.WireError, match="exceeds"):
        wire.recv(b, wire.Reply)
