"""Stage `execute`: run a submission's cells in a sandboxed child forked from a warm zygote.

The zygote is multiprocessing's forkserver with torch preloaded: it imports torch once and never runs
a torch op (a fork after a multi-threaded op can hang), so each child starts in milliseconds.  Wall
clock limits are enforced from here; a cell that hangs or kills its process is recorded, skipped, and
the child restarted, so the honest parts of a hostile notebook still get graded.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import socket
import sys
import threading
import time
import types
from dataclasses import dataclass

from grader.engine import isolation, child, wire
from grader.student.selfcheck import StudentError

# torch._dynamo: every optimizer's constructor imports it lazily (2.5 s of sympy and friends per child)
PRELOAD = ["torch", "torch._dynamo", "numpy", "pyseccomp", "grader.engine.child", "grader.student.selfcheck",
           "grader.engine.wire", "grader.engine.isolation"]
MAX_RESTARTS = 3


@dataclass
class CellRun:
    index: int
    status: str  # ok | error | timeout | died
    error: str = ""
    stdout: str = ""


class SandboxError(RuntimeError):
    """The sandbox could not be built or a locked (instructor) cell could not run: the engine's failure."""


def zygote_context() -> multiprocessing.context.BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def warm_zygote(ctx):
    """Start the zygote now; ``join()`` the returned process to wait until its imports are done.

    The process is a no-op child: the zygote forks it only once it has preloaded everything.
    """
    proc = ctx.Process(target=os.getpid, daemon=True)
    with bare_main():
        proc.start()
    return proc


def zygote_pid() -> int | None:
    from multiprocessing import forkserver
    return getattr(forkserver._forkserver, "_forkserver_pid", None)


_MAIN_SWAP = threading.Lock()  # a worker starts children from two threads (see grader/worker.py)


@contextlib.contextmanager
def bare_main():
    """multiprocessing makes each child re-import the parent's ``__main__`` (for `make bench` that pulls
    in nbgrader: seconds per child); neither sandbox children nor grading workers need anything from it."""
    with _MAIN_SWAP:
        real = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = real


def spawn_child(ctx, policy: isolation.Policy):
    """Fork a student process from the zygote; it isolates itself, then waits for its cells.

    Returns ``(process, socket)``; the process is the sandbox's keeper.  A worker forks the next one
    ahead of time, while it grades.
    """
    parent, theirs = socket.socketpair()
    proc = ctx.Process(target=child.main, args=(theirs, policy), daemon=True)
    with bare_main():
        proc.start()
    theirs.close()
    return proc, parent


