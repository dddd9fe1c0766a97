"""Grading on a Dask cluster: real `dask scheduler` and `dask worker` processes over TCP on 127.0.0.1.

The same grades as the local pool for a fixed seed; a worker killed mid-batch changes no grade and
counts nothing twice; a worker whose grader code or hidden checks differ is refused and gets no job.
"""
import os
import shutil
import signal
import subprocess
import sys

import pytest
from distributed import Client

from grader.course.dask_local import LocalCluster, wait_until
from grader.course.demo import build_demo_class
from grader.engine.cluster import RESOURCE, DaskRunner, code_version
from grader.engine.gradebook import Gradebook, db_url_for
from grader.engine.pipeline import grade_course
from grader.engine.report import load_markers
from grader.layout import ASSIGNMENTS, REPO

LIMITS = None  # the engine's defaults, as `make grade` uses them: wide enough for a loaded machine
SEED = 11


def differences(got, want):
    """The submissions whose score or check outcomes differ, with both versions."""
    return {k: (got[i].get(k), want[i].get(k)) for i in (0, 1) for k in set(got[i]) | set(want[i])
            if got[i].get(k) != want[i].get(k)}


def grades(course):
    """Every submission's code score and every check's outcome: what must not depend on where it ran."""
    with Gradebook(db_url_for(course)) as gb:
        scores = {(s.student.id, a.name): round(s.code_score, 6) for a in gb.assignments for s in a.submissions}
    checks = {key: {p: [(o["nodeid"], o["passed"]) for o in part["outcomes"]] for p, part in m["parts"].items()}
              for key, m in load_markers(course).items()}
    return scores, checks


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cl = LocalCluster(tmp_path_factory.mktemp("dask"))
    try:
        cl.start_scheduler()
        cl.start_worker("w0")
        cl.start_worker("w1")
        cl.wait_for_workers(2, timeout=120)
        yield cl
    finally:
        cl.stop()


@pytest.fixture(scope="module")
def local_grades(tmp_path_factory):
    course = build_demo_class(tmp_path_factory.mktemp("local"))
    summary = grade_course(course, demo=True, workers=2, seed=SEED, limits=LIMITS)
    assert not summary.engine_failures
    return grades(course)


def test_cluster_grades_equal_the_local_pools(cluster, local_grades, tmp_path):
    course = build_demo_class(tmp_path / "c")
    runner = DaskRunner(cluster.address, LIMITS)
    summary = grade_course(course, demo=True, seed=SEED, runner=runner)
    assert not summary.engine_failures and not summary.refused
    assert summary.where == f"Dask cluster {cluster.address} (2 workers)"
    assert differences(grades(course), local_grades) == {}
    # both workers graded, and each notebook exactly once (eve's broken one needs no job)
    assert len({s["worker"] for s in runner.spans}) == 2
    total = len(list((course / "submitted").glob("*/*")))
    assert len(runner.spans) == len(summary.timings) == total - 1
    assert len(summary.graded) == len(set(summary.graded)) == total


def _bad_grader_copy(root):
    """This repository's grader with one hidden check changed, as on a node nobody updated."""
    shutil.copytree(REPO / "grader", root / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "solutions").symlink_to(REPO / "solutions")
    check = sorted((root / "grader" / "checks" / ASSIGNMENTS[0]).glob("test_*.py"))[0]
    check.write_text(check.read_text() + "\n# edited on this node only\n")
    return root


def test_a_mismatched_worker_is_refused_and_gets_no_job(cluster, tmp_path):
    copy = _bad_grader_copy(tmp_path / "old")
    env = {**os.environ, "PYTHONPATH": str(copy)}
    cluster.start_worker("stale", env=env, cwd=copy)
    try:
        cluster.wait_for_workers(3, timeout=120)
        runner = DaskRunner(cluster.address, LIMITS)
        with Client(cluster.address, set_as_default=False) as client:
            ready = runner.prepare(client)
            info = client.scheduler_info(n_workers=-1)["workers"]
        stale = [addr for addr, w in info.items() if w["name"] == "stale"]
        assert len(stale) == 1 and stale[0] not in ready and len(ready) == 2
        assert not info[stale[0]].get("resources", {}).get(RESOURCE)  # so the scheduler never sends it a job
        [message] = runner.refused
        assert "Dask worker stale" in message and "hidden checks differ" in message
        assert code_version()[:12] in message
        assert "refused" in cluster.log("stale")  # said on the node too
        # a course graded now runs on the two good workers only
        course = build_demo_class(tmp_path / "c")
        summary = grade_course(course, demo=True, seed=SEED, runner=runner)
        assert not summary.engine_failures and summary.refused == [message]
        assert stale[0] not in {s["worker"] for s in runner.spans}
    finally:
        cluster.stop("stale")


def test_a_worker_killed_mid_batch_changes_no_grade(cluster, local_grades, tmp_path):
    course = build_demo_class(tmp_path / "c")
    # through the command line, as `make grade SCHEDULER=...` runs it
    cmd = [sys.executable, "-m", "grader", "grade", str(course), "--demo", "--seed", str(SEED), "--no-feedback",
           "--scheduler", cluster.address]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        markers = lambda: len(list(course.glob("autograded/*/*/.numstab-grade.json")))
        assert wait_until(lambda: markers() >= 3, timeout=300), "grading on the cluster never started"
        with Client(cluster.address, set_as_default=False) as client:
            busy = []  # a worker with a job in hand right now
            assert wait_until(lambda: busy.extend(a for a, keys in client.processing().items() if keys) or busy,
                              timeout=30)
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
        done_before = markers()
        os.kill(pid, signal.SIGKILL)  # the worker process itself; its nanny starts a fresh one
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    total = len(list((course / "submitted").glob("*/*")))
    assert done_before < total, "the kill should land mid-batch"
    assert proc.returncode == 0, out[-3000:]
    assert "引擎故障 0 次" in out  # the course's language: zh_CN
    assert differences(grades(course), local_grades) == {}
    with Gradebook(db_url_for(course)) as gb:
        subs = [(s.student.id, s.assignment.name) for a in gb.assignments for s in a.submissions]
    assert len(subs) == len(set(subs)) == total
    report = (course / "report.html").read_text()
    assert f"Dask cluster {cluster.address}" in report
    assert wait_until(lambda: _graders(cluster) == 2, timeout=120), "the restarted worker should grade again"


def _graders(cluster):
    with Client(cluster.address, set_as_default=False) as client:
        return DaskRunner._graders(client)


def test_a_job_crosses_the_wire_whole():
    """Every field of a job survives the JSON a Dask task carries (the locked cells included: without
    them a worker would skip an instructor's cell that died instead of retrying it)."""
    import dataclasses

    from grader.engine.cluster import job_from_text, job_to_text
    from grader.engine.worker import Job

    job = Job("alice/divergence", "divergence", [(0, "import torch"), (3, "x = 1")], [("lars_step", 4.0)], 7,
              locked=(0,), language="en")  # not the default: the language must travel too
    assert dataclasses.asdict(job_from_text(job_to_text(job))) == dataclasses.asdict(job)
