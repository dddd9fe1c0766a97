"""`make release` in both editions, for real: what each contains, and the leak scan that guards it."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.layout import ASSIGNMENTS, REPO, shipped_files
from grader.course.leaks import scan, solution_lines
from grader.course.release import build_release, language_files, pdf_name
from grader.i18n import LANGUAGES, SOURCE_LANGUAGE



@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist")
    for edition in ("student", "instructor"):
        assert build_release(edition, root) == [], f"{edition} release has leaks"
    return root


def test_student_archives_hold_the_release_and_nothing_else(dist):
    """Both languages: <a>.zip is exercises/<a>/, <a>.en.zip is exercises/en/<a>/ (with the English messages' files)."""
    for a in ASSIGNMENTS:
        for archive, folder, extra in ((f"{a}.zip", REPO / "exercises" / a, []),
                                       (f"{a}.en.zip", REPO / "exercises" / "en" / a, list(language_files("en")))):
            with zipfile.ZipFile(dist / "student" / "exercises" / archive) as z:
                assert sorted(z.namelist()) == sorted(f"{a}/{n}" for n in [f"{a}.ipynb", *shipped_files(a), *extra])
                assert z.read(f"{a}/{a}.ipynb") == (folder / f"{a}.ipynb").read_bytes()


#: per book language: the exercises section's heading and the folded solutions' summary
EXERCISES_HEADING = {"zh_CN": "练习", "en": "Exercises"}
SOLUTION = {"zh_CN": "参考答案", "en": "Solution"}
SECTION = {"zh_CN": "梯度消失和梯度爆炸", "en": "Vanishing and Exploding Gradients"}


def _page(book: Path, language: str) -> str:
    return (book / language / "numerical-stability.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", LANGUAGES)
def test_student_book_has_statements_and_no_solution_text(dist, language):
    book = dist / "student" / "book"
    html = _page(book, language)
    assert EXERCISES_HEADING[language] in html and "exercise-solution" not in html
    assert SOLUTION[language] not in html
    for a in ASSIGNMENTS:
        assert f'href="exercises/{a}.zip"' in html and (book / language / "exercises" / f"{a}.zip").is_file()
        assert all(line not in html for line in solution_lines(a))
    assert scan(book / language) == [] and scan(dist / "student" / "book-student.zip") == []
    assert not (dist / "student" / "solutions").exists()
    assert not (book / "jupyter_execute").exists()  # myst-nb's scratch copies stay out of the release
    assert f"url={SOURCE_LANGUAGE}/index.html" in (book / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", LANGUAGES)
def test_instructor_book_folds_the_solutions_and_ships_the_sources(dist, language):
    out = dist / "instructor"
    html = _page(out / "book", language)
    assert html.count('<details class="exercise-solution">') == len(ASSIGNMENTS)
    assert html.count(f"<summary>{SOLUTION[language]}: ") == len(ASSIGNMENTS)
    assert "BEGIN SOLUTION" in html
    for a in ASSIGNMENTS:
        assert (out / "solutions" / a / f"{a}.ipynb").read_bytes() == (REPO / "solutions" / a / f"{a}.ipynb").read_bytes()
        english = (out / "solutions" / a / f"{a}.en.ipynb").read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" in english and '"language": "en"' in english


@pytest.mark.parametrize("language", LANGUAGES)
def test_both_editions_ship_the_pdf_and_only_the_instructors_has_solutions(dist, language):
    from pypdf import PdfReader

    texts = {}
    for edition in ("student", "instructor"):
        reader = PdfReader(dist / edition / pdf_name(language))
        assert len(reader.pages) >= 8
        texts[edition] = "".join(page.extract_text() for page in reader.pages)
        assert SECTION[language] in texts[edition]
    assert SOLUTION[language] not in texts["student"] and "BEGIN SOLUTION" not in texts["student"]
    assert texts["instructor"].count(f"{SOLUTION[language]}: ") == len(ASSIGNMENTS)  # folded open for print
    assert "BEGIN SOLUTION" in texts["instructor"]


def test_a_planted_leak_makes_make_release_refuse(tmp_path):
    # plant a line of another assignment's solution into a shipped file, then release for real
    shipped = REPO / "exercises" / "symmetry" / "public_checks.py"
    original = shipped.read_bytes()
    planted = next(l for l in sorted(solution_lines("divergence")) if "\\" not in l and "'" not in l)
    try:
        shipped.write_text(original.decode() + "\n" + planted + "\n", encoding="utf-8")
        run = subprocess.run([sys.executable, "-m", "grader.course.release", "--edition", "student", "--dist", str(tmp_path)],
                             cwd=REPO, capture_output=True, text=True, timeout=900)
    finally:
        shipped.write_bytes(original)
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]
    assert "release refused" in run.stdout and "symmetry.zip" in run.stdout and planted[:40] in run.stdout
    findings = run.stdout.strip().splitlines()[1:]
    # the archive itself and its copy each book offers for download that hands out this (Chinese)
    # release (an edition with its own release, exercises/<lang>/, ships that one); nothing else
    books = [language for language in LANGUAGES
             if language == SOURCE_LANGUAGE or not (REPO / "exercises" / language / "symmetry" / "symmetry.ipynb").is_file()]
    assert len(findings) == 1 + len(books), findings
    assert all("symmetry.zip!symmetry/public_checks.py" in f for f in findings), findings
    assert all(any(f"/book/{language}/exercises/symmetry.zip!" in f for f in findings) for language in books), findings
