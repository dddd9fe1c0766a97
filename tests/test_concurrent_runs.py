"""Grading runs on one host never touch each other; two runs on one course never interleave."""
import fcntl
import shutil
import subprocess
import sys
import time

import pytest

from grader.course.demo import build_demo_class
from grader.engine.gradebook import Gradebook, db_url_for
from grader.engine.pipeline import LOCK_FILE
from grader.layout import REPO

KEEP = {"alice", "mallory"}  # a correct student and a correct-but-hostile one (kills, floods, exits)


def small_class(folder):
    course = build_demo_class(folder)
    for student in (course / "submitted").iterdir():
        if student.name not in KEEP:
            shutil.rmtree(student)
    return course


def grade_cmd(course):
    return [sys.executable, "-m", "grader", "grade", str(course), "--demo", "--workers", "2", "--seed", "7",
            "--no-feedback"]


def scores(course):
    with Gradebook(db_url_for(course)) as gb:
        return {(s.student.id, a.name): s.code_score for a in gb.assignments for s in a.submissions}


def test_two_concurrent_runs_on_two_courses_score_as_each_alone(tmp_path):
    first, second, alone = (small_class(tmp_path / name) for name in ("first", "second", "alone"))
    runs = [subprocess.Popen(grade_cmd(c), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for c in (first, second)]
    outputs = [r.communicate(timeout=900)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    single = subprocess.run(grade_cmd(alone), cwd=REPO, capture_output=True, text=True, timeout=900)
    assert single.returncode == 0, single.stdout[-2000:]
    reference = scores(alone)
    assert len(reference) == 2 * 4 and all(v > 0 for v in reference.values())
    assert scores(first) == pytest.approx(reference)
    assert scores(second) == pytest.approx(reference)


def test_a_second_run_on_the_same_course_is_refused_at_once(tmp_path):
    course = small_class(tmp_path / "course")
    first = subprocess.Popen(grade_cmd(course), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # wait until the first run holds the course's lock
            if (course / LOCK_FILE).exists():
                with open(course / LOCK_FILE) as f:
                    try:
                        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        fcntl.flock(f, fcntl.LOCK_UN)
                    except BlockingIOError:
                        break
            time.sleep(0.05)
        else:
            pytest.fail("the first run never took the course's lock")
        started = time.time()
        second = subprocess.run(grade_cmd(course), cwd=REPO, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert "正在被另一次运行评分" in second.stdout.splitlines()[0]
        assert time.time() - started < 60  # refused at once, not after waiting for the first
        assert first.poll() is None, "the refused run must not disturb the first"
    finally:
        out = first.communicate(timeout=900)[0]
    assert first.returncode == 0, out[-2000:]
    assert len(scores(course)) == 2 * 4
