"""The student's side of `execute`: runs in a process forked from the warm zygote, never in the checker.

It isolates itself (grader/engine/isolation.py), waits for the notebook's cells (a worker forks it ahead of
time), runs them one by one, reporting each over the wire, then answers the checker's requests for
plain data until told to stop.
"""
from __future__ import annotations

# Student code runs in this process and may rebind builtins: the child's own code keeps the real ones.
from builtins import BaseException, compile, exec, isinstance, len, max, min, set, str, type
import builtins
import io
import os
import sys
import traceback

from grader import i18n
from grader.engine import isolation, wire
from grader.student.selfcheck import LocalStudent, StudentError, _

i18n.preload()  # here, in the zygote: a child cannot read grader/locale once it is isolated


_REAL_BUILTINS = dict(builtins.__dict__)  # as the zygote imported them, before any student code


class CappedText(io.TextIOBase):
    """stdout for student code: keeps the first ``cap`` characters, counts and drops the rest."""

    def __init__(self, cap: int):
        self.cap, self.parts, self.size, self.dropped = cap, [], 0, 0

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        room = self.cap - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def take(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += "\n" + _("[... 丢弃了 {count} 个字符的输出]").format(count=self.dropped)
        self.parts, self.size, self.dropped = [], 0, 0
        return text


def isolate(sock, policy: isolation.Policy) -> None:
    """Enter the sandbox (this process stays outside as its keeper), then silence the standard streams."""
    work = isolation.enter(policy, close_in_keeper=[sock.fileno()])
    os.chdir(work)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def _text(s: str, cap: int) -> str:
    """Capped, and encodable: a lone surrogate a student printed becomes '?' instead of breaking the pipe."""
    return s[:cap].encode("utf-8", "replace").decode("utf-8")


def run_cells(sock, work: wire.Work, cap: int) -> dict:
    # The setup cell imports the public `selfcheck` that ships beside the release notebook.
    sys.modules.setdefault("selfcheck", sys.modules["grader.student.selfcheck"])
    ns: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    out = CappedText(min(cap, wire.MAX_STDOUT - 200))
    skip = set(work.skip)
    for index, source in work.cells:
        if index in skip:
            continue
        wire.send(sock, wire.CellStart(index=index))
        sys.stdout = sys.stderr = out
        status, error = "ok", ""
        try:
            exec(compile(source, f"<cell {index}>", "exec"), ns)
        except BaseException as exc:  # sys.exit, KeyboardInterrupt: an error of this cell, not our exit
            status = "error"
            error = "".join(traceback.format_exception_only(type(exc), exc))
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        wire.send(sock, wire.CellDone(index=index, status=status, error=_text(error[-2000:], 2000),
                                      stdout=_text(out.take(), wire.MAX_STDOUT)))
    return ns


def serve(sock, ns: dict) -> None:
    # The checks' calls go through LocalStudent and plain() here, which rely on isinstance and friends:
    # builtins a cell rebound (`builtins.isinstance = lambda *a: True`) are put back first, so such a
    # patch changes nothing a check sees (it never reaches the checker's own process anyway).
    builtins.__dict__.update(_REAL_BUILTINS)
    student = LocalStudent(ns)
    methods = {"call": student.call, "get": student.get, "has": student.has,
               "optimizer_steps": student.optimizer_steps,
               # side effects and contexts, evaluated here, where the student's code runs (check contract)
               "call_returning_inputs": student.call_returning_inputs, "call_under": student.call_under}
    wire.send(sock, wire.Ready())
    while True:
        request, data = wire.recv(sock, wire.Serving, device_map=lambda d: d)
        if isinstance(request, wire.Bye):
            return
        try:
            args, kwargs = data
            value = methods[request.op](*args, **kwargs)
            reply, payload = wire.Answer(), value
        except StudentError as exc:
            reply, payload = wire.Refusal(error=_text(str(exc), 2000)), None
        except BaseException as exc:
            reply, payload = wire.Refusal(error=_text(f"{type(exc).__name__}: {exc}", 2000)), None
        try:
            wire.send(sock, reply, payload)
        except wire.WireError as exc:
            wire.send(sock, wire.Refusal(error=_text(_("结果无法传回评分程序: {error}").format(error=exc), 2000)))


def main(sock, policy: isolation.Policy) -> None:
    """Entry point of the forked child: isolates itself, waits for its cells; never returns normally."""
    try:
        try:
            isolate(sock, policy)
        except Exception as exc:  # the engine's failure, not the student's: the checker must hear it
            wire.send(sock, wire.IsolationFailed(error=_text(f"{type(exc).__name__}: {exc}", 500)))
            raise
        import torch

        torch.set_num_threads(1)
        try:
            work, _ = wire.recv(sock, wire.Work)
        except wire.WireError as exc:  # the checker's own message: an engine bug, never to pass silently
            wire.send(sock, wire.IsolationFailed(error=_text(f"the cells sent did not decode: {exc}", 500)))
            raise
        from grader.student import selfcheck

        selfcheck.use_language(work.language)
        ns = run_cells(sock, work, policy.limits.output_bytes)
        serve(sock, ns)
    except BaseException:
        pass
    finally:
        os._exit(0)
