"""The exercises in both languages: every statement translated, one assignment for nbgrader, same scores.

The English release (exercises/en/<a>/) is the Chinese release with the catalog of solutions/.locale/en/
applied to its unlocked cells; its locked and grade cells, cell ids, nbgrader metadata and checksums are
the Chinese release's, byte for byte, so one gradebook grades both.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import compute_checksum

from grader.course import translate
from grader.course.demo import _answers, solved
from grader.course.leaks import scan, solution_lines
from grader.course.release import archive_assignment, archive_name, build_translated_release, language_files
from grader.engine.gradebook import Gradebook, db_url_for
from grader.engine.notebook import load_notebook, nbgrader_meta
from grader.i18n import METADATA_KEY
from grader.layout import ASSIGNMENTS, EXERCISES, REPO, release_folder, release_notebook, source_notebook

EN = "en"


def _same_bytes(cell) -> bool:
    """A cell every language's release must carry unchanged: locked, or graded (tests, written answers)."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("locked") or meta.get("grade"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_statement_is_translated_and_the_catalog_matches_the_source(assignment):
    """No cell without an entry, no untranslated or fuzzy entry, no entry for a cell that is gone."""
    assert translate.problems(assignment, EN) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_locked_and_grade_cells_are_one_assignment_in_both_languages(assignment):
    zh = json.loads(release_notebook(assignment).read_text(encoding="utf-8"))
    en = json.loads(release_notebook(assignment, EN).read_text(encoding="utf-8"))
    assert [c.get("id") for c in en["cells"]] == [c.get("id") for c in zh["cells"]]
    assert [c["cell_type"] for c in en["cells"]] == [c["cell_type"] for c in zh["cells"]]
    for z, e in zip(zh["cells"], en["cells"]):
        assert e["metadata"] == z["metadata"], f"{assignment}: cell {z.get('id')} metadata differs"
    for z, e in zip(zh["cells"], en["cells"]):
        if _same_bytes(z):
            assert json.dumps(e) == json.dumps(z), f"{assignment}: locked/grade cell {nbgrader_meta(z)['grade_id']} differs"
    nbz, nbe = (load_notebook(release_notebook(assignment, language)) for language in ("zh_CN", EN))
    same = [(z, e) for z, e in zip(nbz.cells, nbe.cells) if _same_bytes(z)]
    assert len(same) >= 4
    for z, e in same:
        # nbgrader's own checksum, as its OverwriteCells and autograde compute it
        assert compute_checksum(e) == compute_checksum(z) == nbgrader_meta(z)["checksum"]
    assert zh["metadata"][METADATA_KEY] == {"language": "zh_CN"}
    assert en["metadata"][METADATA_KEY] == {"language": EN}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_english_release_reads_in_english_and_is_up_to_date(assignment, tmp_path):
    en = load_notebook(release_notebook(assignment, EN))
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for cell in en.cells:
        if not _same_bytes(cell):
            assert not cjk.search(cell.source), f"{assignment}: Chinese left in cell {cell.get('id')}: {cell.source[:80]!r}"
    # statements changed the text: the English release differs from the Chinese one where it should
    zh = load_notebook(release_notebook(assignment))
    assert sum(z.source != e.source for z, e in zip(zh.cells, en.cells)) >= 5
    # committed release == what `make exercises` makes from the committed Chinese release and catalog
    shutil.copytree(EXERCISES / assignment, tmp_path / assignment)
    build_translated_release(EN, tmp_path, [assignment])
    fresh = tmp_path / EN / assignment
    committed = release_folder(EN) / assignment
    assert sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()) == \
        sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file()), "run make exercises"
    for path in (p for p in fresh.rglob("*") if p.is_file()):
        assert path.read_bytes() == (committed / path.relative_to(fresh)).read_bytes(), f"{path.name}: run make exercises"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_english_folder_ships_the_chinese_files_and_the_language_files(assignment):
    zh_files = {p.name for p in (EXERCISES / assignment).iterdir() if p.is_file()}
    en_folder = release_folder(EN) / assignment
    en_files = {p.relative_to(en_folder).as_posix() for p in en_folder.rglob("*") if p.is_file()}
    assert en_files == zh_files | set(language_files(EN))
    for name in zh_files - {f"{assignment}.ipynb"}:
        if name not in language_files(EN):
            assert (en_folder / name).read_bytes() == (EXERCISES / assignment / name).read_bytes()


