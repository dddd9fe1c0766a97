"""nbgrader's own grading commands go through the engine: `nbgrader autograde <a>` and formgrader's
Autograde button (its HTTP API) run the student's cells in the sandbox and the checks outside it, and
write the same gradebook as `python -m grader grade`; what would grade in the student's kernel is refused.

nbgrader runs as an instructor runs it: from the repository root (its nbgrader_config.py), with
NUMSTAB_COURSE_ROOT naming the course, as `make formgrader` does.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import nbformat
import pytest

from grader.course.demo import _answers, build_demo_class
from grader.engine.gradebook import Gradebook, db_url_for, ensure_gradebook
from grader.engine.notebook import load_notebook
from grader.engine.record import MARKER
from grader.layout import ASSIGNMENTS, REPO

from test_grade_engine import HOSTILE_ASSIGNMENT, THREATS, _hostile_class

pytestmark = pytest.mark.slow
SEED = "13"
BIN = Path(sys.executable).parent


def nbgrader_env(course: Path) -> dict:
    # PYTHONPATH: this checkout's grader, also in a worktree whose editable install points elsewhere
    return dict(os.environ, NUMSTAB_COURSE_ROOT=str(course), GRADER_SEED=SEED, PYTHONPATH=str(REPO),
                PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def nbgrader(course: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    # `python -m nbgrader`: an ordinary user's venv made from the system's python has no console scripts
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=REPO, env=nbgrader_env(course),
                          capture_output=True, text=True, timeout=timeout)


def engine_grade(course: Path, *extra: str) -> None:
    run = subprocess.run([sys.executable, "-m", "grader", "grade", str(course), "--seed", SEED, "--no-feedback",
                          *extra], cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def gradebook(course: Path) -> dict:
    """Every grade of every submission (automatic, manual, waiting for a manual grade), and each
    submission's timestamp and late penalty."""
    rows = {}
    with Gradebook(db_url_for(course)) as gb:
        for a in gb.assignments:
            for sub in a.submissions:
                rows[sub.student.id, a.name] = (sub.timestamp, sub.late_submission_penalty)
                for nb in sub.notebooks:
                    for g in nb.grades:
                        rows[sub.student.id, a.name, g.name] = (g.auto_score, g.manual_score, g.needs_manual_grade)
    return rows


def code_score(course: Path, assignment: str) -> dict[str, float]:
    with Gradebook(db_url_for(course)) as gb:
        return {s.student.id: s.code_score for s in gb.find_assignment(assignment).submissions}


def markers(course: Path) -> dict[str, dict]:
    return {f"{p.parent.parent.name}/{p.parent.name}": json.loads(p.read_text())
            for p in (course / "autograded").glob(f"*/*/{MARKER}")}


@pytest.fixture(scope="module")
def demo_both(tmp_path_factory):
    """The demo class graded twice: `nbgrader autograde <a>` for each assignment, `python -m grader grade`."""
    theirs = build_demo_class(tmp_path_factory.mktemp("nbgrader-autograde"))
    ensure_gradebook(theirs)  # what `nbgrader generate_assignment` leaves: the assignments in the gradebook
    runs = {a: nbgrader(theirs, "autograde", a) for a in ASSIGNMENTS}
    ours = build_demo_class(tmp_path_factory.mktemp("grader-grade"))
    engine_grade(ours, "--demo")
    return theirs, ours, runs


def test_nbgrader_autograde_gives_the_engines_gradebook_on_the_demo_class(demo_both):
    theirs, ours, runs = demo_both
    for a, run in runs.items():
        log = run.stdout + run.stderr
        graded = set(re.findall(r"(\w+)/" + a + r" graded in the sandbox", log))
        if a == ASSIGNMENTS[0]:  # eve's notebook is not JSON: nbgrader names her, the engine recorded her 0
            assert run.returncode == 1 and "eve/divergence: recorded as 0 by the engine" in log, log[-3000:]
            assert graded == {"alice", "bob", "carol", "dave", "grace", "henry", "mallory"}
        else:
            assert run.returncode == 0, log[-3000:]
            assert graded == {"alice", "bob", "carol", "dave", "eve", "grace", "henry", "mallory"}
    got, want = gradebook(theirs), gradebook(ours)
    assert len(want) > 8 * len(ASSIGNMENTS) * 4
    assert got == want
    full = code_score(ours, "symmetry")["alice"]
    assert full > 0 and code_score(theirs, "symmetry")["mallory"] == full and code_score(theirs, "symmetry")["carol"] == 0


