"""`make bench`: our engine against plain ``nbgrader autograde`` on the same generated batch, same run.

Prints throughput of each, their ratio, the engine's overhead per notebook beyond the notebooks'
own compute (cells and check bodies, timed around the sandbox), and peak memory per worker.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from grader.layout import ASSIGNMENTS, EXERCISES, release_notebook, source_notebook
from grader.engine.notebook import load_notebook
from grader.course.demo import _answers, copy_public_files, solved
from grader.engine.pipeline import grade_course
from grader.engine.gradebook import Gradebook, db_url_for, ensure_gradebook, nbgrader_api


def build_batch(course: Path, students: int) -> list[tuple[str, str]]:
    """Students cycle through correct, one answer wrong, and blank."""
    subs = []
    for a in ASSIGNMENTS:
        release_nb = load_notebook(release_notebook(a))
        answers = _answers(load_notebook(source_notebook(a)))
        kinds = [solved(release_nb, answers), solved(release_nb, answers, leave_blank=1), release_nb]
        for i in range(students):
            folder = course / "submitted" / f"s{i:02d}" / a
            folder.mkdir(parents=True)
            nbformat.write(kinds[i % 3], folder / f"{a}.ipynb")
            copy_public_files(EXERCISES / a, folder)
            subs.append((f"s{i:02d}", a))
    return subs


def code_scores(course: Path) -> dict:
    with Gradebook(db_url_for(course)) as gb:
        return {(s.student.id, a.name): round(s.code_score, 3) for a in gb.assignments for s in a.submissions}


def sandbox_cost(samples: int = 15) -> tuple[float, float, str]:
    """Median seconds from fork to a child ready for its cells: bare (no layer) and fully isolated.

    Both kinds are forked from the same warm zygote in the same run and interleaved, so the difference
    is what the layers cost per child: namespaces, mounts, Landlock, seccomp, the keeper's extra fork.
    """
    import dataclasses

    from grader.engine import isolation
    from grader.engine.execute import Sandbox, warm_zygote, zygote_context
    from grader.layout import REPO

    layers = isolation.detect()
    bare = dataclasses.replace(layers, namespaces=False, landlock_abi=0, seccomp=False)
    work = tempfile.mkdtemp(prefix="numstab-bench-sandbox-")
    os.chmod(work, 0o777)
    uid, lock = isolation.claim_uid() if layers.root and layers.namespaces else (None, None)
    policies = {name: isolation.Policy(layers=lay, uid=uid if lay.namespaces else None, hide=[str(REPO)],
                                       keep=isolation.interpreter_paths(), workdir=work)
                for name, lay in (("bare", bare), ("isolated", layers))}
    ctx = zygote_context()
    warm_zygote(ctx).join()
    times: dict[str, list[float]] = {"bare": [], "isolated": []}
    for _ in range(samples):
        for name, policy in policies.items():
            started = time.perf_counter()
            box = Sandbox(ctx, [(0, "pass")], policy)
            box.start()
            times[name].append(time.perf_counter() - started)
            box.close()
    if lock is not None:
        os.close(lock)
    shutil.rmtree(work, ignore_errors=True)
    return statistics.median(times["bare"]), statistics.median(times["isolated"]), layers.summary()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.course.bench")
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="numstab-bench-"))
    ours, theirs = root / "engine", root / "nbgrader"
    subs = build_batch(ours, args.students)
    shutil.copytree(ours, theirs)
    for course in (ours, theirs):
        ensure_gradebook(course)
    n = len(subs)

    t0 = time.perf_counter()
    summary = grade_course(ours, demo=True, workers=args.workers, seed=1)
    engine_s = time.perf_counter() - t0

    api = nbgrader_api(theirs)
    t0 = time.perf_counter()
    for student, a in subs:
        result = api.autograde(a, student, force=True, create=True)
        if not result["success"]:
            print(f"nbgrader autograde failed for {student}/{a}: {(result.get('error') or '')[-300:]}")
    nbgrader_s = time.perf_counter() - t0

    timings = list(summary.timings.values())
    # per notebook: the worker's time beyond cells and check bodies (fork, wire, pytest), plus what the
    # main process spends on it (sanitize, record); start-up is once per worker and shown apart
    worker_side = [t.wall - t.compute for t in timings]
    main_side = [t.main for t in timings]
    overhead = [w + m for w, m in zip(worker_side, main_side)]
    ours_scores, their_scores = code_scores(ours), code_scores(theirs)
    agree = sum(ours_scores[k] == their_scores.get(k) for k in ours_scores)
    print(f"batch: {args.students} students x {len(ASSIGNMENTS)} assignments = {n} notebooks; "
          f"{os.cpu_count()} cores; isolation {summary.level}")
    print(f"nbgrader autograde: {nbgrader_s:7.1f} s  ({nbgrader_s / n:.2f} s/notebook)")
    print(f"make grade engine : {engine_s:7.1f} s  ({engine_s / n:.2f} s/notebook; "
          f"of it, each worker's start-up: {max(t.worker_startup for t in timings):.1f} s once)")
    print(f"throughput ratio  : {nbgrader_s / engine_s:.1f}x")
    print(f"notebooks' own compute (cells + check bodies): median {statistics.median(t.compute for t in timings):.3f} s")
    print(f"engine overhead per notebook beyond its own compute: median {statistics.median(overhead):.3f} s, "
          f"max {max(overhead):.3f} s  (worker: fork, wire, pytest median {statistics.median(worker_side):.3f} s; "
          f"main process: sanitize + record median {statistics.median(main_side):.3f} s)")
    print(f"peak memory per worker: checker {max(t.worker_peak_rss for t in timings) / 2**20:.0f} MiB, "
          f"sandbox child {max(t.child_peak_rss for t in timings) / 2**20:.0f} MiB")
    print(f"scores equal to nbgrader's on {agree}/{len(ours_scores)} notebooks")
    bare, isolated, layers = sandbox_cost()
    print(f"sandbox set-up per child (fork to ready, median of 15): {1000 * bare:.1f} ms without any layer, "
          f"{1000 * isolated:.1f} ms with {layers}: +{1000 * (isolated - bare):.1f} ms")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
