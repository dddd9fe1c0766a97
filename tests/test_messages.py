"""Every message in both languages: the catalogs are complete and faithful to their placeholders, the
shipped catalog holds nothing hidden, a student's folder speaks its own language with nothing but torch,
and a submission's checks, hints and links speak the notebook's language while its score stays the same."""
from __future__ import annotations

import json
import os
import shutil
import string
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from grader import i18n
from grader.course.leaks import catalog_leaks, hidden_messages
from grader.engine import boundary
from grader.engine.check import PartResult, run_parts
from grader.engine.fixtures import Outcome
from grader.engine.sections import Check, advice_html
from grader.layout import CHECKS, EXERCISES, shipped_files
from grader.student.selfcheck import LocalStudent

TRANSLATED = [l for l in i18n.LANGUAGES if l != i18n.SOURCE_LANGUAGE]


def fields(message: str) -> list[tuple]:
    """The replacement fields of a str.format message, with their conversion and format spec, in order."""
    return sorted((name, conversion, spec) for _text, name, spec, conversion in string.Formatter().parse(message)
                  if name is not None)


@pytest.mark.parametrize("domain", i18n.DOMAINS)
@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_message_is_translated_and_nothing_else_is_in_the_catalog(domain, language):
    extracted = {m.id for m in i18n.extract(domain) if m.id}
    catalog = i18n.read_catalog(domain, language)
    translated = {m.id: m for m in catalog if m.id}
    assert extracted, f"nothing marked for {domain}"
    missing = sorted(extracted - set(translated))
    assert not missing, f"{domain}: marked in the source, missing from {i18n.po_file(domain, language)} " \
                        f"(run `python -m grader.i18n update`, then translate): {missing[:5]}"
    stale = sorted(set(translated) - extracted)
    assert not stale, f"{domain}: in the catalog, marked nowhere in the source: {stale[:5]}"
    untranslated = sorted(i for i, m in translated.items() if not m.string)
    assert not untranslated, f"{domain}/{language}: untranslated {untranslated[:5]}"
    fuzzy = sorted(i for i, m in translated.items() if m.fuzzy)
    assert not fuzzy, f"{domain}/{language}: fuzzy {fuzzy[:5]}"
    template = {m.id for m in msgspec_free_read(i18n.pot_file(domain)) if m.id}
    assert template == extracted, f"{i18n.pot_file(domain)} is out of date: run `python -m grader.i18n update`"


def msgspec_free_read(path: Path):
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        return read_po(f)


@pytest.mark.parametrize("domain", i18n.DOMAINS)
@pytest.mark.parametrize("language", TRANSLATED)
def test_a_translation_keeps_the_placeholders_of_its_message(domain, language):
    for m in i18n.read_catalog(domain, language):
        if m.id:
            assert fields(m.string) == fields(m.id), f"{domain}/{language}: {m.id!r} -> {m.string!r}"
            assert m.string.count("\n") == m.id.count("\n"), f"{domain}/{language}: line breaks of {m.id!r}"


def test_the_placeholder_check_can_fail():
    assert fields("{name} 应当是张量, 实际是 {got_type}") != fields("{name} should be a tensor, got {got}")
    assert fields("误差 {err:.2e}") != fields("error {err:.3e}")


def test_the_english_reads_in_d2l_terms():
    t = i18n.translation("en").gettext
    assert t("梯度爆炸") == "Exploding Gradients" and t("打破对称性") == "Breaking the Symmetry"
    assert t("Xavier初始化") == "Xavier Initialization" and t("参数初始化") == "Parameter Initialization"
    english = " ".join(m.string for d in i18n.DOMAINS for m in i18n.read_catalog(d, "en") if m.id)
    assert not any("\u4e00" <= c <= "\u9fff" for c in english), "Chinese left in an English message"