def test_each_submission_nbgrader_graded_ran_in_the_sandbox(demo_both):
    theirs, ours, _ = demo_both
    got, want = markers(theirs), markers(ours)
    assert set(got) == set(want) - {"eve/divergence"}  # nbgrader removes the folder of a failed notebook
    levels = {m["level"] for m in got.values()}
    assert levels == {m["level"] for m in want.values() if m["level"]} and all("ns" in lv for lv in levels), levels
    # the hostile cells' output came from the sandbox's pipe (mallory's `sys.exit` ended a sandboxed child)
    assert any(run["status"] != "ok" for run in got["mallory/symmetry"]["runs"].values())


def cheaters(course: Path, assignment: str) -> dict[str, str]:
    """Submissions with every answer wrong that try to fool the checks from the student's process: one
    patches torch's comparisons, one answers with an object equal to everything, one replaces the
    in-kernel ``grade`` the hidden cells call (that one gets full marks from plain nbgrader:
    tests/test_nbgrader_equivalence.py)."""
    names = [n for src in _answers(load_notebook(REPO / "solutions" / assignment / f"{assignment}.ipynb")).values()
             for n in re.findall(r"^def (\w+)", src, re.M)]
    cells = {
        "cheat-allclose": "import torch\ntorch.allclose = lambda *a, **k: True\n"
                          "torch.isclose = lambda *a, **k: torch.tensor(True)\n"
                          "torch.equal = lambda *a, **k: True\ntorch.testing.assert_close = lambda *a, **k: None\n"
                          f"{' = '.join(names)} = lambda *a, **k: torch.zeros(())",
        "cheat-always-equal": "class Eq:\n    def __eq__(self, other):\n        return True\n"
                              "    __le__ = __ge__ = __eq__\n    def __ne__(self, other):\n        return False\n"
                              "    __lt__ = __gt__ = __ne__\n    def __getattr__(self, name):\n        return self\n"
                              "    def __call__(self, *a, **k):\n        return self\n    __hash__ = object.__hash__\n"
                              f"{' = '.join(names)} = lambda *a, **k: Eq()",
        "cheat-grader": "try:\n    import grader.engine.inkernel as k\n"
                        "    k.grade = lambda assignment, part, points, namespace=None: points\n"
                        "except Exception:\n    pass",
    }
    release = load_notebook(REPO / "exercises" / assignment / f"{assignment}.ipynb")
    for student, cell in cells.items():
        nb = nbformat.from_dict(release)
        for answer in nb.cells:  # the cheat is every answer, so it runs before each test cell
            if answer.cell_type == "code" and answer.metadata.get("nbgrader", {}).get("solution"):
                answer.source = cell
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")
    return cells


LIMITS = ["--SandboxedAutograde.limits=cell_seconds=8", "--SandboxedAutograde.limits=submission_seconds=120"]


def test_the_threat_model_class_scores_through_nbgrader_autograde_as_through_the_engine(tmp_path):
    theirs, ours = tmp_path / "nbgrader", tmp_path / "engine"
    for course in (theirs, ours):
        _hostile_class(course)
        cheaters(course, HOSTILE_ASSIGNMENT)
    ensure_gradebook(theirs)
    run = nbgrader(theirs, "autograde", HOSTILE_ASSIGNMENT, *LIMITS)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    got = code_score(theirs, HOSTILE_ASSIGNMENT)
    assert len(got) == 1 + len(THREATS) + 3
    assert got["honest"] > 0
    assert {s: v for s, v in got.items() if not s.startswith("cheat-") and v != pytest.approx(got["honest"])} == {}
    assert {s: v for s, v in got.items() if s.startswith("cheat-")} == {
        "cheat-allclose": 0, "cheat-always-equal": 0, "cheat-grader": 0}
    assert not Path("/tmp/pwned").exists()
    # the engine, on the same class: the same grades, to the grade
    from grader.engine.pipeline import grade_course
    summary = grade_course(ours, demo=True, workers=2, seed=int(SEED),
                           limits={"cell_seconds": 8, "submission_seconds": 120})
    assert not summary.engine_failures
    assert gradebook(theirs) == gradebook(ours)


