"""What students and instructors get.

``build_exercises`` (`make exercises`): nbgrader's generate_assignment from `solutions/` into
`exercises/` (the Chinese release), after copying the files the public checks need into each source
folder; then the same release in every other language, `exercises/<language>/` (the statements'
catalogs applied to its unlocked cells, :mod:`grader.course.translate`).  ``build_release`` (`make
release`): the archives (`<a>.zip`, `<a>.<language>.zip`) and the book of one edition into `dist/`,
refused when the leak scan finds anything hidden in a student artefact.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat

from grader import i18n
from grader.i18n import LANGUAGES, SOURCE_LANGUAGE
from grader.layout import (ASSIGNMENTS, BOOK, BUILD, DIST, EXERCISES, REPO, SOLUTIONS, release_folder, shipped_files,
                           source_notebook)

EDITIONS = ("student", "instructor")
# zip entries carry this date, so an unchanged release is byte-identical
_EPOCH = (2020, 1, 1, 0, 0, 0)


def sync_source_files(assignments=ASSIGNMENTS) -> list[Path]:
    """Copy the shipped files (``selfcheck.py``, ``public_checks.py``, ``book_sections.py``) into nbgrader's source folders.

    nbgrader's ``generate_assignment`` releases every file of ``solutions/<a>/``, so with these copies in
    place the plain nbgrader command gives a release whose first cell runs.  Their one source is
    ``grader/``; a test fails when a copy drifts.  Returns the files that changed.
    """
    changed = []
    for a in assignments:
        for name, src in shipped_files(a).items():
            target = SOLUTIONS / a / name
            if not target.is_file() or target.read_bytes() != src.read_bytes():
                shutil.copyfile(src, target)
                changed.append(target)
    return changed


def build_exercises(release_dir: Path = EXERCISES, course_root: Path = BUILD / "instructor",
                    assignments=ASSIGNMENTS) -> Path:
    """`make exercises`: the shipped files into ``solutions/``, then nbgrader's generate_assignment."""
    from grader.engine import nbgrader_tuning
    from grader.engine.gradebook import generate, nbgrader_api

    nbgrader_tuning.install()
    sync_source_files(assignments)
    release_dir = Path(release_dir).resolve()
    api = nbgrader_api(course_root, release_dir)
    for a in assignments:
        generate(api, a)
    for language in i18n.LANGUAGES:
        if language != i18n.SOURCE_LANGUAGE:
            build_translated_release(language, release_dir, assignments)
    return release_dir


def language_files(language: str) -> dict[str, Path | bytes]:
    """What a release in ``language`` carries beside the source language's files so that its messages
    follow it (grader.i18n provides it once the messages are translated; nothing until then)."""
    provide = getattr(i18n, "shipped_language_files", None)
    return dict(provide(language)) if provide is not None else {}


def build_translated_release(language: str, release_dir: Path = EXERCISES, assignments=ASSIGNMENTS) -> Path:
    """``<release_dir>/<language>/<a>/``: the source language's release with ``language``'s statements in
    its unlocked cells, the same locked and grade cells, and the same files beside it.

    nbgrader sees it as the same assignment (same cell ids, grade ids and checksums), so a class may be
    released from it (``nbgrader release_assignment <a> --CourseDirectory.release_directory=exercises/en``)
    and graded into the same gradebook."""
    from grader.course.translate import problems, translate_release
    from grader.engine.notebook import load_notebook

    out = Path(release_dir) / language
    extra = language_files(language)
    for a in assignments:
        for line in problems(a, language):
            print(f"exercises ({language}): {line}", file=sys.stderr)
        source, target = Path(release_dir) / a, out / a
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        nbformat.write(translate_release(load_notebook(source / f"{a}.ipynb"), a, language), target / f"{a}.ipynb")
        for name, content in extra.items():
            dest = target / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                dest.write_bytes(content)
            else:
                shutil.copyfile(content, dest)
    return out


def archive_assignment(assignment: str, target: Path, release_dir: Path = EXERCISES) -> Path:
    """``<assignment>.zip``: the release folder as the student unpacks it, ``<assignment>/...``."""
    folder = Path(release_dir) / assignment
    if not (folder / f"{assignment}.ipynb").is_file():
        raise FileNotFoundError(f"{folder}: no released notebook; run `make exercises`")
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{assignment}/{path.relative_to(folder).as_posix()}", _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
    return target


def archive_name(assignment: str, language: str) -> str:
    """``<a>.zip`` in the source language, ``<a>.<language>.zip`` in any other."""
    return f"{assignment}.zip" if language == i18n.SOURCE_LANGUAGE else f"{assignment}.{language}.zip"


