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


# -- typed messages: each phase accepts only its kinds, with the schema's types, ranges and caps -----------------

def _raw(msg: bytes, data: bytes = b"null", buffers: int = 0) -> bytes:
    header = b'{"msg":' + msg + b',"data":' + data + b"}"
    return wire._HEAD.pack(len(header), buffers) + header


def test_messages_round_trip_with_their_payload():
    msg, data = wire.decode_message(wire.encode_message(wire.Answer(), {"t": torch.ones(2), 1: (2, 3)}), wire.Reply)
    assert msg == wire.Answer() and torch.equal(data["t"], torch.ones(2)) and data[1] == (2, 3)
    work = wire.Work(cells=[(0, "x = 1"), (3, "y = 2")], skip=[3])
    assert wire.decode_message(wire.encode_message(work), wire.ToChild) == (work, None)


@pytest.mark.parametrize("msg", [
    b'{"type":"cell_start","index":"x"}', b'{"type":"cell_start","index":[1]}', b'{"type":"cell_start","index":-1}',
    b'{"type":"cell_start","index":%d}' % wire.MAX_CELLS, b'{"type":"cell_start","index":1.5}',
    b'{"type":"cell","index":1,"status":"died"}', b'{"type":"cell","index":1,"status":true}',
    b'{"type":"cell","index":1,"status":"ok","error":"%s"}' % (b"e" * (wire.MAX_ERROR + 1)),
    b'{"type":"cell","index":1,"status":"ok","stdout":"%s"}' % (b"s" * (wire.MAX_STDOUT + 1)),
    b'{"type":"ready","score":100}', b'{"type":"grade"}', b'{"index":1}', b'"ready"', b'[1,2]',
    b'{"type":"ok"}',  # a reply where a cell report is due
])
def test_a_cell_report_that_breaks_the_schema_is_refused(msg):
    with pytest.raises(wire.WireError):
        wire.decode_message(_raw(msg), wire.CellReport)


def test_deep_nesting_and_lying_frames_are_wire_errors_not_crashes():
    deep = b"[" * 100_000 + b"]" * 100_000
    for frame in (_raw(b'{"type":"ok"}', deep), _raw(deep), _raw(b'{"type":"ok"}', buffers=9),
                  _raw(b'{"type":"ok"}', b'{"__tensor__": 5, "dtype": "torch.float32", "shape": [1]}'),
                  _raw(b'{"type":"ok"}', b'{"__dict__": 3}')):
        with pytest.raises(wire.WireError):
            wire.decode_message(frame, wire.Reply)


def test_values_too_deep_or_not_encodable_are_refused_when_sent():
    value = []
    for _ in range(wire.MAX_DEPTH + 5):
        value = [value]
    for bad in (value, "\ud800", {1, 2}):
        with pytest.raises(wire.WireError):
            wire.encode_message(wire.Answer(), bad)


def test_a_message_must_be_complete_by_its_deadline_however_it_trickles(monkeypatch):
    import threading
    import time

    a, b = socket.socketpair()
    frame = wire.encode_message(wire.Ready())
    stop = threading.Event()

    def drip():
        for byte in (len(frame).to_bytes(8, "big") + frame):
            if stop.wait(0.2):
                return
            a.send(bytes([byte]))

    threading.Thread(target=drip, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        wire.recv(b, wire.CellReport, deadline=started + 1.0)
    stop.set()
    assert time.monotonic() - started < 1.5


def test_a_cap_smaller_than_the_message_refuses_it_unread():
    a, b = socket.socketpair()
    a.sendall((wire.MAX_REPORT + 1).to_bytes(8, "big"))
    with pytest.raises(wire.WireError, match="exceeds"):
        wire.recv(b, wire.CellReport, max_bytes=wire.MAX_REPORT)
