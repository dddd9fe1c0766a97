"""check: parts scored by share, in a session of their own or a worker's long one; a broken session is never a 0."""
import pytest

import grader.engine.check as check
from grader.student.selfcheck import LocalStudent


def test_parts_are_scored_separately_and_time_inside_checks_is_reported():
    ns = {"critical_sigma": lambda n: 1.0, "gaussian_top_lyapunov": lambda n, s: 0.0}
    results = check.run_parts("eigen_bounds", ["critical_sigma", "psd_bounds"], LocalStudent(ns), 1)
    assert set(results) == {"critical_sigma", "psd_bounds"}
    assert all(r.total > 0 and 0 <= r.score < 1 for r in results.values())
    assert all(o.part == "psd_bounds" for o in results["psd_bounds"].outcomes)
    assert results.check_seconds > 0


def test_an_unknown_part_is_an_error():
    with pytest.raises(check.UnknownPart, match="nope"):
        check.run_parts("eigen_bounds", ["nope"], LocalStudent({}), 1)


def test_a_check_module_that_cannot_be_collected_raises_instead_of_scoring_zero(tmp_path, monkeypatch):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "test_part.py").write_text("def test_x(student):\n    assert (\n")
    (tmp_path / "demo" / "public_checks.py").write_text("")
    monkeypatch.setattr(check, "CHECKS_ROOT", tmp_path)
    with pytest.raises(check.CheckSessionError, match="did not run"):
        check.run_parts("demo", ["part"], LocalStudent({}), 1)


# -- CheckSession: one pytest session per worker, fed submission after submission ------------------------------

def test_a_long_session_grades_each_submission_as_a_session_of_its_own_would():
    from support import namespace_from, release_path, solution_path
    from grader.engine.notebook import graded_parts, load_notebook

    parts = [p for p, _ in graded_parts(load_notebook(solution_path("eigen_bounds")))]
    solved, blank = namespace_from(solution_path("eigen_bounds")), namespace_from(release_path("eigen_bounds"))
    session = check.CheckSession(["eigen_bounds", "divergence"])
    session.start()
    try:
        # alternating students: a fixture or state left over from one would show in the next one's score
        for ns in (solved, blank, solved):
            kept = session.run_parts("eigen_bounds", parts, LocalStudent(ns), 7)
            alone = check.run_parts("eigen_bounds", parts, LocalStudent(ns), 7)
            assert {p: (r.passed, r.total) for p, r in kept.items()} == {p: (r.passed, r.total) for p, r in alone.items()}
            assert kept.check_seconds > 0
        assert all(r.score == 0 for r in session.run_parts("eigen_bounds", parts, LocalStudent(blank), 7).values())
        assert all(r.score == 1 for r in session.run_parts("eigen_bounds", parts, LocalStudent(solved), 7).values())
    finally:
        session.close()
    assert not session.thread.is_alive()


def test_a_session_only_runs_the_parts_asked_for_and_refuses_unknown_ones():
    session = check.CheckSession(["eigen_bounds"])
    try:
        results = session.run_parts("eigen_bounds", ["psd_bounds"], LocalStudent({}), 1)
        assert set(results) == {"psd_bounds"}
        assert results["psd_bounds"].total > 0
        assert all(o.part == "psd_bounds" for o in results["psd_bounds"].outcomes)
        with pytest.raises(check.UnknownPart, match="nope"):
            session.run_parts("eigen_bounds", ["nope"], LocalStudent({}), 1)
    finally:
        session.close()


def test_starting_a_session_gives_the_process_its_streams_back(capsys):
    import sys
    before = sys.stdout, sys.stderr
    session = check.CheckSession(["eigen_bounds"])
    session.start()
    try:
        assert (sys.stdout, sys.stderr) == before
        session.run_parts("eigen_bounds", ["psd_bounds"], LocalStudent({}), 1)
        assert (sys.stdout, sys.stderr) == before
    finally:
        session.close()
    assert capsys.readouterr().out == "", "pytest's own report must not reach the worker's stdout"


def test_a_session_whose_checks_cannot_be_collected_raises_on_every_job(tmp_path, monkeypatch):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "test_part.py").write_text("def test_x(student):\n    assert (\n")
    (tmp_path / "demo" / "public_checks.py").write_text("")
    monkeypatch.setattr(check, "CHECKS_ROOT", tmp_path)
    session = check.CheckSession(["demo"])
    # once the import has failed, pytest finds the module in sys.modules and collects it as empty
    for _ in range(2):
        with pytest.raises(check.CheckSessionError, match="session ended|were collected"):
            session.run_parts("demo", ["part"], LocalStudent({}), 1)
    with pytest.raises(check.CheckSessionError):
        check.run_parts("demo", ["part"], LocalStudent({}), 1)


def test_a_workers_rewritten_checks_are_cached_outside_the_source_tree(tmp_path):
    """Where bytecode may not be written, a worker still keeps pytest's rewritten checks (in its own folder)."""
    import os
    import subprocess
    import sys

    from grader.layout import ASSIGNMENTS, CHECKS, REPO

    script = ("import sys; from pathlib import Path; from grader.engine.check import CheckSession, cache_bytecode; "
              f"cache_bytecode(Path({str(tmp_path)!r})); s = CheckSession({list(ASSIGNMENTS)!r}); s.start(); s.close()")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(REPO)}
    env.pop("PYTHONPYCACHEPREFIX", None)
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300)
    cached = {p.name.split(".")[0] for p in tmp_path.rglob("*.pyc") if CHECKS.name in p.parts}
    hidden = {p.stem for a in ASSIGNMENTS for p in (CHECKS / a).glob("test_*.py")}
    assert hidden <= cached
