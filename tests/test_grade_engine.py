"""`make grade` end to end on a real class: scores, hostile students, re-runs, kill -9, bad input.

A class is built from the release and solution notebooks (grader/course/demo.py) and graded into a fresh
course directory with the real pipeline: sandboxed children, a warm zygote, nbgrader's gradebook.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader.layout import ASSIGNMENTS
from grader.engine import isolation
from grader.engine.notebook import load_notebook
from grader.course.demo import build_demo_class, solved, _answers
from grader.layout import REPO
from grader.engine.pipeline import grade_course
from grader.engine.report import export_csv, generate_feedback, write_instructor_report
from grader.engine.similarity import all_similar_pairs
from grader.engine.gradebook import Gradebook, db_url_for

LIMITS = {"cell_seconds": 20, "submission_seconds": 120}
STUDENTS = 8  # the demo class: alice, bob, carol, dave, eve, grace, henry (in English), mallory
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
    "kill_everything": "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass",
    "ptrace_parent": "import ctypes, os\nlibc = ctypes.CDLL(None)\nfor pid in range(1, 4096):\n    libc.ptrace(16, pid, 0, 0)",
    "user_namespace": "import ctypes\nctypes.CDLL(None).unshare(0x10000000)",
    "loopback": "import socket\nfor port in (22, 80, 8000, 8888, 6379):\n    try:\n        socket.create_connection(('127.0.0.1', port), timeout=1)\n    except OSError:\n        pass",
    "sqlite_gradebook": "import glob, sqlite3\nfor p in glob.glob('/**/gradebook.db', recursive=True)[:3]:\n    try:\n        sqlite3.connect(p).execute('update grade set auto_score = 4000')\n    except Exception:\n        pass",
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
        assert got["dave"] == pytest.approx(full), f"{a}: the disguised copy no longer works"
        assert got["grace"] == pytest.approx(full), f"{a}: grace's own answer is correct too"
        assert got["mallory"] == pytest.approx(full), f"{a}: the hostile cells changed the score"
        assert got["henry"] == pytest.approx(full), f"{a}: the English release graded differently"
        assert got["carol"] == 0, a
        assert 0 < got["bob"] < full, a
    assert auto_scores(db_url, ASSIGNMENTS[0])["eve"] == 0  # her notebook is not JSON


def test_the_english_submission_scores_as_the_chinese_one_part_by_part(demo):
    """henry hands in alice's code in the English release: graded in the same run, the same points per part."""
    course, _ = demo
    with Gradebook(db_url_for(course)) as gb:
        for a in ASSIGNMENTS:
            parts = {s.student.id: {g.name: g.score for nb in s.notebooks for g in nb.grades}
                     for s in gb.find_assignment(a).submissions if s.student.id in ("alice", "henry")}
            assert parts["henry"] == parts["alice"], a


def test_written_answers_wait_for_a_manual_grade(demo):
    """grace writes the written answers: nbgrader marks them for manual grading; an untouched answer is a 0."""
    course, _ = demo
    with Gradebook(db_url_for(course)) as gb:
        for a in ASSIGNMENTS:
            written = {(s.student.id, g.name): g for s in gb.find_assignment(a).submissions
                       for nb in s.notebooks for g in nb.grades if g.cell.cell_type == "markdown"}
            assert written, f"{a} has no written answer"
            assert {k for k, g in written.items() if g.needs_manual_grade} == {k for k in written if k[0] == "grace"}
            assert all(g.auto_score == 0 for (student, _), g in written.items() if student == "carol")


def test_the_copied_pair_is_flagged_and_the_honest_pair_is_not(demo):
    course, _ = demo
    pairs = all_similar_pairs(course)
    for a in ASSIGNMENTS:
        flagged = {(p.first, p.second): p for p in pairs[a]}
        assert ("alice", "dave") in flagged and flagged["alice", "dave"].similarity > 0.9, a
        assert not any("grace" in pair for pair in flagged), f"{a}: an honest, different answer was flagged"
        assert "carol" not in {s for pair in flagged for s in pair}, f"{a}: the starter code alone matched"
        page = flagged["alice", "dave"].page.read_text()
        assert "highlight-red" in page and "my_" in page  # both sides, the shared code highlighted


def test_feedback_points_each_failed_check_into_the_book(demo):
    course, _ = demo
    assert generate_feedback(course, ["bob/divergence"]) == []
    page = (course / "feedback" / "bob" / "divergence" / "divergence.html").read_text()
    # bob left LARS blank: its hint and a link to the section that teaches it
    assert "提示: " in page and "zh_CN/numerical-stability.html#further-reading" in page
    assert 'href="../../book/zh_CN/numerical-stability.html#further-reading"' in page