def _neutral(source: str) -> str:
    """The code with every string constant emptied: what the cell computes, whatever language it talks in."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_translated_code_cells_compute_what_the_chinese_ones_do(assignment):
    """Only comments, docstrings and printed labels are translated: the code is the same, solution included."""
    table = translate.translations(assignment, EN)
    nb = load_notebook(source_notebook(assignment))
    code_cells = {c.get("id") for c in nb.cells if c.cell_type == "code"}
    checked = 0
    for s in translate.statements(assignment):
        if s.cell_id in code_cells:
            assert _neutral(table[None, s.text]) == _neutral(s.text), f"{assignment}: cell {s.index} computes something else"
            checked += 1
    assert checked >= 1


def test_a_changed_chinese_cell_comes_back_fuzzy_and_a_new_one_untranslated(tmp_path, monkeypatch):
    """The translator's workflow: edit the Chinese notebook, `translate update`, revise what is flagged."""
    a = "divergence"
    source = tmp_path / f"{a}.ipynb"
    catalog = tmp_path / "locale" / EN / "LC_MESSAGES" / f"{a}.po"
    shutil.copyfile(source_notebook(a), source)
    catalog.parent.mkdir(parents=True)
    shutil.copyfile(translate.statement_catalog(a, EN), catalog)
    monkeypatch.setattr(translate, "source_notebook", lambda name: source)
    monkeypatch.setattr(translate, "statement_catalog", lambda name, language: catalog)
    monkeypatch.setattr(translate, "REPO", tmp_path)
    assert translate.problems(a, EN) == []
    before = catalog.read_bytes()
    translate.update(a, EN)
    assert catalog.read_bytes() == before, "the committed catalog is not what `translate update` writes"

    nb = nbformat.read(source, as_version=4)
    intro = nb.cells[0]
    old_english = translate.translations(a, EN)[None, intro.source]
    intro.source = intro.source.replace("练习 4", "练习 5")
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("这是新加的一段说明。"))
    nbformat.write(nb, source)
    found = " ".join(translate.problems(a, EN))
    assert "cell 0 (intro) has no entry" in found and "has no entry" in found and "matches no cell" in found

    translate.update(a, EN)
    found = translate.problems(a, EN)
    assert any("cell 0 (intro) is fuzzy" in p for p in found), found
    assert any("cell 1 " in p and "untranslated" in p for p in found), found
    assert not any("matches no cell" in p for p in found)
    cat = translate.read_catalog(a, EN)
    assert cat.get(intro.source).string == old_english  # the old translation, offered for revision
    # a fuzzy entry is never used: the release keeps the Chinese until the translator revises it
    assert (None, intro.source) not in translate.translations(a, EN)


def test_nbgrader_sees_only_the_assignments_in_its_source_folder(tmp_path):
    """The catalogs live beside the source notebooks without becoming an assignment in formgrader's list."""
    from grader.engine.gradebook import nbgrader_api

    assert nbgrader_api(tmp_path).get_source_assignments() == set(ASSIGNMENTS)
    assert all(translate.statement_catalog(a, EN).is_file() for a in ASSIGNMENTS)


def test_nbgrader_release_assignment_releases_the_english_folder(tmp_path):
    """`nbgrader release_assignment <a> --CourseDirectory.release_directory=exercises/en` puts the English
    notebook into the exchange, under the same assignment id."""
    a = ASSIGNMENTS[0]
    exchange = tmp_path / "exchange"
    env = {**os.environ, "NUMSTAB_COURSE_ROOT": str(tmp_path / "course")}
    cmd = [str(Path(sys.executable).with_name("nbgrader")), "release_assignment", a, "--course", "numstab",
           f"--Exchange.root={exchange}", f"--CourseDirectory.release_directory={release_folder(EN)}"]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    released = exchange / "numstab" / "outbound" / a / f"{a}.ipynb"
    assert released.read_bytes() == release_notebook(a, EN).read_bytes()


