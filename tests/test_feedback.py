"""Feedback that teaches: every check names its section of the book and carries a hint, and no hint gives
anything away (grader/checks/<a>/book_sections.py, hints.py, grader/engine/sections.py)."""
import ast
import importlib
import re
import shutil
import sys

import pytest

from grader.course.leaks import hint_leaks, scan
from grader.engine.check import PartResult
from grader.engine.fixtures import Outcome
from grader.engine.sections import Check, advice_html, tables
from grader.layout import ASSIGNMENTS, BOOK, EXERCISES, checks_of, shipped_files
from grader.student import selfcheck

CHAPTER = (BOOK / "numerical-stability.md").read_text(encoding="utf-8")
HEADINGS = {m.group(2).strip() for m in re.finditer(r"^(#{1,3}) (.+)$", CHAPTER, re.M)}
# the chapter's language-neutral section labels (shared contract with the book: a MyST target before each heading)
LABELS = {"numerical-stability", "vanishing-and-exploding-gradients", "vanishing-gradients", "exploding-gradients",
          "breaking-the-symmetry", "stabilizing-training", "parameter-initialization", "default-initialization",
          "xavier-initialization", "further-reading", "summary", "exercises", "references"}


def checks_of_assignment(assignment: str) -> list[Check]:
    """Every check, hidden and public, read from the check files (what pytest collects)."""
    found = []
    for path in sorted(checks_of(assignment).glob("test_*.py")):
        part = path.stem[len("test_"):]
        found += [Check(assignment, part, f.name) for f in ast.parse(path.read_text()).body
                  if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")]
    public = ast.parse((checks_of(assignment) / "public_checks.py").read_text())
    found += [Check(assignment, f.name[len("check_"):].split("__")[0], f.name) for f in public.body
              if isinstance(f, ast.FunctionDef) and f.name.startswith("check_") and "__" in f.name]
    return found


ALL_CHECKS = [c for a in ASSIGNMENTS for c in checks_of_assignment(a)]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: f"{c.assignment}/{c.function}")
def test_every_check_names_a_section_of_the_book_and_has_a_hint(check):
    section, hint = check.advice
    assert section in LABELS, f"{check}: no section, or {section!r} is not a label of the chapter's sections"
    assert hint and "\n" not in hint and len(hint) < 160, f"{check}: a hint is one short line"


def test_the_section_labels_are_the_chapters_headings():
    """Each label's title (the source language) is a heading of the chapter; where the chapter already carries
    its MyST targets, the target stands right before that heading."""
    assert set(selfcheck.SECTION_TITLES) == LABELS
    for label, title in selfcheck.SECTION_TITLES.items():
        assert title in HEADINGS, f"{label}: {title!r} is not a heading of the chapter"
        if f"({label})=" in CHAPTER:
            assert re.search(rf"^\({re.escape(label)}\)=\s*\n#{{1,3}} {re.escape(title)}\s*$", CHAPTER, re.M), label


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_key_of_the_tables_names_a_part_or_a_check(assignment):
    checks = checks_of_assignment(assignment)
    parts = {c.part for c in checks}
    for module in tables(assignment):
        for key in [*getattr(module, "SECTIONS", {}), *getattr(module, "HINTS", {})]:
            assert key in parts or any(selfcheck.lookup({key: 1}, c.part, c.function) for c in checks), \
                f"{module.__name__}: {key!r} matches no check (renamed?)"
    assert set(importlib.import_module(f"grader.checks.{assignment}.book_sections").SECTIONS) >= parts


def test_the_most_specific_key_wins():
    table = {"lars_step": "part", "check_lars_step__": "public", "check_lars_step__zero": "one",
             "lars_step::test_zero": "hidden one"}
    assert selfcheck.lookup(table, "lars_step", "check_lars_step__zero_norm_is_safe") == "one"
    assert selfcheck.lookup(table, "lars_step", "check_lars_step__relative_step_size") == "public"
    assert selfcheck.lookup(table, "lars_step", "test_zero_norm_params") == "hidden one"
    assert selfcheck.lookup(table, "lars_step", "test_float32") == "part"
    assert selfcheck.lookup(table, "clip_global_norm", "test_float32") is None


def test_hidden_hints_never_ship():
    for a in ASSIGNMENTS:
        assert "hints.py" not in shipped_files(a)
        assert not (EXERCISES / a / "hints.py").exists()


def test_the_leak_scan_finds_a_hidden_hint_in_a_release(tmp_path):
    shutil.copytree(EXERCISES / "divergence", tmp_path / "divergence")
    assert scan(tmp_path) == []
    hidden = importlib.import_module("grader.checks.divergence.hints").HINTS["lars_step::test_momentum"]
    (tmp_path / "divergence" / "notes.py").write_text(f'HINTS = {{\n    "lars_step::test_momentum": "{hidden}",\n}}\n')
    assert any(leak.what.startswith("hidden message") and "notes.py" in leak.where for leak in scan(tmp_path))


