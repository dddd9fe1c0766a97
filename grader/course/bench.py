"""`make bench`: our engine against plain ``nbgrader autograde`` on the same generated batch, same run.

Prints throughput of each, their ratio, the engine's overhead per notebook beyond the notebooks'
own compute (cells and check bodies, timed around the sandbox), and peak memory per worker.

`make bench SCALE=1` (``--scale``): a 1,000-notebook batch graded by the local pool and by a local
Dask cluster (real `dask scheduler` and `dask worker` processes), then a 100-notebook part of it by a
1-worker cluster; prints notebooks per second, Dask's own overhead per notebook, and plain
nbgrader's time projected from a sample graded in the same run.
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
from grader.engine.report import load_markers
from grader.engine.gradebook import Gradebook, db_url_for, ensure_gradebook


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


def nbgrader_seconds(course: Path, subs: list[tuple[str, str]]) -> float:
    """Plain nbgrader's autograde (stock steps, in the student's kernel): the baseline measured."""
    from grader.engine.inkernel import trusting_the_kernel
    from grader.engine.nbgrader_autograde import plain_nbgrader_api

    api = plain_nbgrader_api(course)
    t0 = time.perf_counter()
    with trusting_the_kernel():
        for student, a in subs:
            result = api.autograde(a, student, force=True, create=True)
            if not result["success"]:
                print(f"nbgrader autograde failed for {student}/{a}: {(result.get('error') or '')[-300:]}")
    return time.perf_counter() - t0


def dask_overhead(spans: list[dict]) -> tuple[float, float]:
    """Dask's own seconds per notebook, from each worker's clock: the gaps between one task's end and
    the next one's start on the same worker (scheduling, transfer, (de)serialization; the queue never
    runs dry in this bench), plus each task's time outside the engine's own ``grade`` (JSON both ways);
    and the largest gap."""
    by_worker: dict[str, list[dict]] = {}
    for span in spans:
        by_worker.setdefault(span["worker"], []).append(span)
    gaps, wrapper = [], []
    for tasks in by_worker.values():
        tasks.sort(key=lambda t: t["start"])
        gaps += [b["start"] - a["end"] for a, b in zip(tasks, tasks[1:])]
        wrapper += [t["end"] - t["start"] - t["wall"] for t in tasks]
    return (sum(gaps) + sum(wrapper)) / len(spans), max(gaps, default=0.0)


def throughput(n: int, seconds: float, spans: list[dict] | None = None) -> str:
    line = f"{n / seconds:5.2f} notebooks/s ({seconds:6.1f} s for {n}, start-up included)"
    if spans:  # steady state: first job's start to last job's end, on the workers' clocks
        busy = max(s["end"] for s in spans) - min(s["start"] for s in spans)
        line += f"; {len(spans) / busy:5.2f} notebooks/s once warm"
    return line


def scale(args) -> int:
    """1,000 notebooks: local pool vs a local Dask cluster of ``--dask-workers``, and a 1-worker one."""
    from grader.course.dask_local import local_cluster
    from grader.engine.cluster import DaskRunner

    root = Path(tempfile.mkdtemp(prefix="numstab-bench-scale-"))
    students = args.notebooks // len(ASSIGNMENTS)
    local, dask, small, theirs = root / "local", root / "dask", root / "dask-1", root / "nbgrader"
    t0 = time.perf_counter()
    subs = build_batch(local, students)
    shutil.copytree(local, dask)
    sample_students = max(1, args.sample_dask_1 // len(ASSIGNMENTS))
    build_batch(small, sample_students)
    # nbgrader's sample: the same mix of correct, one-wrong and blank notebooks, every assignment
    sample = subs[:: max(1, len(subs) // args.nbgrader_sample)][: args.nbgrader_sample]
    for student, a in sample:
        shutil.copytree(local / "submitted" / student / a, theirs / "submitted" / student / a)
    for course in (local, dask, small, theirs):
        ensure_gradebook(course)
    n = len(subs)
    print(f"batch: {students} students x {len(ASSIGNMENTS)} assignments = {n} notebooks, built in "
          f"{time.perf_counter() - t0:.0f} s; {os.cpu_count()} cores", flush=True)

    t0 = time.perf_counter()
    pool = grade_course(local, demo=True, workers=args.dask_workers, seed=1)
    local_s = time.perf_counter() - t0
    print(f"local pool ({args.dask_workers} workers)  : {throughput(n, local_s)}", flush=True)

    with local_cluster(args.dask_workers, root / "logs-dask") as cluster:
        runner = DaskRunner(cluster.address)
        t0 = time.perf_counter()
        on_dask = grade_course(dask, demo=True, seed=1, runner=runner)
        dask_s = time.perf_counter() - t0
    print(f"Dask cluster ({args.dask_workers} workers): {throughput(n, dask_s, runner.spans)}", flush=True)
    per_nb, worst_gap = dask_overhead(runner.spans)

    with local_cluster(1, root / "logs-dask-1") as cluster:
        runner1 = DaskRunner(cluster.address)
        t0 = time.perf_counter()
        grade_course(small, demo=True, seed=1, runner=runner1)
        small_s = time.perf_counter() - t0
    m = sample_students * len(ASSIGNMENTS)
    print(f"Dask cluster (1 worker) : {throughput(m, small_s, runner1.spans)}", flush=True)

    nbgrader_s = nbgrader_seconds(theirs, sample)
    projected = nbgrader_s / len(sample) * n
    failures = pool.engine_failures + on_dask.engine_failures
    ours, cluster_scores = code_scores(local), code_scores(dask)
    differ = sorted(k for k in ours if ours[k] != cluster_scores.get(k))
    same = not differ
    for student, a in differ[:5]:  # say why: the failed checks' lines on each side
        key = f"{student}/{a}"
        why = {side: [line for part in load_markers(course).get(key, {}).get("parts", {}).values()
                      for line in part["report"].splitlines() if "FAILED" in line][:2]
               for side, course in (("pool", local), ("dask", dask))}
        print(f"differs: {key}: pool {ours[(student, a)]} {why['pool']}, dask {cluster_scores.get((student, a))} "
              f"{why['dask']}")
    startup = [t.worker_startup for t in on_dask.timings.values()]
    print(f"nbgrader autograde      : {nbgrader_s / len(sample):.2f} s/notebook on a sample of {len(sample)}; "
          f"projected for {n}: {projected:.0f} s ({projected / 60:.1f} min)")
    print(f"Dask's own overhead per notebook: {1000 * per_nb:.1f} ms (largest gap between two jobs on a "
          f"worker: {1000 * worst_gap:.0f} ms)")
    print(f"engine start-up per Dask worker: {max(startup):.1f} s; engine failures: {len(failures)}; "
          f"local pool and Dask scores equal on {n - len(differ)}/{n} notebooks")
    print(f"speed-up over nbgrader: local pool {projected / local_s:.1f}x, Dask {projected / dask_s:.1f}x")
    shutil.rmtree(root, ignore_errors=True)
    return 0 if same and not failures else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.course.bench")
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--scale", action="store_true", help="1,000 notebooks: local pool vs a local Dask cluster")
    parser.add_argument("--notebooks", type=int, default=1000, help="--scale: size of the batch")
    parser.add_argument("--dask-workers", type=int, default=2, help="--scale: workers of the pool and the cluster")
    parser.add_argument("--sample-dask-1", type=int, default=100, help="--scale: notebooks for the 1-worker cluster")
    parser.add_argument("--nbgrader-sample", type=int, default=10, help="--scale: notebooks nbgrader grades")
    args = parser.parse_args(argv)
    if args.scale:
        return scale(args)
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

    nbgrader_s = nbgrader_seconds(theirs, subs)

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
