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
from grader.i18n import SOURCE_LANGUAGE, _in
from grader.student.selfcheck import StudentError, _

# torch._dynamo: every optimizer's constructor imports it lazily (2.5 s of sympy and friends per child)
PRELOAD = ["torch", "torch._dynamo", "numpy", "pyseccomp", "grader.engine.child", "grader.student.selfcheck",
           "grader.engine.wire", "grader.engine.isolation"]
MAX_RESTARTS = 3
# Caps applied here, in the checker, whatever the child claims: the notebook, the marker and the
# feedback of a submission that floods stay small (the child's own caps are the student's to break).
MAX_SUBMISSION_OUTPUT = 64 * 2**10  # characters of output and error text kept over all its cells
MAX_REPLY_ERROR = 1000              # characters of a refused request's message (a check's failure)


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
    """One submission's student process, as seen from the checker.

    Everything the child sends is the student's: its code can write to the pipe.  So each message is
    typed (grader/engine/wire.py) and must also be the one the protocol expects now: the ``cell_start``
    of the next cell sent, then that cell's report, then ``ready``.  Each waits against one deadline
    fixed when the wait began, so neither a drip of bytes nor a stream of messages stretches a cell.  A
    message out of turn ends the child and is the fault of the cell that was running (or, between
    cells, of the last one that ran: only student code, a thread of it, writes out of turn).
    """

    def __init__(self, ctx, cells: list[tuple[int, str]], policy: isolation.Policy, spare=None,
                 locked: frozenset[int] = frozenset(), language: str = SOURCE_LANGUAGE):
        """``spare``: a child from ``spawn_child`` for this policy, already isolated and waiting.
        ``locked``: indices of the instructor's locked cells, which are never skipped for a fault of their own."""
        self.ctx, self.cells, self.policy, self.spare, self.locked = ctx, list(cells), policy, spare, locked
        self.language = language
        self.cuda = policy.cuda
        self.runs: dict[int, CellRun] = {}
        self.skip: set[int] = set()
        self.restarts = 0
        self.locked_retried = False
        self.proc = self.sock = None
        self.busy = 0.0      # seconds the student's cells ran (calls are timed inside the check bodies)
        self.peak_rss = 0    # bytes, the largest child seen
        self.kept = 0        # characters of cell output and errors kept so far (MAX_SUBMISSION_OUTPUT)
        self.deadline = time.monotonic() + policy.limits.submission_seconds

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> dict[int, CellRun]:
        """Run the cells; returns what happened to each.  Restarts past cells that hang or kill it.

        A locked cell that hangs or dies is retried once in a fresh sandbox (the host may have killed
        it).  If it fails again it runs alone, with the other locked cells before it: where it then
        works, the student's cells before it broke it, and it counts as theirs (recorded, skipped);
        where it fails alone too, the engine is broken: ``SandboxError``.
        """
        while True:
            culprit = self._attempt()
            if culprit is None:
                return self.runs
            if culprit in self.locked:
                if not self.locked_retried:
                    self.locked_retried = True
                    self.runs.pop(culprit, None)
                    continue
                failed = self.runs.get(culprit) or CellRun(culprit, "died")
                if not self._locked_cells_run_alone(culprit):
                    raise SandboxError(f"locked cell {culprit} failed twice in a fresh sandbox and alone "
                                       f"({failed.status}: {failed.error})")
                self.runs[culprit] = CellRun(culprit, failed.status, _in(
                    self.language, "{error} (讲师的单元格, 被它之前的学生单元格破坏: 单独运行时正常)").format(error=failed.error))
            if culprit >= 0:  # -1: no cell to name (the child was gone before its first one); retry them all
                self.skip.add(culprit)
            if self.restarts >= MAX_RESTARTS or time.monotonic() > self.deadline:
                return self.runs
            self.restarts += 1

    def _attempt(self) -> int | None:
        """One child runs the cells; None when it got to ``ready``, else the culprit (killed by then)."""
        self.proc, self.sock = self.spare or spawn_child(self.ctx, self.policy)
        self.spare = None
        try:
            wire.send(self.sock, wire.Work(cells=self.cells, skip=sorted(self.skip), language=self.language),
                      deadline=time.monotonic() + self.policy.limits.cell_seconds)
            culprit = self._follow_cells()
        except OSError:  # the child was gone before it got its cells (TimeoutError included)
            culprit = -1
        if culprit is not None:
            self.kill()
        return culprit

    def _locked_cells_run_alone(self, culprit: int) -> bool:
        probe = Sandbox(self.ctx, [c for c in self.cells if c[0] in self.locked and c[0] <= culprit], self.policy)
        try:
            return probe._attempt() is None
        finally:
            probe.kill()

    def _follow_cells(self) -> int | None:
        """Read cell reports until ``ready``; returns the index of a cell that hung, killed the child or
        broke the protocol (-1 when none can be named)."""
        limit = self.policy.limits.cell_seconds
        expected = [i for i, _ in self.cells if i not in self.skip]
        pos, current, heard, started = 0, None, False, 0.0
        deadline = min(time.monotonic() + limit, self.deadline)  # one per awaited message, never extended
        while True:
            last = current if current is not None else (expected[pos - 1] if pos else -1)
            try:
                msg, _ = wire.recv(self.sock, wire.CellReport, deadline=deadline, max_bytes=wire.MAX_REPORT)
            except TimeoutError:
                if current is not None:
                    return self._blame(current, "timeout", _in(self.language, "单元格运行超过了 {seconds} 秒").format(
                        seconds=f"{limit:.0f}"))
                return self._blame(last, "died", _in(self.language, "这个单元格之后进程不再应答 ({seconds} 秒)").format(
                    seconds=f"{limit:.0f}"))
            except (EOFError, OSError) as exc:
                return self._blame(last, "died", _in(self.language, "单元格结束了进程 ({error})").format(error=exc))
            except wire.WireError as exc:
                return self._blame(last, "died", _in(self.language, "单元格破坏了评分程序的通信协议 ({error})").format(
                    error=exc))
            first, heard = not heard, True
            if isinstance(msg, wire.IsolationFailed) and first and pos == 0:
                self.kill()
                raise SandboxError(f"the sandbox could not be built: {msg.error}")
            if isinstance(msg, wire.CellStart) and current is None and pos < len(expected) \
                    and msg.index == expected[pos]:
                current, started = msg.index, time.perf_counter()
                deadline = min(time.monotonic() + limit, self.deadline)
            elif isinstance(msg, wire.CellDone) and msg.index == current:
                self.busy += time.perf_counter() - started
                self.runs[current] = CellRun(current, msg.status, *self._keep(msg.error[:2000], msg.stdout))
                current, pos = None, pos + 1
                deadline = min(time.monotonic() + limit, self.deadline)
            elif isinstance(msg, wire.Ready) and current is None and pos == len(expected):
                return None
            else:
                want = (f"the report of cell {current}" if current is not None else
                        f"the start of cell {expected[pos]}" if pos < len(expected) else "ready")
                return self._blame(last, "died", _in(self.language, "单元格破坏了评分程序的通信协议 ({error})").format(
                    error=f"sent {type(msg).__name__} {getattr(msg, 'index', '')} where {want} was due"))

    def _blame(self, index: int, status: str, error: str) -> int:
        if index >= 0:
            self.runs[index] = CellRun(index, status, *self._keep(error, ""))
        return index

    def _keep(self, error: str, stdout: str) -> tuple[str, str]:
        """A cell's error and output, cut to the per-cell cap and to what is left of the submission's."""
        stdout = stdout[:self.policy.limits.output_bytes + 100]  # + the child's "[... dropped]" line
        room = max(MAX_SUBMISSION_OUTPUT - self.kept, 0)
        error = error[:room] if room else ""
        room -= len(error)
        if len(stdout) > room:
            stdout = stdout[:room] + ("\n" + _in(self.language, "[... 超过整份提交 {limit} 个字符的输出已丢弃]").format(
                limit=MAX_SUBMISSION_OUTPUT) if room or stdout else "")
        self.kept += len(error) + len(stdout)
        return error, stdout

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
                wire.send(self.sock, wire.Bye(), deadline=time.monotonic() + 1)
            except (OSError, wire.WireError):
                pass
        self.kill()

    # -- requests from checks -------------------------------------------------------------------
    def request(self, op: str, *args, **kwargs):
        if not self.alive():
            if self.restarts >= MAX_RESTARTS or time.monotonic() > self.deadline:
                raise StudentError(_("学生进程已结束, 无法继续检查"))
            self.restarts += 1
            self.start()
        limit = self.policy.limits.cell_seconds
        deadline = max(time.monotonic() + 0.01, min(time.monotonic() + limit, self.deadline))  # the whole exchange
        try:
            wire.send(self.sock, wire.Request(op=op), [list(args), kwargs], deadline=deadline)
            reply, value = wire.recv(self.sock, wire.Reply, device_map=self._device, deadline=deadline)
        except TimeoutError:
            self.kill()
            raise StudentError(_("调用超时 ({seconds} 秒内没有回答)").format(seconds=f"{limit:.0f}")) from None
        except (EOFError, OSError, wire.WireError) as exc:
            self.proc.join(1)
            status = self.proc.exitcode  # the keeper exits with the init's status (a signal N as 256 - N)
            self.kill()
            raise StudentError(_("学生进程异常: {error} (退出状态 {status})").format(error=str(exc)[:300], status=status)) from None
        if isinstance(reply, wire.Refusal):
            raise StudentError(reply.error[:MAX_REPLY_ERROR])
        return value

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