def test_both_languages_archives_pass_the_leak_scan_and_it_covers_the_english_ones(tmp_path):
    out = tmp_path / "exercises"
    for a in ASSIGNMENTS:
        for language in ("zh_CN", EN):
            archive_assignment(a, out / archive_name(a, language), release_folder(language))
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{a}{s}.zip" for a in ASSIGNMENTS for s in ("", ".en"))
    with zipfile.ZipFile(out / f"{ASSIGNMENTS[0]}.en.zip") as z:
        nb = json.loads(z.read(f"{ASSIGNMENTS[0]}/{ASSIGNMENTS[0]}.ipynb"))
    assert nb["metadata"][METADATA_KEY]["language"] == EN
    assert scan(out) == []
    # an English archive with a solution line in it is caught
    a = ASSIGNMENTS[0]
    leaked = tmp_path / "leaked" / f"{a}.en.zip"
    leaked.parent.mkdir()
    line = sorted(solution_lines(a))[0]
    with zipfile.ZipFile(out / f"{a}.en.zip") as src, zipfile.ZipFile(leaked, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith(".ipynb"):
                doc = json.loads(data)
                doc["cells"][-1]["source"] = [line]
                data = json.dumps(doc).encode()
            dst.writestr(name, data)
    assert any("hidden line" in str(leak) for leak in scan(leaked.parent))


def test_the_english_solutions_read_in_english_and_the_leak_scan_knows_their_lines():
    """The instructor's English source: locked and test cells as they are, the solution code the same (its
    comments in English), the written answers' reference texts in English; all of it secret to the leak scan."""
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for a in ASSIGNMENTS:
        en = translate.translate_source(a, EN)
        zh = load_notebook(source_notebook(a))
        assert [c.get("id") for c in en.cells] == [c.get("id") for c in zh.cells]
        assert en.metadata[METADATA_KEY] == {"language": EN}
        for z, e in zip(zh.cells, en.cells):
            assert not cjk.search(e.source), f"{a}: Chinese left in the English solutions: {e.source[:80]!r}"
            meta = nbgrader_meta(z)
            if meta.get("grade") and z.cell_type == "code" or meta.get("locked"):
                assert e.source == z.source
            elif meta.get("grade"):  # a written answer: its reference, translated, still inside its region
                assert e.source != z.source and e.source.startswith("### BEGIN SOLUTION")
        assert any(l.strip() in solution_lines(a) for c in en.cells for l in c.source.splitlines()
                   if nbgrader_meta(c).get("grade") and c.cell_type == "markdown" and len(l) >= 25)
    secrets = solution_lines("symmetry")
    assert any("random initialization: the units start from different points" in l for l in secrets)
    secrets = solution_lines("symmetry")
    assert any("random initialization: the units start from different points" in l for l in secrets)


def _per_part(db_url: str, assignment: str) -> dict[str, dict[str, float]]:
    with Gradebook(db_url) as gb:
        return {s.student.id: {g.name: g.score for nb in s.notebooks for g in nb.grades if g.cell.cell_type == "code"}
                for s in gb.find_assignment(assignment).submissions}


def test_the_same_code_scores_the_same_in_both_languages(tmp_path):
    """Students hand in the Chinese or the English release with the same answers, graded in one run of
    `python -m grader grade`: the same score on every part of every assignment."""
    from grader.course.demo_answers import CODE as OTHER

    course = tmp_path / "course"
    for a in ASSIGNMENTS:
        answers = _answers(load_notebook(source_notebook(a)))
        for language, tag in (("zh_CN", "zh"), (EN, "en")):
            release = load_notebook(release_notebook(a, language))
            for variant, nb in {"right": solved(release, answers), "partial": solved(release, answers, leave_blank=1),
                                "other": solved(release, OTHER[a]), "blank": release}.items():
                folder = course / "submitted" / f"{tag}-{variant}" / a
                folder.mkdir(parents=True)
                nbformat.write(nb, folder / f"{a}.ipynb")
    cmd = [sys.executable, "-m", "grader", "grade", str(course), "--demo", "--workers", "2", "--seed", "7",
           "--no-feedback", "--cell-seconds", "30"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for a in ASSIGNMENTS:
        got = _per_part(db_url_for(course), a)
        for variant in ("right", "partial", "other", "blank"):
            assert got[f"en-{variant}"] == got[f"zh-{variant}"], f"{a}/{variant}: {got[f'en-{variant}']} != {got[f'zh-{variant}']}"
        full, partial = sum(got["zh-right"].values()), sum(got["zh-partial"].values())
        assert full > partial >= 0 and sum(got["zh-blank"].values()) == 0, a
        assert sum(got["zh-other"].values()) == full, a


def test_the_demo_starts_its_grading_over_when_its_gradebook_is_from_another_release(tmp_path):
    """A demo course graded before the release changed (the written answers' stub, say) would count an
    untouched answer as answered; `make demo` drops such a gradebook and the next grade regenerates it."""
    import sqlite3

    from grader.course.demo import build_demo_class
    from grader.engine.gradebook import ensure_gradebook

    course = build_demo_class(tmp_path / "demo")
    assert {p.name for p in (course / "submitted").iterdir()} >= {"alice", "henry"}
    ensure_gradebook(course)
    assert json.loads((course / "submitted" / "henry" / ASSIGNMENTS[0] / f"{ASSIGNMENTS[0]}.ipynb").read_text(
        encoding="utf-8"))["metadata"][METADATA_KEY] == {"language": EN}
    build_demo_class(course)
    assert (course / "gradebook.db").is_file(), "a gradebook of the current release is kept"
    with sqlite3.connect(course / "gradebook.db") as db:
        db.execute("update source_cell set checksum = 'old' where name = 'answer_post_hoc'")
    (course / "autograded").mkdir()
    build_demo_class(course)
    assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()
