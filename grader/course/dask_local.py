"""A real Dask cluster on this machine (`dask scheduler` + `dask worker` processes over TCP on 127.0.0.1),
for `make bench SCALE=1` and the tests: the same commands the README gives for a real cluster.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.layout import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dask_cli() -> list[str]:
    exe = Path(sys.executable).parent / "dask"  # the venv's `dask` command
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dask"]


class LocalCluster:
    """Starts and stops the processes; ``address`` is the scheduler's."""

    def __init__(self, log_dir: Path | None = None, pythonpath: Path = REPO):
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="numstab-dask-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(pythonpath),
                                                                             os.environ.get("PYTHONPATH")]))}
        self.procs: dict[str, subprocess.Popen] = {}
        self.address = f"tcp://127.0.0.1:{free_port()}"

    def _spawn(self, name: str, args: list[str], env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
        out = open(self.log_dir / f"{name}.log", "wb")
        proc = subprocess.Popen(dask_cli() + args, env=env or self.env, cwd=cwd or REPO, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # its own group: stop() takes all
        out.close()
        self.procs[name] = proc
        return proc

    def start_scheduler(self) -> None:
        port = self.address.rsplit(":", 1)[1]
        self._spawn("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"])

    def start_worker(self, name: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
        """One worker process (`--nthreads 1`) under its nanny, which restarts it if it dies."""
        return self._spawn(name, ["worker", self.address, "--name", name, "--nthreads", "1", "--nworkers", "1",
                                  "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0",
                                  "--local-directory", str(self.log_dir / name)], env, cwd)

    def wait_for_workers(self, n: int, timeout: float = 120) -> None:
        from distributed import Client
        with Client(self.address, timeout=timeout, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=timeout)

    def stop(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.procs)[::-1]:  # workers first, the scheduler last
            proc = self.procs.pop(key)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")


@contextlib.contextmanager
def local_cluster(workers: int, log_dir: Path | None = None, timeout: float = 120):
    """A scheduler and ``workers`` worker processes, stopped on the way out whatever happens."""
    cluster = LocalCluster(log_dir)
    try:
        cluster.start_scheduler()
        for i in range(workers):
            cluster.start_worker(f"w{i}")
        cluster.wait_for_workers(workers, timeout)
        yield cluster
    finally:
        cluster.stop()


def wait_until(predicate, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
