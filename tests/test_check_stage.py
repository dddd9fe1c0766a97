"""check: one pytest session per submission; parts scored by share; a broken session is never a 0."""
import pytest

import grader.check as check
from grader.selfcheck import LocalStudent


def test_parts_are_scored_separately_and_time_inside_checks_is_reported():
    ns = {"critical_sigma": lambda n: 1.0, "gaussian_top_lyapunov": lambda n, s: 0.0}
    timing = {}
    results = check.run_parts("eigen_bounds", ["critical_sigma", "psd_bounds"], LocalStudent(ns), 1, timing)
    assert set(results) == {"critical_sigma", "psd_bounds"}
    assert all(r.total > 0 and 0 <= r.score < 1 for r in results.values())
    assert all(o.part == "psd_bounds" for o in results["psd_bounds"].outcomes)
    assert timing["checks"] > 0


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
