"""The threat model again, as an ordinary user: what most instructors are.

CI runs the suite as root; this test then runs every threat-model module once more as an unprivileged
account (see tests/unprivileged.py), with world-readable copies of a solution planted in root-only
places first.  Run as an ordinary user, the whole session already is that pass: the test then checks
that this user gets the same layers, namespaces and Landlock, that root gets.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.engine import isolation
from grader.layout import REPO

THREAT_MODULES = ["tests/test_sandbox.py", "tests/test_grade_engine.py::test_every_threat_gets_exactly_its_honest_score",
                  "tests/test_concurrent_runs.py", "tests/test_markup.py", "tests/test_hostile_submissions.py",
                  "tests/test_lms.py", "tests/test_bytecode_cache.py",
                  "tests/test_nbgrader_commands.py::test_the_threat_model_class_scores_through_nbgrader_autograde_as_through_the_engine"]


def collected(modules) -> int:
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *modules],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    return sum("::" in line for line in run.stdout.splitlines())


@pytest.fixture
def planted_by_root():
    """Root-only places an ordinary user cannot write to; the nested pass checks they stay unreadable."""
    tag = f"numstab-planted-{os.getpid()}"
    paths = [Path("/srv") / tag / "solutions.ipynb", Path("/opt") / tag / "test_lars_step.py",
             Path("/home") / tag / "divergence.ipynb"]
    for path in paths:
        path.parent.mkdir(parents=True)
        path.parent.chmod(0o755)
        path.write_text("SECRET_SOLUTION = 'numstab planted copy'\n")
        path.chmod(0o644)
    yield paths
    for path in paths:
        shutil.rmtree(path.parent, ignore_errors=True)


def test_the_threat_model_holds_for_an_ordinary_user(request):
    layers = isolation.detect()
    if os.geteuid() != 0:  # this session is the unprivileged pass: it must get the strong layers too
        assert layers.namespaces and layers.landlock_abi >= 1 and layers.seccomp, layers.describe()
        return
    from unprivileged import run_as_user, stage

    planted = request.getfixturevalue("planted_by_root")
    root = stage()
    try:
        env = dict(os.environ, NUMSTAB_PLANTED=os.pathsep.join(map(str, planted)))
        run = run_as_user(root, ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *THREAT_MODULES],
                          env, timeout=1500)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    summary = re.search(r"(\d+) passed", out)
    assert summary and int(summary.group(1)) == collected(THREAT_MODULES) > 20, out[-3000:]
    assert not re.search(r"\d+ (skipped|deselected|xfailed)", out), "the unprivileged pass must never skip"
