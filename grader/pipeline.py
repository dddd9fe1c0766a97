"""`make grade`: collect -> sanitize -> execute + check (workers) -> record -> report.

Reading ``grade_course`` tells what grading does, in order.  A student's crash is a grade; only the
engine's own failures make the exit status non-zero.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import secrets
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from grader.setup_course import Gradebook

from grader import ASSIGNMENTS, isolation, worker
from grader.collect import collect
from grader.execute import bare_main
from grader.record import course_config, read_marker, record
from grader.sanitize import sanitize
from grader.setup_course import ensure_gradebook

CHECKS = Path(__file__).resolve().parent


class EngineError(RuntimeError):
    """The engine itself cannot go on (not a student's fault)."""


@dataclass
class Summary:
    course: Path
    level: str
    graded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    engine_failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seed: int = 0
    timings: dict[str, dict] = field(default_factory=dict)


def checks_version(assignment: str) -> str:
    h = hashlib.sha256()
    for path in sorted((CHECKS / assignment).glob("*.py")):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def default_workers() -> int:
    import torch  # only to count GPUs; never initialises CUDA in this process beyond the query
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return gpus if gpus else max(1, os.cpu_count() or 1)


def grade_course(course: Path, *, force: bool = False, workers: int | None = None, allow_weak: bool = False,
                 demo: bool = False, seed: int | None = None, progress=None, limits: dict | None = None) -> Summary:
    course = Path(course).resolve()
    level = isolation.level()
    if level != "namespaces" and not (allow_weak or demo):
        raise EngineError(f"isolation here is only '{level}' (not root: no namespaces); grading a real class needs "
                          "--allow-weak-isolation, or run as root")
    db_url = ensure_gradebook(course)
    config = course_config(course)
    summary = Summary(course, level, seed=seed if seed is not None else int(os.environ.get("GRADER_SEED") or secrets.randbits(31)))

    found = collect(course)
    summary.skipped = found.skipped
    with Gradebook(db_url) as gb:
        known = {a: {c.name for c in gb.find_notebook(a, a).grade_cells + gb.find_notebook(a, a).task_cells}
                 for a in ASSIGNMENTS}
    versions = {a: checks_version(a) for a in ASSIGNMENTS}
    due = []
    for sub in found.submissions:
        fp = sub.fingerprint(versions[sub.assignment])
        marker = read_marker(course, sub)
        if not force and marker and marker.get("fingerprint") == fp:
            summary.unchanged.append(sub.key)
        else:
            due.append((sub, fp))
    if progress:
        progress.start(len(due))
    if not due:
        return summary

    def done(sub, fp, clean, graded, prepared: float = 0.0) -> None:
        started = time.thread_time()  # CPU time: the workers share the cores with this thread
        record(course, db_url, sub, clean, graded, fp, config)
        summary.graded.append(sub.key)
        if graded is not None:  # this process's share of the notebook: sanitize before, record after
            summary.timings[sub.key] = dict(graded["timing"], main=prepared + time.thread_time() - started)
        progress and progress.advance(sub.key)

    ctx = multiprocessing.get_context("spawn")
    slots = ctx.Value("i", 0)
    n = min(workers or default_workers(), len(due))
    with ProcessPoolExecutor(n, mp_context=ctx, initializer=worker.init,
                             initargs=(slots, str(course), limits)) as pool:
        # Each submit may start a worker: they warm up (torch, checks, zygote) while the rest is sanitized.
        futures = {}
        for sub, fp in due:
            started = time.thread_time()
            clean = sanitize(sub, db_url, known[sub.assignment])
            if clean.nb is None:  # nothing to run: recorded at once
                done(sub, fp, clean, None)
                continue
            job = {"key": sub.key, "assignment": sub.assignment, "cells": clean.cells, "parts": clean.parts,
                   "seed": summary.seed}
            with bare_main():  # a submit may spawn a worker, which would re-import our caller's __main__
                futures[pool.submit(worker.grade_one, job)] = (sub, fp, clean, time.thread_time() - started)
        for fut in as_completed(futures):
            sub, fp, clean, prepared = futures[fut]
            try:
                graded = fut.result()
            except Exception as exc:  # the engine failed on this one: say so, record nothing
                summary.engine_failures.append(f"{sub.key}: {type(exc).__name__}: {exc}")
                progress and progress.advance(sub.key)
            else:
                done(sub, fp, clean, graded, prepared)
    return summary