def _zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            z.write(path, path.relative_to(folder.parent))
    return target


def build_book(edition: str, out: Path) -> Path:
    """The HTML book of one edition in every language, ``out/<lang>/`` (``out/index.html`` leads to
    the Chinese one); the instructor edition folds solutions under each exercise."""
    for language in LANGUAGES:
        cmd = [sys.executable, "-m", "sphinx", "-c", str(REPO), "-W", "--keep-going", "-q",
               "-D", f"language={language}", "-b", "html",
               "-d", str(BUILD / f"doctrees-{edition}-{language}"), str(BOOK), str(Path(out) / language)]
        if edition == "instructor":
            cmd[3:3] = ["-t", "instructor"]
        subprocess.run(cmd, check=True, cwd=REPO)
    shutil.rmtree(Path(out) / "jupyter_execute", ignore_errors=True)  # myst-nb's scratch copies beside the books
    return out


def build_pdf(edition: str, out: Path) -> list[Path]:
    """The PDF of one edition in every language (``make pdf``'s builder: headless Chromium prints the
    whole book): ``numerical-stability.pdf`` (Chinese), ``numerical-stability.en.pdf``."""
    pdfs = []
    for language in LANGUAGES:
        cmd = [sys.executable, "-m", "sphinx", "-c", str(REPO), "-W", "--keep-going", "-q",
               "-D", f"language={language}", "-b", "pdfhtml",
               "-d", str(BUILD / f"doctrees-pdf-{edition}-{language}"), "-D", f"pdf_dir={out}",
               str(BOOK), str(BUILD / f"pdfhtml-{edition}" / language)]
        if edition == "instructor":
            cmd[3:3] = ["-t", "instructor"]
        subprocess.run(cmd, check=True, cwd=REPO)
        pdfs.append(Path(out) / pdf_name(language))
        if not pdfs[-1].is_file():
            raise FileNotFoundError(f"{pdfs[-1]}: the pdfhtml build ({language}) printed no PDF")
    return pdfs


def pdf_name(language: str) -> str:
    """``numerical-stability.pdf`` for Chinese, ``numerical-stability.<lang>.pdf`` for the others
    (``pdf_basename`` in conf.py; the pdfhtml builder adds the suffix)."""
    return f"numerical-stability{'' if language == SOURCE_LANGUAGE else '.' + language}.pdf"


def build_release(edition: str, dist: Path = DIST) -> list[str]:
    """Build ``dist/<edition>/``; returns the leak scan's findings (empty when the release is clean)."""
    from grader.course.leaks import hint_leaks, scan

    if edition not in EDITIONS:
        raise ValueError(f"EDITION must be one of {', '.join(EDITIONS)}, not {edition!r}")
    out = Path(dist) / edition
    if out.exists():
        shutil.rmtree(out)
    for a in ASSIGNMENTS:
        for language in i18n.LANGUAGES:
            archive_assignment(a, out / "exercises" / archive_name(a, language), release_folder(language))
    book = build_book(edition, out / "book")
    _zip_folder(book, out / f"book-{edition}.zip")
    pdfs = build_pdf(edition, out)
    # every language's book is scanned, each on its own (a finding names the edition it is in)
    student_artefacts = [out / "exercises"] + ([*(book / language for language in LANGUAGES),
                                                out / f"book-{edition}.zip", *pdfs]
                                               if edition == "student" else [])
    if edition == "instructor":
        for a in ASSIGNMENTS:
            target = out / "solutions" / a
            target.mkdir(parents=True)
            shutil.copyfile(source_notebook(a), target / f"{a}.ipynb")
            for language in i18n.LANGUAGES:
                if language != i18n.SOURCE_LANGUAGE:
                    from grader.course.translate import translate_source

                    nbformat.write(translate_source(a, language), target / f"{a}.{language}.ipynb")
    return [str(leak) for artefact in student_artefacts for leak in scan(artefact)] + [str(l) for l in hint_leaks()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.course.release")
    parser.add_argument("--edition", default="student", choices=EDITIONS)
    parser.add_argument("--dist", default=str(DIST))
    args = parser.parse_args(argv)
    findings = build_release(args.edition, Path(args.dist))
    if findings:
        print("release refused: hidden material in a student artefact:")
        for line in findings:
            print("  " + line)
        return 1
    print(f"release ({args.edition}) in {Path(args.dist) / args.edition}; leak scan clean")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
