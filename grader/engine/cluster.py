"""Grading on an existing Dask cluster: `python -m grader grade COURSE --scheduler tcp://HOST:PORT`.

The main process keeps collect, sanitize, record, report and the gradebook (the single writer); only
the per-notebook job (execute + check) runs on the Dask workers.  ``EnginePlugin`` starts one engine
``Worker`` per Dask worker process (zygote, sandbox slots, one pytest session, the same isolation as
the local pool) and offers the resource ``numstab-grader`` only once that engine is warm and its
grader code and hidden checks hash to the main process's: a mismatched worker is refused and never
gets a job.  The hidden checks reach a node only by being installed there, never over the wire.

Jobs and results travel as JSON text: a task's argument is the job (cells, parts, seed), its return
value the worker's answer (cell runs, part results, timings), parsed and type-checked here before a
``Graded`` is rebuilt from it.  Dask reschedules a killed worker's jobs by itself; ``DaskRunner``
yields each job's outcome once, so nothing is recorded twice.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import multiprocessing
import queue
import socket
import time
import uuid
from pathlib import Path
from typing import Iterable, Iterator

from grader import i18n
from grader.engine.worker import Graded, Job, Timing, Worker

try:  # the local pool needs no Dask; only --scheduler does
    from distributed import WorkerPlugin
except ImportError:  # pragma: no cover - distributed is pinned in requirements.txt
    WorkerPlugin = object

PLUGIN = "numstab-grader"
RESOURCE = "numstab-grader"  # offered by a worker once its engine is warm; every job asks for one
NO_WORKER_GRACE = 120.0  # seconds without a single grading worker before the remaining jobs fail
GRADER_ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("grader.cluster")


def code_version() -> str:
    """A hash of every source file under ``grader/`` (the engine and the hidden checks) on this node."""
    h = hashlib.sha256()
    for path in sorted([*GRADER_ROOT.rglob("*.py"), *GRADER_ROOT.rglob("*.po")]):  # .po: the messages
        if "__pycache__" not in path.parts:
            h.update(str(path.relative_to(GRADER_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


# -- plain data both ways -------------------------------------------------------------------------
def job_to_text(job: Job) -> str:
    return json.dumps({"key": job.key, "assignment": job.assignment, "cells": [list(c) for c in job.cells],
                       "parts": [list(p) for p in job.parts], "seed": job.seed, "locked": list(job.locked),
                       "language": job.language})


def job_from_text(text: str) -> Job:
    d = json.loads(text)
    return Job(str(d["key"]), str(d["assignment"]), [(int(i), str(s)) for i, s in d["cells"]],
               [(str(p), float(w)) for p, w in d["parts"]], int(d["seed"]), tuple(int(i) for i in d["locked"]),
               i18n.known(d.get("language")))


def graded_to_text(graded: Graded, span: tuple[float, float], worker: str) -> str:
    """The worker's answer as JSON; fails (instead of sending) if anything in it is not plain data."""
    t = graded.timing
    return json.dumps({"key": graded.key, "level": graded.level, "runs": graded.runs, "parts": graded.parts,
                       "timing": {"wall": t.wall, "compute": t.compute, "child_peak_rss": t.child_peak_rss,
                                  "worker_startup": t.worker_startup, "worker_peak_rss": t.worker_peak_rss},
                       "span": list(span), "worker": worker}, allow_nan=False)


def _run(d: dict) -> dict:
    return {"index": int(d["index"]), "status": str(d["status"]), "error": str(d["error"]),
            "stdout": str(d["stdout"])}


def _part(d: dict) -> dict:
    return {"score": float(d["score"]), "passed": int(d["passed"]), "total": int(d["total"]),
            "report": str(d["report"]),
            "outcomes": [{"part": str(o["part"]), "nodeid": str(o["nodeid"]), "passed": bool(o["passed"]),
                          "message": str(o["message"])} for o in d["outcomes"]]}