def test_the_leak_scan_finds_a_hidden_message_in_an_english_release(tmp_path):
    """The catalog an English exercise ships holds no hidden check's message and no hidden hint, in either
    language; the instructor's catalog, or a hidden hint's English, put in a release is found."""
    from grader import i18n

    folder = tmp_path / "divergence"
    shutil.copytree(EXERCISES / "divergence", folder)
    for name, data in i18n.shipped_language_files("en").items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    assert scan(tmp_path) == []
    instructor_mo = folder / "locale" / "en" / "LC_MESSAGES" / "numstab_grader.mo"
    instructor_mo.write_bytes(i18n.compiled(i18n.INSTRUCTOR_DOMAIN, "en"))
    assert any(leak.what.startswith("hidden message") and leak.where.endswith("numstab_grader.mo")
               for leak in scan(tmp_path))
    instructor_mo.unlink()
    hint = importlib.import_module("grader.checks.divergence.hints").HINTS["lars_step::test_momentum"]
    (folder / "README.txt").write_text(i18n.translation("en").gettext(hint) + "\n")
    assert i18n.translation("en").gettext(hint) != hint
    assert [leak.where for leak in scan(tmp_path)] == [str(folder / "README.txt")]


def test_no_hint_gives_away_a_number_or_a_hidden_line(monkeypatch):
    assert hint_leaks() == []
    module = importlib.import_module("grader.checks.eigen_bounds.hints")
    monkeypatch.setitem(module.HINTS, "critical_sigma::test_critical_sigma_large_n", "结果应当是 0.01234 左右")
    found = hint_leaks(["eigen_bounds"])
    assert [leak.what for leak in found] == ["number 0.01234 is not stated anywhere public"]


def test_the_report_of_a_failed_check_carries_its_hint_and_link_once(monkeypatch):
    monkeypatch.setenv("GRADER_BOOK_URL", "https://book.example/ch/")
    outcomes = [Outcome("lars_step", f"divergence/test_lars_step.py::test_momentum_buffer[{d}]", False, "differs")
                for d in ("cpu", "cuda")] + [Outcome("lars_step", "divergence/test_lars_step.py::test_float32[cpu]", True)]
    text = PartResult("divergence", "lars_step", outcomes, seed=1).report()
    hint = importlib.import_module("grader.checks.divergence.hints").HINTS["lars_step::test_momentum"]
    assert text.count(f"提示: {hint}") == 1
    assert "参见: 《额外阅读》 https://book.example/ch/zh_CN/numerical-stability.html#further-reading" in text
    page = advice_html([Check.from_nodeid("lars_step", o.nodeid) for o in outcomes if not o.passed])
    assert page.count("<li>") == 1 and page.count("test_momentum_buffer") == 1
    # two checks with the part's own hint: one item naming both, and the report says the hint once
    shared = [Outcome("lars_step", f"divergence/test_lars_step.py::{n}[cpu]", False, "x")
              for n in ("test_no_momentum_no_decay", "test_gradient_scale_invariance")]
    page = advice_html([Check.from_nodeid("lars_step", o.nodeid) for o in shared])
    assert page.count("<li>") == 1 and "test_no_momentum_no_decay</code>, <code>test_gradient_scale_invariance" in page
    assert PartResult("divergence", "lars_step", shared, seed=1).report().count("提示: ") == 1
    assert 'href="https://book.example/ch/zh_CN/numerical-stability.html#further-reading"' in page and "额外阅读" in page


def test_the_self_check_prints_a_hint_and_a_link_under_each_failed_public_check(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "public_checks", importlib.import_module("grader.checks.divergence.public_checks"))
    monkeypatch.setitem(sys.modules, "book_sections", importlib.import_module("grader.checks.divergence.book_sections"))
    monkeypatch.delenv("GRADER_BOOK_URL", raising=False)

    def clip_by_global_norm(grads, max_norm):  # scales every tensor by max_norm / norm, even below the threshold
        import torch
        total = torch.sqrt(sum((g ** 2).sum() for g in grads))
        return [g * (max_norm / total) for g in grads], total

    share = selfcheck.check("clip_global_norm", {"clip_by_global_norm": clip_by_global_norm})
    out = capsys.readouterr().out
    assert share < 1 and out.count("提示: ") == out.count("  ✗ ")
    hints = importlib.import_module("grader.checks.divergence.book_sections").HINTS
    assert hints["check_clip_global_norm__below_threshold_unchanged"] in out
    assert "参见: 《额外阅读》 ../../book/zh_CN/numerical-stability.html#further-reading" in out
    # the self-check knows only the shipped hints
    hidden = importlib.import_module("grader.checks.divergence.hints").HINTS
    assert not any(h in out for h in hidden.values())


def test_in_jupyter_the_self_check_also_shows_clickable_links(monkeypatch, capsys):
    """In a kernel (get_ipython() is not None) the sections to reread come as an HTML output with links."""
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", shown.append)
    monkeypatch.setitem(sys.modules, "public_checks", importlib.import_module("grader.checks.divergence.public_checks"))
    monkeypatch.setitem(sys.modules, "book_sections", importlib.import_module("grader.checks.divergence.book_sections"))
    monkeypatch.setenv("GRADER_BOOK_URL", "https://book.example/")
    selfcheck.check("clip_global_norm", {})  # nothing defined: every check fails
    assert "笔记本中没有定义" in capsys.readouterr().out
    (page,) = [h.data for h in shown]
    assert page.count("<a ") == 1 and 'href="https://book.example/zh_CN/numerical-stability.html#further-reading"' in page
    assert ">额外阅读</a>" in page
