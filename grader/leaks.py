"""The leak scan: nothing of a solution region, a hidden check or a reference value in a student artefact.

Used by `make release` (which refuses to ship on a finding) and by the tests on `exercises/`.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader import ASSIGNMENTS
from grader.cells import load_notebook

REPO = Path(__file__).resolve().parents[1]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "grader.notebook",
           "from grader")
TEXT_SUFFIXES = {".ipynb", ".py", ".html", ".js", ".txt", ".md", ".json", ".csv", ".inv"}


@dataclass(frozen=True)
class Leak:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def solution_lines(assignment: str) -> set[str]:
    """Non-trivial lines inside the solution and hidden-test regions of the source notebook."""
    nb = load_notebook(REPO / "solutions" / assignment / f"{assignment}.ipynb")
    lines, inside = set(), False
    for cell in nb.cells:
        for line in cell.source.splitlines():
            if re.search(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)", line):
                inside = "BEGIN" in line
                continue
            if inside and len(line.strip()) >= 25:
                lines.add(line.strip())
    return lines


def hidden_lines(assignment: str) -> set[str]:
    """Distinctive lines of the hidden checks and references (imports, docstrings and comments aside)."""
    out = set()
    for path in (REPO / "grader" / assignment).glob("*.py"):
        if path.name in ("public_checks.py", "__init__.py"):
            continue
        out |= {l.strip() for l in path.read_text(encoding="utf-8").splitlines()
                if len(l.strip()) >= 30 and not l.strip().startswith(("import ", "from ", "#", '"""', "def test_"))}
    return out


def secrets(assignments=ASSIGNMENTS) -> set[str]:
    found = set()
    for a in assignments:
        found |= solution_lines(a) | hidden_lines(a)
    return found


def _texts(root: Path):
    """(name, text) of every text file under ``root``, including the members of zip archives."""
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                for member in z.namelist():
                    if Path(member).suffix in TEXT_SUFFIXES:
                        yield f"{path}!{member}", z.read(member).decode("utf-8", errors="replace")
        elif path.suffix in TEXT_SUFFIXES:
            yield str(path), path.read_text(encoding="utf-8", errors="replace")


def scan(root: Path, assignments=ASSIGNMENTS) -> list[Leak]:
    """Every leak under ``root`` (folders, files, zip members); empty when the artefact is clean."""
    needles = secrets(assignments)
    hidden_files = {p.name for a in assignments for p in (REPO / "grader" / a).glob("*.py")
                    if p.name not in ("public_checks.py", "__init__.py")}
    leaks = []
    for path in Path(root).rglob("*"):
        if path.name in hidden_files or (path.suffix == ".ipynb" and "solutions" in path.parts):
            leaks.append(Leak(str(path), "instructor-only file"))
    for name, text in _texts(root):
        for marker in MARKERS:
            if marker in text:
                leaks.append(Leak(name, f"marker {marker!r}"))
        for line in needles:
            if line in text:
                leaks.append(Leak(name, f"hidden line {line[:60]!r}"))
    return leaks