def test_outputs_nbgrader_and_the_instructor_use(demo):
    course, summary = demo
    db_url = db_url_for(course)
    csv = export_csv(course, db_url).read_text()
    assert csv.splitlines()[0].startswith("assignment,duedate,timestamp,student_id")
    assert len(csv.splitlines()) == 1 + STUDENTS * len(ASSIGNMENTS)
    report = write_instructor_report(course, db_url, summary).read_text()
    # in the course's language (zh_CN: nothing configured)
    assert "生效的隔离" in report and "Landlock" in report and "seccomp" in report
    assert "<svg" in report and "不是有效的笔记本" in report and "eve" in report
    # sections: next to every check's failure rate, and a summary per section of the chapter
    assert "按书中的小节" in report
    assert re.search(r"<code>lars_step/test_matches_reference\[cpu\]</code></td><td>\d+/\d+</td><td>\d+%</td>"
                     r"<td><a href=\"[^\"]+\">额外阅读</a>", report)
    assert "相似的解答代码" in report and 'href="similarity/divergence/alice--dave.html"' in report
    nb = load_notebook(course / "autograded" / "alice" / "divergence" / "divergence.ipynb")
    assert any(o.get("output_type") == "execute_result" for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_rerun_grades_only_what_changed_and_force_regrades(demo):
    course, _ = demo
    again = grade_course(course, demo=True, workers=1, seed=11, limits=LIMITS)
    assert again.graded == [] and len(again.unchanged) == STUDENTS * len(ASSIGNMENTS)
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
    assert sandbox_processes() == []  # daemons, spare children forked ahead: all gone with the workers


def sandbox_processes() -> list[int]:
    """Live processes of this user or of a sandbox uid that sit in a PID namespace other than ours."""
    ours = os.readlink("/proc/self/ns/pid")
    uids = {os.getuid()} | set(range(isolation.SANDBOX_UID_BASE, isolation.SANDBOX_UID_BASE + isolation.UID_RANGE))
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(l.split(":", 1) for l in f if ":" in l)
            if int(fields["Uid"].split()[0]) in uids and fields["State"].split()[0] not in "ZX" \
                    and os.readlink(f"/proc/{pid}/ns/pid") != ours:
                found.append(int(pid))
        except (OSError, KeyError, ValueError):
            continue
    return found


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
    assert 4 <= done_before < STUDENTS * len(ASSIGNMENTS), "kill -9 should land mid-batch"
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    db_url = db_url_for(course)
    with Gradebook(db_url) as gb:
        subs = [(s.student.id, s.assignment.name) for a in gb.assignments for s in a.submissions]
    assert len(subs) == len(set(subs)) == STUDENTS * len(ASSIGNMENTS)
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
    assert "已按作业恢复" in " ".join(clean.problems)
    assert "restored from the assignment" in " ".join(sanitize(sub("deleted-en", deleted), db_url, known, "en").problems)
    assert sorted(clean.parts) == sorted(graded_parts(release))  # the deleted cell is back, at the end

    doubled = nbformat.from_dict(release)
    doubled.cells.insert(tests[0], nbformat.from_dict(release.cells[tests[0]]))
    clean = sanitize(sub("doubled", doubled), db_url, known)
    assert "重复的单元格" in " ".join(clean.problems)
    assert len(clean.parts) == len(graded_parts(release))

    other = load_notebook(REPO / "exercises" / "symmetry" / "symmetry.ipynb")
    clean = sanitize(sub("other", other), db_url, known)
    assert "另一个作业的笔记本" in " ".join(clean.problems)


def test_make_formgrader_serves_the_gradebook_with_the_written_answers_to_grade(demo):
    """`make formgrader` on the graded demo class: nbgrader's formgrader answers on loopback and lists grace's
    submissions as needing a manual grade.  Started on a free port, stopped at the end (bounded waits)."""
    import secrets
    import socket
    import urllib.request

    course, _ = demo
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    # -o: the venv is what this test runs in; never reinstall it from here
    cmd = ["make", "-s", "-o", ".venv/.installed", "formgrader", f"COURSE={course}", f"FORMGRADER_PORT={port}",
           f"FORMGRADER_FLAGS=--IdentityProvider.token={token}"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/formgrader/api/submissions/divergence",
                                         headers={"Authorization": f"token {token}"})
        deadline, answer = time.time() + 120, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    answer = json.loads(response.read())
                break
            except OSError:
                time.sleep(0.5)
        assert answer is not None, f"formgrader did not answer (exit {proc.poll()})"
        manual = {s["student"]: s["needs_manual_grade"] for s in answer}
        assert manual["grace"] is True and manual["alice"] is False, manual
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