def test_nbgrader_settings_that_would_grade_in_the_kernel_are_refused(tmp_path):
    course = tmp_path / "c"
    cheaters(course, "symmetry")
    ensure_gradebook(course)
    no_execute = nbgrader(course, "autograde", "symmetry", "--no-execute")
    stock = nbgrader(course, "autograde", "symmetry", "--force",
                     "--Autograde.autograde_preprocessors=nbgrader.preprocessors.Execute")
    for run in (no_execute, stock):
        log = run.stdout + run.stderr
        assert run.returncode == 1 and "`python -m grader grade COURSE`" in log, log[-3000:]
        assert "graded in the sandbox" not in log
    assert "--no-execute (it scores the outputs saved" in no_execute.stderr
    assert re.search(r"Autograde.autograde_preprocessors = \[[\w.]*Execute\]", stock.stderr)
    with Gradebook(db_url_for(course)) as gb:  # nothing was scored
        assert all(g.auto_score is None for s in gb.find_assignment("symmetry").submissions
                   for nb in s.notebooks for g in nb.grades if g.cell.cell_type == "code")


def test_formgraders_autograde_button_grades_in_the_sandbox(tmp_path):
    """POST /formgrader/api/submission/<a>/<student>/autograde, as the button does (token and XSRF cookie):
    the cheater scores 0 and the honest student full marks, both recorded with the sandbox's layers."""
    import secrets
    import socket

    course = tmp_path / "c"
    a = "equal_weights"
    cheaters(course, a)
    honest = build_demo_class(tmp_path / "demo")  # alice's notebook: the reference answers
    shutil.copytree(honest / "submitted" / "alice" / a, course / "submitted" / "alice" / a)
    ensure_gradebook(course)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    cmd = ["make", "-s", "-o", ".venv/.installed", "formgrader", f"COURSE={course}", f"FORMGRADER_PORT={port}",
           f"FORMGRADER_FLAGS=--IdentityProvider.token={token}"]
    env = dict(os.environ, PYTHONPATH=str(REPO), GRADER_SEED=SEED)
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, page = time.time() + 120, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with opener.open(f"{base}/formgrader?token={token}", timeout=10) as response:
                    page = response.read()
                break
            except OSError:
                time.sleep(0.5)
        assert page is not None, f"formgrader did not answer (exit {proc.poll()})"
        xsrf = next(c.value for c in jar if c.name == "_xsrf")
        answers = {}
        for student in ("cheat-always-equal", "cheat-allclose", "cheat-grader", "alice"):
            request = urllib.request.Request(f"{base}/formgrader/api/submission/{a}/{student}/autograde", data=b"",
                                             method="POST", headers={"X-XSRFToken": xsrf})
            with opener.open(request, timeout=600) as response:
                answers[student] = json.loads(response.read())
        assert all(r["success"] for r in answers.values()), {s: r.get("log", "")[-1500:] for s, r in answers.items()}
        assert all("graded in the sandbox" in r["log"] for r in answers.values())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    got = code_score(course, a)
    with Gradebook(db_url_for(course)) as gb:
        full = sum(c.max_score for c in gb.find_notebook(a, a).grade_cells if c.cell_type == "code")
    assert got == {"cheat-always-equal": 0, "cheat-allclose": 0, "cheat-grader": 0, "alice": pytest.approx(full)}
    recorded = markers(course)
    assert set(recorded) == {f"{s}/{a}" for s in got} and all("ns" in m["level"] for m in recorded.values())
