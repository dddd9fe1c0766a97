"""`nbgrader validate` passes on every solution notebook, next to the files its release ships with."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.layout import ASSIGNMENTS, REPO, SOLUTIONS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_nbgrader_validate_passes(assignment, tmp_path):
    # the source folder holds what the notebook imports (selfcheck.py, public_checks.py)
    shutil.copytree(SOLUTIONS / assignment, tmp_path, dirs_exist_ok=True)
    # PYTHONPATH: the kernel imports this checkout's grader (inkernel), also from a worktree
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=str(REPO))
    run = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "validate", f"{assignment}.ipynb"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert "Success! Your notebook passes all the tests." in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