def test_the_shipped_catalog_holds_no_hidden_message_and_the_grader_has_them_all(tmp_path):
    files = i18n.shipped_language_files("en")
    assert set(files) == {"language.txt", "locale/en/LC_MESSAGES/numstab.mo"}
    assert i18n.shipped_language_files("zh_CN") == {}
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    assert catalog_leaks(tmp_path) == []
    (tmp_path / "locale" / "en" / "LC_MESSAGES" / "other.mo").write_bytes(b"not a catalog")
    assert [leak.what for leak in catalog_leaks(tmp_path)] == ["not a readable gettext catalog"]
    hint = __import__("grader.checks.divergence.hints", fromlist=["HINTS"]).HINTS["lars_step::test_momentum"]
    assert hint in hidden_messages() and i18n.translation("en").gettext(hint) in hidden_messages()
    shipped = i18n.read_catalog(i18n.SHIPPED_DOMAIN, "en")
    assert hint not in {m.id for m in shipped} and not any("test_" in p for m in shipped for p, _ in m.locations)


# -- a student's folder ------------------------------------------------------------------------------------
STUDENT = """
import torch, selfcheck, sys
def clip_by_global_norm(grads, max_norm):  # scales every tensor, even below the threshold
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    return [g * (max_norm / total) for g in grads], total
selfcheck.check("clip_global_norm", {"clip_by_global_norm": clip_by_global_norm})
print("GRADER LOADED" if any(m == "grader" or m.startswith("grader.") for m in sys.modules) else "alone")
"""


def student_folder(tmp_path: Path, language: str) -> Path:
    folder = tmp_path / language / "divergence"
    folder.mkdir(parents=True)
    for name, src in shipped_files("divergence").items():
        shutil.copy(EXERCISES / "divergence" / name, folder / name)
    for name, data in i18n.shipped_language_files(language).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    (folder / "student.py").write_text(STUDENT)
    return folder


