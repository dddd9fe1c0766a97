"""`make grade` end to end on a real class: scores, hostile students, re-runs, kill -9, bad input.

A class is built from the release and solution notebooks (grader/demo.py) and graded into a fresh
course directory with the real pipeline: sandboxed children, a warm zygote, nbgrader's gradebook.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader.layout import ASSIGNMENTS
from grader.engine import isolation
from grader.engine import worker
from grader.engine.notebook import load_notebook
from grader.course.demo import build_demo_class, solved, _answers
from grader.layout import REPO
from grader.engine.pipeline import grade_course
from grader.engine.report import export_csv, scores, write_instructor_report
from grader.engine.gradebook import Gradebook, db_url_for

LIMITS = {"cell_seconds": 20, "submission_seconds": 120}
# One hostile cell each, appended to a correct notebook: the score must equal the honest one.
THREATS = {
    "patch_torch": "import torch\ntorch.isclose = lambda *a, **k: torch.tensor(True)\ntorch.allclose = lambda *a, **k: True",
    "patch_builtins": "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.isinstance = lambda *a: True",
    "always_equal": "class Eq:\n    def __eq__(self, o):\n        return True\nEQ = Eq()",
    "read_gradebook": "import glob\nFOUND = [p for root in ('/work', '/tmp', '/root') for p in glob.glob(root + '/**/gradebook.db', recursive=True)][:5]",
    "write_results": "import pathlib\nfor p in ['../autograded/x', '/tmp/x', 'gradebook.db']:\n    try:\n        pathlib.Path(p).write_text('1')\n    except OSError:\n        pass",
    "sys_exit": "import sys\nsys.exit(0)",
    "os_exit": "import os\nos._exit(0)",
    "keyboard_interrupt": "raise KeyboardInterrupt",
    "catch_base": "try:\n    raise SystemExit\nexcept BaseException:\n    pass",
    "infinite_loop": "while True:\n    pass",
    "memory_bomb": "x = [bytearray(2**30) for _ in range(64)]",
    "fork_bomb": "import os\ntry:\n    while True:\n        if os.fork() == 0:\n            import time; time.sleep(60); os._exit(0)\nexcept OSError:\n    pass",
    "fill_disk": "try:\n    with open('fill', 'wb') as f:\n        while True:\n            f.write(b'0' * 2**20)\nexcept OSError:\n    pass",
    "endless_output": "for i in range(300000):\n    print('x' * 50)",
    "network": "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\nexcept OSError:\n    pass",
    "daemon": "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(3600)\n    os._exit(0)",
    "pickle_bomb": "import pickle, os\nclass Boom:\n    def __reduce__(self):\n        return (os.system, ('touch /tmp/pwned',))\nPAYLOAD = pickle.dumps(Boom())",
}
HOSTILE_ASSIGNMENT = "eigen_bounds"


def auto_scores(db_url, assignment):
    with Gradebook(db_url) as gb:
        return {s.student.id: s.code_score for s in gb.find_assignment(assignment).submissions}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    course = build_demo_class(tmp_path_factory.mktemp("demo"))
    summary = grade_course(course, demo=True, workers=2, seed=11, limits=LIMITS)
    return course, summary


def test_demo_class_scores(demo):
    course, summary = demo
    assert not summary.engine_failures
    db_url = db_url_for(course)
    for a in ASSIGNMENTS:
        got = auto_scores(db_url, a)
        with Gradebook(db_url) as gb:
            full = sum(c.max_score for c in gb.find_notebook(a, a).grade_cells if c.cell_type == "code")
        assert got["alice"] == pytest.approx(full), a
        assert got["mallory"] == pytest.approx(full), f"{a}: the hostile cells changed the score"
        assert got["carol"] == 0, a
        assert 0 < got["bob"] < full, a
    assert auto_scores(db_url, ASSIGNMENTS[0])["eve"] == 0  # her notebook is not JSON


def test_outputs_nbgrader_and_the_instructor_use(demo):
    course, summary = demo
    db_url = db_url_for(course)
    csv = export_csv(course, db_url).read_text()
    assert csv.splitlines()[0].startswith("assignment,duedate,timestamp,student_id")
    assert len(csv.splitlines()) == 1 + 5 * len(ASSIGNMENTS)
    report = write_instructor_report(course, db_url, summary).read_text()
    assert "namespaces" in report or "rlimits" in report
    assert "<svg" in report and "not a valid notebook" in report and "eve" in report
    nb = load_notebook(course / "autograded" / "alice" / "divergence" / "divergence.ipynb")
    assert any(o.get("output_type") == "execute_result" for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_rerun_grades_only_what_changed_and_force_regrades(demo):
    course, _ = demo
    again = grade_course(course, demo=True, workers=1, seed=11, limits=LIMITS)
    assert again.graded == [] and len(again.unchanged) == 5 * len(ASSIGNMENTS)
    nb_path = course / "submitted" / "carol" / "symmetry" / "symmetry.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("# changed"))
    nbformat.write(nb, nb_path)
    changed = grade_course(course, demo=True, workers=1, seed=11, limits=LIMITS)
    assert changed.graded == ["carol/symmetry"]


def _hostile_class(course: Path) -> None:
    a = HOSTILE_ASSIGNMENT
    release = load_notebook(REPO / "exercises" / a / f"{a}.ipynb")
    answers = _answers(load_notebook(REPO / "solutions" / a / f"{a}.ipynb"))
    for student, cell in {"honest": None, **THREATS}.items():
        nb = solved(release, answers)
        if cell:
            # in the middle of the notebook, after the setup cell: later honest cells must still run
            nb.cells.insert(2, nbformat.v4.new_code_cell(cell))
        folder = course / "submitted" / student.replace("_", "-") / a
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{a}.ipynb")


def test_every_threat_gets_exactly_its_honest_score(tmp_path):
    _hostile_class(tmp_path)
    summary = grade_course(tmp_path, demo=True, workers=2, seed=5, limits={"cell_seconds": 8, "submission_seconds": 120})
    assert not summary.engine_failures
    got = auto_scores(db_url_for(tmp_path), HOSTILE_ASSIGNMENT)
    assert got["honest"] > 0
    wrong = {s: v for s, v in got.items() if v != pytest.approx(got["honest"])}
    assert wrong == {}
    assert not Path("/tmp/pwned").exists()
    assert not any(p.name == "fill" for p in tmp_path.rglob("fill"))
    if isolation.level() == "namespaces":  # daemons, spare children forked ahead: all gone with the workers
        first = isolation.SANDBOX_UID_BASE + worker.FIRST_SLOT
        uids = range(first, first + 2 * worker.SLOTS_PER_WORKER)
        assert [u for u in uids if isolation._live_pids(u)] == []


def test_kill_minus_9_then_rerun_loses_and_doubles_nothing(tmp_path):
    course = build_demo_class(tmp_path / "c")
    cmd = [sys.executable, "-m", "grader", "grade", str(course), "--demo", "--workers", "2", "--seed", "3",
           "--no-feedback"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(course.glob("autograded/*/*/.numstab-grade.json"))) < 4:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(course.glob("autograded/*/*/.numstab-grade.json")))
    assert 4 <= done_before < 5 * len(ASSIGNMENTS), "kill -9 should land mid-batch"
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    db_url = db_url_for(course)
    with Gradebook(db_url) as gb:
        subs = [(s.student.id, s.assignment.name) for a in gb.assignments for s in a.submissions]
    assert len(subs) == len(set(subs)) == 5 * len(ASSIGNMENTS)
    # and the result is what a clean run gives
    clean = build_demo_class(tmp_path / "clean")
    grade_course(clean, demo=True, workers=2, seed=3, limits=LIMITS)
    for a in ASSIGNMENTS:
        assert auto_scores(db_url, a) == pytest.approx(auto_scores(db_url_for(clean), a))


def test_bad_notebooks_become_problem_lines_and_grades(demo, tmp_path):
    """Deleted and duplicated test cells, and a notebook of another assignment: graded, and said so."""
    from grader.engine.collect import Submission
    from grader.engine.sanitize import sanitize
    from grader.engine.notebook import graded_parts, nbgrader_meta

    course, _ = demo
    db_url = db_url_for(course)
    with Gradebook(db_url) as gb:
        known = {c.name for c in gb.find_notebook("divergence", "divergence").grade_cells}
    release = load_notebook(REPO / "exercises" / "divergence" / "divergence.ipynb")
    tests = [i for i, c in enumerate(release.cells) if nbgrader_meta(c).get("grade") and c.cell_type == "code"]

    def sub(name, nb, assignment="divergence"):
        path = tmp_path / name / f"{assignment}.ipynb"
        path.parent.mkdir()
        nbformat.write(nb, path)
        return Submission(name, assignment, path.parent, path)

    deleted = nbformat.from_dict(release)
    del deleted.cells[tests[0]]
    clean = sanitize(sub("deleted", deleted), db_url, known)
    assert "restored from the assignment" in " ".join(clean.problems)
    assert sorted(clean.parts) == sorted(graded_parts(release))  # the deleted cell is back, at the end

    doubled = nbformat.from_dict(release)
    doubled.cells.insert(tests[0], nbformat.from_dict(release.cells[tests[0]]))
    clean = sanitize(sub("doubled", doubled), db_url, known)
    assert "duplicated cells" in " ".join(clean.problems)
    assert len(clean.parts) == len(graded_parts(release))

    other = load_notebook(REPO / "exercises" / "symmetry" / "symmetry.ipynb")
    clean = sanitize(sub("other", other), db_url, known)
    assert "another assignment" in " ".join(clean.problems)
