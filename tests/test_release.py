"""exercises/ is exactly what nbgrader generates from solutions/, and nothing hidden reaches it."""
import filecmp
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.layout import ASSIGNMENTS, EXERCISES, REPO, SOLUTIONS, checks_of, shipped_files, source_notebook
from grader.engine.notebook import graded_parts, load_notebook, nbgrader_meta
from grader.course.leaks import hidden_lines, scan, solution_lines
from grader.course.release import build_exercises


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    return build_exercises(tmp_path_factory.mktemp("release"), tmp_path_factory.mktemp("instructor"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_do_not_drift_from_solutions(fresh_release, assignment):
    committed, fresh = EXERCISES / assignment, fresh_release / assignment
    assert sorted(p.name for p in committed.iterdir()) == sorted(p.name for p in fresh.iterdir())
    for f in fresh.iterdir():
        assert filecmp.cmp(f, committed / f.name, shallow=False), \
            f"exercises/{assignment}/{f.name} differs from what solutions/ generates: run `make exercises`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_solution_hidden_check_or_reference_leaks_into_the_release(assignment):
    assert scan(EXERCISES / assignment) == []
    # the scan is only as good as its needles: they must exist for every assignment
    assert solution_lines(assignment) and hidden_lines(assignment)


def test_the_scan_finds_a_planted_leak(tmp_path):
    shutil.copytree(EXERCISES / "divergence", tmp_path / "divergence")
    assert scan(tmp_path) == []
    (tmp_path / "divergence" / "notes.md").write_text(sorted(solution_lines("divergence"))[0])
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.writestr("x/notes.txt", "### BEGIN HIDDEN TESTS")
    (tmp_path / "test_lars_step.py").write_text("")
    found = {(Path(l.where.split("!")[0]).name, l.what.split()[0]) for l in scan(tmp_path)}
    assert found == {("notes.md", "hidden"), ("a.zip", "marker"), ("test_lars_step.py", "instructor-only")}


def test_the_scan_reads_a_printed_book(tmp_path):
    """`make release` hands the scan each edition's PDF: its text is read page by page, so a solution line
    or a marker printed into it is found like one in the HTML."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    line = next(l for l in sorted(solution_lines("divergence")) if "\\" not in l and "$" not in l)
    for name, texts, expected in (("clean.pdf", ["Vanishing and exploding gradients"], set()),
                                  ("leaky.pdf", ["### BEGIN SOLUTION", line], {"marker", "hidden"})):
        fig = plt.figure()
        for y, text in zip((0.6, 0.4), texts):
            fig.text(0.02, y, text, fontsize=6)
        fig.savefig(tmp_path / name)
        plt.close(fig)
        assert {l.what.split()[0] for l in scan(tmp_path / name)} == expected, name


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_grades_its_own_part_for_its_points(assignment):
    nb = load_notebook(source_notebook(assignment))
    parts = graded_parts(nb)
    assert parts, "no autograded parts"
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            part, points = meta["grade_id"], meta["points"]
            assert f'check("{part}")' in cell.source
            assert f'grade("{assignment}", "{part}", points={points})' in cell.source
            assert (checks_of(assignment) / f"test_{part}.py").is_file()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_public_files_ship_beside_each_release(assignment):
    for name, src in shipped_files(assignment).items():
        assert (SOLUTIONS / assignment / name).read_bytes() == src.read_bytes(), \
            f"solutions/{assignment}/{name} drifted from {src}: run `make exercises`"
        assert (EXERCISES / assignment / name).read_bytes() == src.read_bytes()
    public = (EXERCISES / assignment / "public_checks.py").read_text()
    assert re.findall(r"^import (\w+)|^from (\w+)", public, re.M)
    for mod in re.findall(r"^(?:import|from) (\w+)", public, re.M):
        # selfcheck: the file shipped beside them (its `_` gives a message in the exercise's language)
        assert mod in {"torch", "math", "random", "itertools", "collections", "__future__", "functools", "selfcheck"}, \
            f"public checks of {assignment} import {mod}: students only have torch"
    selfcheck = (EXERCISES / assignment / "selfcheck.py").read_text()
    for mod in re.findall(r"^(?:import|from) (\w+)", selfcheck, re.M):  # the standard library and torch only
        assert mod in sys.stdlib_module_names | {"torch", "__future__"}, f"selfcheck.py imports {mod}"


def test_plain_nbgrader_generate_assignment_gives_a_release_whose_first_cell_runs(tmp_path):
    """An instructor with the venv active types nbgrader's own command, not `make exercises`."""
    venv_bin = Path(sys.executable).parent
    (tmp_path / "course").mkdir()
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
               NUMSTAB_COURSE_ROOT=str(tmp_path / "course"))
    release = tmp_path / "release"
    run = subprocess.run(["nbgrader", "generate_assignment", "divergence", "--force",
                          f"--CourseDirectory.release_directory={release}"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    folder = release / "divergence"
    assert {"divergence.ipynb", "selfcheck.py", "public_checks.py"} <= {p.name for p in folder.iterdir()}
    first = next(c for c in load_notebook(folder / "divergence.ipynb").cells if c.cell_type == "code")
    # the student's kernel starts in the notebook's folder, with nothing of this repository importable
    ran = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, '.'); exec({first.source!r})"],
                         cwd=folder, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