class Sandbox:
    """One submission's student process, as seen from the checker."""

    def __init__(self, ctx, cells: list[tuple[int, str]], policy: isolation.Policy, spare=None,
                 locked: frozenset[int] = frozenset()):
        """``spare``: a child from ``spawn_child`` for this policy, already isolated and waiting.
        ``locked``: indices of the instructor's locked cells, which are never skipped."""
        self.ctx, self.cells, self.policy, self.spare, self.locked = ctx, cells, policy, spare, locked
        self.cuda = policy.cuda
        self.runs: dict[int, CellRun] = {}
        self.skip: set[int] = set()
        self.restarts = 0
        self.locked_retried = False
        self.proc = self.sock = None
        self.busy = 0.0      # seconds the student's cells ran (calls are timed inside the check bodies)
        self.peak_rss = 0    # bytes, the largest child seen
        self.deadline = time.monotonic() + policy.limits.submission_seconds

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> dict[int, CellRun]:
        """Run the cells; returns what happened to each.  Restarts past cells that hang or kill it.

        A locked cell that hangs or dies is the engine's problem, not the student's: retried once in a
        fresh sandbox, then ``SandboxError``; it is never skipped.
        """
        while True:
            self.proc, self.sock = self.spare or spawn_child(self.ctx, self.policy)
            self.spare = None
            try:
                wire.send(self.sock, {"cells": [list(c) for c in self.cells], "skip": sorted(self.skip)})
                culprit = self._follow_cells()
            except OSError:  # the child was gone before it got its cells
                culprit = -1
            if culprit is None:
                return self.runs
            self.kill()
            if culprit in self.locked:
                if self.locked_retried:
                    raise SandboxError(f"locked cell {culprit} failed twice in a fresh sandbox "
                                       f"({self.runs[culprit].status}: {self.runs[culprit].error})")
                self.locked_retried = True
                del self.runs[culprit]
                continue
            self.skip.add(culprit)
            if self.restarts >= MAX_RESTARTS or time.monotonic() > self.deadline:
                return self.runs
            self.restarts += 1

    def _follow_cells(self) -> int | None:
        """Read cell reports until ``ready``; returns the index of a cell that hung or killed the child."""
        current = None
        started = 0.0
        limit = self.policy.limits.cell_seconds
        while True:
            wait = min(limit, self.deadline - time.monotonic())
            try:
                self.sock.settimeout(max(wait, 0.01))
                msg = wire.recv(self.sock)
            except (socket.timeout, TimeoutError):
                if current is not None:
                    self.runs[current] = CellRun(current, "timeout", f"cell ran longer than {limit:.0f} s")
                return current if current is not None else -1
            except (EOFError, OSError, wire.WireError) as exc:
                if current is not None:
                    self.runs[current] = CellRun(current, "died", f"the cell ended the process ({exc})")
                return current if current is not None else -1
            if not isinstance(msg, dict):
                return current if current is not None else -1
            if msg.get("type") == "isolation_failed" and not self.runs and current is None:
                self.kill()
                raise SandboxError(f"the sandbox could not be built: {msg.get('error')}")
            if msg.get("type") == "cell_start":
                current, started = msg.get("index"), time.perf_counter()
            elif msg.get("type") == "cell":
                self.busy += time.perf_counter() - started
                self.runs[msg["index"]] = CellRun(msg["index"], msg.get("status", "error"),
                                                  str(msg.get("error", "")), str(msg.get("stdout", "")))
                current = None
            elif msg.get("type") == "ready":
                return None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive() and self.sock is not None

    def init_pid(self) -> int:
        """The host pid of the sandbox's init, the student's process (the keeper's only child)."""
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            return int(f.read().split()[0])

    def note_peak(self) -> None:
        """The init's peak memory."""
        try:
            with open(f"/proc/{self.init_pid()}/status") as f:
                hwm = next(l for l in f if l.startswith("VmHWM:"))
            self.peak_rss = max(self.peak_rss, int(hwm.split()[1]) * 1024)
        except (OSError, StopIteration, ValueError, AttributeError, IndexError):
            pass

    def kill(self) -> None:
        """Tear the sandbox down: the keeper kills and reaps the namespace's init, which takes every
        process of the namespace with it; nothing of this submission outlives the call."""
        if self.proc is not None:
            self.note_peak()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.terminate()
                self.proc.join(5)
            if self.proc.is_alive():  # a keeper that did not answer: the init's parent-death signal does it
                self.proc.kill()
            self.proc.join(5)
            self.proc = None

    def close(self) -> None:
        if self.proc is not None:
            self.note_peak()
        if self.alive():
            try:
                wire.send(self.sock, {"op": "bye"})
            except OSError:
                pass
        self.kill()

    # -- requests from checks -------------------------------------------------------------------
    def request(self, op: str, *args, **kwargs):
        if not self.alive():
            if self.restarts >= MAX_RESTARTS or time.monotonic() > self.deadline:
                raise StudentError("学生进程已结束, 无法继续检查 (the submission's process is gone)")
            self.restarts += 1
            self.start()
        try:
            self.sock.settimeout(max(0.01, min(self.policy.limits.cell_seconds, self.deadline - time.monotonic())))
            wire.send(self.sock, {"op": op, "args": list(args), "kwargs": kwargs})
            reply = wire.recv(self.sock, device_map=self._device)
        except (socket.timeout, TimeoutError):
            self.kill()
            raise StudentError(f"调用超时 (no answer within {self.policy.limits.cell_seconds:.0f} s)") from None
        except (EOFError, OSError, wire.WireError) as exc:
            self.proc.join(1)
            status = self.proc.exitcode  # the keeper exits with the init's status (a signal N as 256 - N)
            self.kill()
            raise StudentError(f"学生进程异常: {exc} (exit status {status})") from None
        if not isinstance(reply, dict) or not ({"ok", "error"} & reply.keys()):
            raise StudentError("学生进程返回了无法识别的回答")
        if "error" in reply:
            raise StudentError(str(reply["error"]))
        return reply["ok"]

    def _device(self, name) -> str:
        return "cuda" if name == "cuda" and self.cuda else "cpu"


class SandboxStudent:
    """The ``student`` fixture for `make grade`: the same methods as LocalStudent, over the wire."""

    def __init__(self, box: Sandbox):
        self.box = box

    def has(self, name):
        return self.box.request("has", name)

    def get(self, name):
        return self.box.request("get", name)

    def call(self, name, *args, **kwargs):
        return self.box.request("call", name, *args, **kwargs)

    def optimizer_steps(self, cls_name, params, grads, **hyper):
        out = self.box.request("optimizer_steps", cls_name, params, grads, **hyper)
        return tuple(out) if hyper.get("return_state") and isinstance(out, list) else out

    # side effects and contexts: the child applies them (see LocalStudent for the contract)
    def call_returning_inputs(self, name, *args, **kwargs):
        result, after = self.box.request("call_returning_inputs", name, *args, **kwargs)
        return result, after

    def call_under(self, context, name, *args, **kwargs):
        return self.box.request("call_under", context, name, *args, **kwargs)
