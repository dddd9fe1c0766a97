"""Students self-check from a shell: `python selfcheck.py NB` in the unpacked archive, or `python -m grader check NB`."""
import subprocess
import sys
import zipfile

import nbformat

from grader.engine.notebook import load_notebook
from grader.course.demo import _answers, solved
from grader.layout import REPO, checks_of
from grader.course.release import archive_assignment

A = "eigen_bounds"


def _unpacked(tmp_path, notebook=None):
    archive = archive_assignment(A, tmp_path / f"{A}.zip")
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path)
    if notebook is not None:
        nbformat.write(notebook, tmp_path / A / f"{A}.ipynb")
    return tmp_path / A / f"{A}.ipynb"


def test_the_untouched_release_reports_every_part_as_missing_work(tmp_path):
    nb = _unpacked(tmp_path)
    run = subprocess.run([sys.executable, "selfcheck.py", nb.name], cwd=nb.parent, capture_output=True, text=True,
                         timeout=300)
    assert "== 自检 [lyapunov] ==" in run.stdout and "还没有实现" in run.stdout
    assert "评分时还会运行更多隐藏检查" in run.stdout and "Traceback" not in run.stdout + run.stderr


def test_a_solved_notebook_passes_and_no_hidden_material_is_printed(tmp_path):
    release = load_notebook(REPO / "exercises" / A / f"{A}.ipynb")
    nb = _unpacked(tmp_path, solved(release, _answers(load_notebook(REPO / "solutions" / A / f"{A}.ipynb"))))
    run = subprocess.run([sys.executable, "-m", "grader", "check", str(nb)], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "✗" not in run.stdout and run.stdout.count("公开检查通过") == 4
    hidden = {p.stem for p in checks_of(A).glob("test_*.py")}
    assert not any(name in run.stdout for name in hidden)