def graded_from_plain(d: dict) -> tuple[Graded, dict]:
    """Rebuild ``Graded`` from a worker's parsed JSON, keeping only the fields and types we expect."""
    t = d["timing"]
    timing = Timing(wall=float(t["wall"]), compute=float(t["compute"]), child_peak_rss=int(t["child_peak_rss"]),
                    worker_startup=float(t["worker_startup"]), worker_peak_rss=int(t["worker_peak_rss"]))
    graded = Graded(str(d["key"]), str(d["level"]), {str(k): _run(v) for k, v in d["runs"].items()},
                    {str(k): _part(v) for k, v in d["parts"].items()}, timing)
    return graded, {"worker": str(d["worker"]), "start": float(d["span"][0]), "end": float(d["span"][1]),
                    "wall": timing.wall}


# -- the worker's side ----------------------------------------------------------------------------
class EnginePlugin(WorkerPlugin):
    """Starts one engine ``Worker`` in each Dask worker process, or refuses the worker."""

    def __init__(self, version: str, limits: dict | None):
        self.version, self.limits = version, limits
        self.config = hashlib.sha256(json.dumps([version, limits], sort_keys=True).encode()).hexdigest()
        self.engine: Worker | None = None
        self.refused: str | None = None

    def __getstate__(self):  # what travels to the workers: the expected version and the limits, no state
        return {"version": self.version, "limits": self.limits}

    def __setstate__(self, state):
        self.__init__(state["version"], state["limits"])

    async def setup(self, worker) -> None:
        where = f"Dask worker {worker.name} ({worker.address}, host {socket.gethostname()})"
        mine = code_version()
        if mine != self.version:
            self.refused = (f"{where} refused: its grader code or hidden checks differ from the main process's "
                            f"(hash {mine[:12]} there, {self.version[:12]} here); install the same grader/ on "
                            "that node and restart its workers")
            log.error(self.refused)
            return
        try:
            # the engine runs in a thread: the worker's event loop keeps answering the scheduler meanwhile
            await asyncio.get_running_loop().run_in_executor(None, self._start, worker)
        except Exception as exc:
            self.refused = f"{where} refused: its grading engine did not start ({type(exc).__name__}: {exc})"
            log.exception(self.refused)
            return
        await worker.set_resources(**{RESOURCE: 1})

    def _start(self, worker) -> None:
        # A nanny starts its worker as a daemonic process, and multiprocessing lets no daemonic process
        # have children; the engine's zygote and sandboxes are its children (they die with it: the
        # zygote when its parent's pipe closes, each sandbox's keeper by PR_SET_PDEATHSIG).
        multiprocessing.current_process().daemon = False
        # node-local: the course never needs to be shared with the workers, only the job data travels
        workdir = Path(worker.local_directory) / "numstab-grader"
        engine = Worker(str(workdir), self.limits)
        engine.start()
        self.engine = engine

    async def teardown(self, worker) -> None:
        if self.engine is not None:
            engine, self.engine = self.engine, None
            await asyncio.get_running_loop().run_in_executor(None, engine.close)


def grade_on_worker(job_text: str) -> str:
    """The Dask task: one job in, one answer out, both JSON text."""
    from distributed import get_worker

    started = time.time()
    dask_worker = get_worker()
    plugin = dask_worker.plugins.get(PLUGIN)
    try:
        if plugin is None or plugin.engine is None:
            raise RuntimeError(f"no grading engine on {dask_worker.address}")
        graded = plugin.engine.grade(job_from_text(job_text))
        return graded_to_text(graded, (started, time.time()), str(dask_worker.address))
    except Exception as exc:  # the engine's failure goes back as text, like every answer
        return json.dumps({"error": f"{type(exc).__name__}: {exc}"[:4000], "worker": str(dask_worker.address)})


def engine_state(dask_worker) -> dict:
    """What ``client.run`` reports from each worker."""
    plugin = dask_worker.plugins.get(PLUGIN)
    return {"name": str(dask_worker.name), "config": getattr(plugin, "config", None),
            "ready": getattr(plugin, "engine", None) is not None, "refused": getattr(plugin, "refused", None)}


# -- the main process's side -----------------------------------------------------------------------
class ClusterError(RuntimeError):
    """Nothing can be graded on this cluster (no scheduler, no worker, every worker refused)."""


class EngineFailure(RuntimeError):
    """A worker's engine could not grade a job (its message is the worker's, as text)."""


