"""What students and instructors get.

``build_exercises`` (`make exercises`): nbgrader's generate_assignment from `solutions/` into
`exercises/`, plus the two files the public checks need.  ``build_release`` (`make release`): the
archives and the book of one edition into `dist/`, refused when the leak scan finds anything hidden
in a student artefact.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from grader import ASSIGNMENTS

REPO = Path(__file__).resolve().parents[1]
EDITIONS = ("student", "instructor")
# zip entries carry this date, so an unchanged release is byte-identical
_EPOCH = (2020, 1, 1, 0, 0, 0)


def public_files(assignment: str) -> dict[str, Path]:
    """Release name -> source of every file shipped beside the notebook."""
    return {"selfcheck.py": REPO / "grader" / "selfcheck.py",
            "public_checks.py": REPO / "grader" / assignment / "public_checks.py"}


def build_exercises(release_dir: Path = REPO / "exercises", course_root: Path = REPO / "_build" / "instructor",
                    assignments=ASSIGNMENTS) -> Path:
    from grader.setup_course import generate, nbgrader_api

    release_dir = Path(release_dir).resolve()
    api = nbgrader_api(course_root, release_dir)
    for a in assignments:
        generate(api, a)
        for name, src in public_files(a).items():
            shutil.copyfile(src, release_dir / a / name)
    return release_dir


def archive_assignment(assignment: str, target: Path, release_dir: Path = REPO / "exercises") -> Path:
    """``<assignment>.zip``: the release folder as the student unpacks it, ``<assignment>/...``."""
    folder = Path(release_dir) / assignment
    if not (folder / f"{assignment}.ipynb").is_file():
        raise FileNotFoundError(f"{folder}: no released notebook; run `make exercises`")
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            info = zipfile.ZipInfo(f"{assignment}/{path.name}", _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
    return target


def _zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            z.write(path, path.relative_to(folder.parent))
    return target


def build_book(edition: str, out: Path) -> Path:
    """The HTML book of one edition; the instructor one folds solutions under each exercise."""
    cmd = [sys.executable, "-m", "sphinx", "-c", str(REPO), "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(REPO / "_build" / f"doctrees-{edition}"), str(REPO / "book"), str(out)]
    if edition == "instructor":
        cmd[3:3] = ["-t", "instructor"]
    subprocess.run(cmd, check=True, cwd=REPO)
    return out


def build_pdf(edition: str, out: Path) -> Path:
    """The PDF of one edition (``make pdf``'s builder: headless Chromium prints the whole book)."""
    cmd = [sys.executable, "-m", "sphinx", "-c", str(REPO), "-W", "--keep-going", "-q", "-b", "pdfhtml",
           "-d", str(REPO / "_build" / f"doctrees-pdf-{edition}"), "-D", f"pdf_dir={out}",
           str(REPO / "book"), str(REPO / "_build" / f"pdfhtml-{edition}")]
    if edition == "instructor":
        cmd[3:3] = ["-t", "instructor"]
    subprocess.run(cmd, check=True, cwd=REPO)
    return next(Path(out).glob("*.pdf"))


def build_release(edition: str, dist: Path = REPO / "dist") -> list[str]:
    """Build ``dist/<edition>/``; returns the leak scan's findings (empty when the release is clean)."""
    from grader.leaks import scan

    if edition not in EDITIONS:
        raise ValueError(f"EDITION must be one of {', '.join(EDITIONS)}, not {edition!r}")
    out = Path(dist) / edition
    if out.exists():
        shutil.rmtree(out)
    for a in ASSIGNMENTS:
        archive_assignment(a, out / "exercises" / f"{a}.zip")
    book = build_book(edition, out / "book")
    shutil.rmtree(out / "jupyter_execute", ignore_errors=True)  # myst-nb's scratch copy beside the book
    _zip_folder(book, out / f"book-{edition}.zip")
    pdf = build_pdf(edition, out)
    student_artefacts = [out / "exercises"] + ([book, out / f"book-{edition}.zip", pdf] if edition == "student" else [])
    if edition == "instructor":
        for a in ASSIGNMENTS:
            target = out / "solutions" / a
            target.mkdir(parents=True)
            shutil.copyfile(REPO / "solutions" / a / f"{a}.ipynb", target / f"{a}.ipynb")
    return [str(leak) for artefact in student_artefacts for leak in scan(artefact)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.release")
    parser.add_argument("--edition", default="student", choices=EDITIONS)
    parser.add_argument("--dist", default=str(REPO / "dist"))
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