def run_student(folder: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GRADER_BOOK_URL")}
    # from outside the repository, so the folder's own files are all the student has beside torch
    out = subprocess.run([sys.executable, "student.py"], cwd=folder, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_an_english_folder_self_checks_in_english_with_nothing_but_torch(tmp_path):
    out = run_student(student_folder(tmp_path, "en"))
    assert out.splitlines()[-1] == "alone"
    assert "== self-check [clip_global_norm] ==" in out
    assert "but clipped[0] changed" in out  # a public check's own message
    assert "Hint: Below the threshold the factor is the 1 in min(1, ·)" in out
    assert 'See: "Further Reading" ../../book/en/numerical-stability.html#further-reading' in out
    assert "public checks passed" in out and not any("\u4e00" <= c <= "\u9fff" for c in out)


def test_a_chinese_folder_self_checks_in_chinese(tmp_path):
    out = run_student(student_folder(tmp_path, "zh_CN"))
    assert "== 自检 [clip_global_norm] ==" in out and "提示: 全局范数低于阈值时" in out
    assert "参见: 《额外阅读》 ../../book/zh_CN/numerical-stability.html#further-reading" in out


# -- the submission's language in the grader ------------------------------------------------------------------
def notebook_bytes(metadata: dict) -> bytes:
    return json.dumps({"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [],
                                  "execution_count": None}],
                       "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}).encode()


@pytest.mark.parametrize("metadata, language", [
    ({"numstab": {"language": "en"}}, "en"), ({"numstab": {"language": "zh_CN"}}, "zh_CN"),
    ({}, None), ({"numstab": {"language": "fr"}}, None), ({"numstab": "en"}, None), ({"numstab": ["en"]}, None),
    ({"numstab": {"language": ["en"]}}, None), ({"numstab": {"language": {"a": 1}}}, None),
    ({"numstab": {"language": "en" * 500}}, None), ({"numstab": {"language": "en", "other": [1, {"x": None}]}}, "en"),
    ({"numstab": None}, None),
])
def test_the_release_language_is_read_leniently_at_the_door(metadata, language):
    nb = boundary.parse(notebook_bytes(metadata))  # never a NotebookError for what numstab holds
    assert boundary.release_language(nb) == language
    node = boundary.to_node(nb)
    assert boundary.language_of(node) == language
    assert node.metadata.get("numstab") == ({"language": language} if language else None)
    assert len(node.cells) == 1


BROKEN = {  # eigen_bounds' critical_sigma answered wrongly: every check fails with a message of its own
    "gaussian_top_lyapunov": lambda n, sigma: 0.5, "critical_sigma": lambda n: -1.0}


def run_in(language: str):
    import math

    ns = dict(BROKEN, math=math)
    return run_parts("eigen_bounds", ["critical_sigma"], LocalStudent(ns), 3, language)["critical_sigma"]


def test_hidden_checks_speak_the_submissions_language_and_score_the_same():
    en, zh = run_in("en"), run_in("zh_CN")
    assert (en.score, en.passed, en.total) == (zh.score, zh.passed, zh.total) and en.total > en.passed
    assert [o.passed for o in en.outcomes] == [o.passed for o in zh.outcomes]
    hidden = [(e.message, z.message) for e, z in zip(en.outcomes, zh.outcomes)
              if not e.passed and "test_" in e.nodeid]
    assert hidden and all(e != z for e, z in hidden)
    assert any("critical_sigma must be positive" in e for e, _ in hidden)
    assert any("critical_sigma 必须是正数" in z for _, z in hidden)
    report_en, report_zh = en.report(), zh.report()
    assert report_en.startswith("[eigen_bounds/critical_sigma] 0/") and "checks passed (seed 3)" in report_en
    assert "FAILED test_" in report_en and "Hint: " in report_en and "/en/numerical-stability.html#exploding-gradients" in report_en
    assert "项检查 (种子 3)" in report_zh and "未通过 test_" in report_zh and "提示: " in report_zh
    assert "/zh_CN/numerical-stability.html#exploding-gradients" in report_zh
    assert not any("\u4e00" <= c <= "\u9fff" for c in report_en)
    assert i18n.install().language() == "zh_CN"  # the last job's language: each job sets its own


def test_the_feedback_block_is_in_the_submissions_language(monkeypatch):
    monkeypatch.setenv("GRADER_BOOK_URL", "https://book.example/")
    checks = [Check.from_nodeid("lars_step", "divergence/test_lars_step.py::test_momentum_buffer[cpu]")]
    en, zh = advice_html(checks, "en"), advice_html(checks, "zh_CN")
    hint = __import__("grader.checks.divergence.hints", fromlist=["HINTS"]).HINTS["lars_step::test_momentum"]
    assert "Checks that failed, with hints" in en and "One momentum buffer per parameter" in en
    assert 'href="https://book.example/en/numerical-stability.html#further-reading"' in en and ">Further Reading</a>" in en
    assert "没通过的检查" in zh and hint in zh and ">额外阅读</a>" in zh
    assert 'href="https://book.example/zh_CN/numerical-stability.html#further-reading"' in zh
    failed = Outcome("lars_step", "divergence/test_lars_step.py::test_momentum_buffer[cpu]", False, "m")
    report = PartResult("divergence", "lars_step", [failed], 1, "en")
    assert "Hint: One momentum buffer per parameter" in report.report()


def test_the_sandbox_child_refuses_in_the_submissions_language():
    """A StudentError raised in the sandbox (LocalStudent's messages) comes in the language of the Work."""
    from grader.engine import wire

    work = msgspec.json.decode(msgspec.json.encode({"type": "work", "cells": [], "language": "en"}), type=wire.Work)
    assert work.language == "en"
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"type": "work", "cells": [], "language": "fr"}', type=wire.Work)
    selfcheck = i18n.install()
    try:
        selfcheck.use_language("en")
        with pytest.raises(selfcheck.StudentError, match="is not defined in the notebook"):
            LocalStudent({}).call("f")
    finally:
        selfcheck.use_language(i18n.SOURCE_LANGUAGE)


def test_the_course_language_is_configured_in_the_course(tmp_path):
    from grader.engine.pipeline import course_language

    assert course_language(tmp_path) == "zh_CN"
    (tmp_path / "nbgrader_config.py").write_text('c = get_config()\nc.Numstab.language = "en"\n')
    assert course_language(tmp_path) == "en" and course_language(tmp_path, "zh_CN") == "zh_CN"
    (tmp_path / "nbgrader_config.py").write_text('c = get_config()\nc.Numstab.language = "klingon"\n')
    assert course_language(tmp_path) == "zh_CN"


def test_every_check_module_reads_the_marker_from_one_place():
    for path in sorted(CHECKS.glob("*/test_*.py")):
        text = path.read_text(encoding="utf-8")
        assert "_(" not in text or "from grader.i18n import _" in text, path
    for path in sorted(CHECKS.glob("*/public_checks.py")):
        assert "from selfcheck import _" in path.read_text(encoding="utf-8"), path


# -- a whole grading run --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """bob's divergence (partly wrong) handed in twice: as released in Chinese, and as released in English."""
    from grader.course.demo import build_demo_class

    course = build_demo_class(tmp_path_factory.mktemp("course"))
    for student in list((course / "submitted").iterdir()):
        if student.name != "bob":
            shutil.rmtree(student)
    for folder in list((course / "submitted" / "bob").iterdir()):
        if folder.name != "divergence":
            shutil.rmtree(folder)
    shutil.copytree(course / "submitted" / "bob", course / "submitted" / "bob_en")
    path = course / "submitted" / "bob_en" / "divergence" / "divergence.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"]["numstab"] = {"language": "en"}
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    return course