class DaskRunner:
    """Runs jobs on the workers of an existing Dask cluster (see the module's docstring)."""

    def __init__(self, address: str, limits: dict | None = None, connect_timeout: float = 30):
        self.address, self.limits, self.connect_timeout = address, limits, connect_timeout
        self.where = f"Dask cluster {address}"
        self.refused: list[str] = []
        self.spans: list[dict] = []  # per job: worker, task start/end (worker clock), engine wall

    def prepare(self, client) -> list[str]:
        """Make sure every worker runs a warm engine of this version; returns the addresses that can grade."""
        wanted = EnginePlugin(code_version(), self.limits)
        states = client.run(engine_state, on_error="return")
        if not states:
            raise ClusterError(f"no Dask workers are connected to {self.address}")
        if any(isinstance(s, BaseException) or s["config"] != wanted.config for s in states.values()):
            try:  # blocks until every current worker has set up (engines warm) or refused
                client.register_plugin(wanted, name=PLUGIN)
            except Exception as exc:  # a worker that cannot even load the plugin: named below
                log.warning("registering the grading plugin: %s", exc)
            states = client.run(engine_state, on_error="return")
        self.refused = [f"Dask worker {addr} refused: it cannot run the grader ({type(s).__name__}: {s})"
                        if isinstance(s, BaseException) else s["refused"]
                        for addr, s in sorted(states.items())
                        if isinstance(s, BaseException) or s["refused"]]
        ready = sorted(a for a, s in states.items() if not isinstance(s, BaseException) and s["ready"])
        if not ready:
            raise ClusterError(f"no worker of {self.address} can grade:\n  " + "\n  ".join(self.refused or ["none is ready"]))
        self.where = f"Dask cluster {self.address} ({len(ready)} workers)"
        return ready

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Graded | Exception]]:
        from distributed import Client

        try:
            client = Client(self.address, timeout=self.connect_timeout, set_as_default=False)
        except OSError as exc:
            raise ClusterError(f"cannot reach the Dask scheduler {self.address}: {exc}") from None
        with client:
            self.prepare(client)
            done: queue.Queue = queue.Queue()
            futures, yielded = {}, set()
            run_id = uuid.uuid4().hex[:8]  # keys of this run only: a re-run never picks up old results

            def outcomes(block: bool):
                while True:
                    try:
                        fut = done.get(timeout=1.0) if block else done.get_nowait()
                    except queue.Empty:
                        return
                    job = futures.pop(fut.key, None)
                    if job is None or job.key in yielded:  # a late duplicate completion: already yielded
                        continue
                    yielded.add(job.key)
                    yield job, self._outcome(fut)
                    block = False

            for job in jobs:  # sanitized as they are pulled; finished ones are recorded in between
                fut = client.submit(grade_on_worker, job_to_text(job), key=f"numstab-{run_id}-{job.key}",
                                    resources={RESOURCE: 1}, pure=False)
                futures[fut.key] = job
                fut.add_done_callback(done.put)
                yield from outcomes(block=False)
            idle_since = None
            while futures:
                before = len(futures)
                yield from outcomes(block=True)
                if len(futures) < before:
                    idle_since = None
                    continue
                # nothing finished for a second: is anyone left to grade?
                if self._graders(client):
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > NO_WORKER_GRACE:
                    for key, job in list(futures.items()):
                        futures.pop(key)
                        yield job, EngineFailure(f"no worker of {self.address} could grade it for "
                                                 f"{NO_WORKER_GRACE:.0f} s (all left or were refused)")

    @staticmethod
    def _graders(client) -> int:
        workers = client.scheduler_info(n_workers=-1).get("workers", {})
        return sum(1 for w in workers.values() if w.get("resources", {}).get(RESOURCE))

    def _outcome(self, fut) -> Graded | Exception:
        try:
            text = fut.result()
        except Exception as exc:  # Dask's own failure (e.g. the job's workers were killed too often)
            return EngineFailure(f"Dask: {type(exc).__name__}: {exc}")
        try:
            if not isinstance(text, str):
                raise TypeError(f"a {type(text).__name__} instead of JSON text")
            d = json.loads(text)
            if "error" in d:
                return EngineFailure(f"{d.get('worker', '?')}: {d['error']}")
            graded, span = graded_from_plain(d)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            return EngineFailure(f"malformed answer from a worker: {type(exc).__name__}: {exc}")
        self.spans.append(span)
        return graded