def grade(course, capsys, monkeypatch, *flags) -> str:
    from grader.__main__ import main

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("GRADER_BOOK_URL", "https://book.example/")
    assert main(["grade", str(course), "--demo", "--no-feedback", "--workers", "1", "--seed", "5", *flags]) == 0
    return capsys.readouterr().out


@pytest.mark.slow
def test_a_class_is_graded_in_each_notebooks_language_and_reported_in_the_courses(course, capsys, monkeypatch):
    from grader.engine.gradebook import db_url_for
    from grader.engine.report import totals

    console = grade(course, capsys, monkeypatch)  # no course language configured: zh_CN
    assert "成绩 (" in console and "评分 2 份" in console and "graded 2" not in console
    grid = totals(db_url_for(course))["divergence"]
    assert grid["bob"].auto == grid["bob_en"].auto < grid["bob"].auto_max  # the language never scores

    def feedback(student: str) -> str:
        nb = json.loads((course / "autograded" / student / "divergence" / "divergence.ipynb").read_text())
        return "\n".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/html", ""))
                         for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))

    zh, en = feedback("bob"), feedback("bob_en")
    assert "项检查 (种子 5)" in zh and "提示: " in zh and "没通过的检查" in zh
    assert "https://book.example/zh_CN/numerical-stability.html#" in zh and "/en/" not in zh
    assert "checks passed (seed 5)" in en and "Hint: " in en and "Checks that failed, with hints" in en
    assert "https://book.example/en/numerical-stability.html#" in en and "/zh_CN/" not in en
    report = (course / "report.html").read_text(encoding="utf-8")
    assert "<title>评分报告</title>" in report and "按书中的小节" in report and "Grading report" not in report
    assert "https://book.example/zh_CN/numerical-stability.html#" in report

    console = grade(course, capsys, monkeypatch, "--language", "en")  # nothing changed: nothing regraded
    assert "Grades (" in console and "graded 0, unchanged 2" in console and "成绩" not in console
    report = (course / "report.html").read_text(encoding="utf-8")
    assert "<title>Grading report</title>" in report and "By section of the chapter" in report
    assert "https://book.example/en/numerical-stability.html#" in report and "评分报告" not in report
    assert totals(db_url_for(course))["divergence"] == {**grid}  # and no score moved
    assert feedback("bob") == zh  # a submission's feedback keeps its notebook's language


def test_the_grader_check_command_reports_in_the_notebooks_language(tmp_path):
    from grader.layout import REPO

    folder = tmp_path / "eigen_bounds"
    shutil.copytree(EXERCISES / "eigen_bounds", folder)
    path = folder / "eigen_bounds.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"]["numstab"] = {"language": "en"}
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "grader", "check", str(path)], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert "== self-check [lyapunov] ==" in run.stdout and "is not implemented yet" in run.stdout
    assert "public checks passed" in run.stdout and "自检" not in run.stdout, run.stdout[-2000:]


def test_a_language_marker_without_its_catalog_falls_back_to_the_source_language(tmp_path):
    folder = student_folder(tmp_path, "en")
    (folder / "locale" / "en" / "LC_MESSAGES" / "numstab.mo").unlink()
    out = run_student(folder)
    assert "== 自检 [clip_global_norm] ==" in out and "/zh_CN/numerical-stability.html" in out


def test_the_section_titles_are_the_books_own_headings_in_each_language():
    """The title a message shows for a section is the heading the book shows there (book/locale)."""
    from babel.messages.pofile import read_po

    from grader.layout import BOOK
    from grader.student.selfcheck import SECTION_TITLES

    for language in TRANSLATED:
        with open(BOOK / "locale" / language / "LC_MESSAGES" / "numerical-stability.po", "rb") as f:
            book = {m.id: m.string for m in read_po(f) if m.id}
        for label, title in SECTION_TITLES.items():
            assert i18n.section_title(label, language) == book[title], (label, language)


def test_the_engines_own_lines_follow_the_course_language(tmp_path):
    """The lines an instructor reads about the run itself (the isolation in effect, what was removed from a
    student's markup, a course another run holds, a similarity that could not be computed) are in the
    course's language like the rest of the table and the report."""
    import re

    import nbformat

    from grader.engine.isolation import Layers
    from grader.engine.markup import clean_notebook
    from grader.engine.pipeline import EngineError, lock_course
    from grader.engine.similarity import all_similar_pairs

    han = re.compile(r"[\u4e00-\u9fff]")

    def lines(language: str) -> list[str]:
        out = Layers(root=False, namespaces=True, landlock_abi=7, seccomp=True).describe(language)
        out += Layers(root=True, namespaces=False, landlock_abi=0, seccomp=False).describe(language)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("<script>a()</script>"),
                                             nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
                                                 "display_data", data={"image/svg+xml": "<svg/>"})])])
        out += clean_notebook(nb, language) + [nb.cells[1].outputs[0].data["text/plain"]]
        course = tmp_path / language
        held = lock_course(course, language)
        try:
            with pytest.raises(EngineError) as refused:
                lock_course(course, language)
        finally:
            os.close(held)
        (course / "submitted" / "s" / "symmetry").mkdir(parents=True)
        (course / "submitted" / "s" / "symmetry" / "symmetry.ipynb").mkdir()  # a folder where a notebook goes
        problems: list[str] = []
        all_similar_pairs(course, problems=problems, language=language)
        return out + [str(refused.value)] + problems

    chinese, english = lines(i18n.SOURCE_LANGUAGE), lines("en")
    assert len(chinese) == len(english) >= 15
    assert all(han.search(line) for line in chinese if not line.startswith(("Landlock: ABI", "cgroup")))
    assert not [line for line in english if han.search(line)], english
    assert "removed from what the instructor's pages show: <script>" in " ".join(english)
    assert "being graded by another run" in " ".join(english)
    assert "similarity of symmetry: not computed" in " ".join(english)
