"""The leak scan: nothing of a solution region, a hidden check or a reference value in a student artefact.

Used by `make release` (which refuses to ship on a finding) and by the tests on `exercises/`.
"""
from __future__ import annotations

import functools
import html
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.layout import ASSIGNMENTS, BOOK, checks_of, shipped_files, source_notebook
from grader.engine.notebook import load_notebook

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "grader.engine",
           "from grader")
TEXT_SUFFIXES = {".ipynb", ".py", ".html", ".js", ".txt", ".md", ".json", ".csv", ".inv"}


@dataclass(frozen=True)
class Leak:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def _sources(assignment: str):
    """The source notebook in every language: the Chinese one and its translations (the English
    solutions carry their comments in English, which must not leak either)."""
    from grader.course.translate import TARGETS, translate_source

    yield load_notebook(source_notebook(assignment))
    for language in TARGETS:
        yield translate_source(assignment, language)


def _split_source(assignment: str) -> tuple[set[str], set[str]]:
    """(lines inside solution/hidden regions, lines outside them) of the source notebook, in every language."""
    inside_lines, outside_lines, inside = set(), set(), False
    for cell in (c for nb in _sources(assignment) for c in nb.cells):
        for line in cell.source.splitlines():
            if re.search(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)", line):
                inside = "BEGIN" in line
                continue
            (inside_lines if inside else outside_lines).add(line.strip())
    return inside_lines, outside_lines


def public_lines(assignment: str) -> set[str]:
    """Lines published on purpose: the notebook outside its regions, the public checks, selfcheck, the book
    (its Chinese source and every translation of it)."""
    files = [*shipped_files(assignment).values(), *sorted(BOOK.glob("*.md")), BOOK / "stability.py"]
    lines = _split_source(assignment)[1] | book_translation_lines()
    for path in files:
        if path.is_file():
            lines |= {l.strip() for l in path.read_text(encoding="utf-8").splitlines()}
    return lines


def book_translation_lines() -> set[str]:
    """The lines of the book's translations (``book/locale/<lang>/LC_MESSAGES/*.po``): the English
    edition's text and code, published as the Chinese source is."""
    from babel.messages.pofile import read_po

    lines = set()
    for path in sorted(BOOK.glob("locale/*/LC_MESSAGES/*.po")):
        with open(path, "rb") as f:
            for message in read_po(f):
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                lines |= {l.strip() for s in strings if s for l in s.splitlines()}
    return lines


def solution_lines(assignment: str) -> set[str]:
    """Distinctive lines inside the solution and hidden-test regions of the source notebook."""
    return {l for l in _split_source(assignment)[0] if len(l) >= 25} - public_lines(assignment)


def instructor_files(assignment: str) -> list[Path]:
    """The hidden checks, references and hints of an assignment: every file of its checks that does not ship."""
    shipped = set(shipped_files(assignment)) | {"__init__.py"}
    return sorted(p for p in checks_of(assignment).glob("*.py") if p.name not in shipped)


def hidden_lines(assignment: str) -> set[str]:
    """Distinctive lines of the hidden checks, references and hints that nothing public also contains."""
    out = set()
    for path in instructor_files(assignment):
        out |= {l.strip() for l in path.read_text(encoding="utf-8").splitlines()
                if len(l.strip()) >= 30 and not l.strip().startswith(("import ", "from ", "#", '"""', "def test_"))}
    return out - public_lines(assignment)


def secrets(assignments=ASSIGNMENTS) -> set[str]:
    """Hidden lines of every assignment, less any line that one of them publishes on purpose."""
    found, published = set(), set()
    for a in assignments:
        found |= solution_lines(a) | hidden_lines(a)
        published |= public_lines(a)
    return found - published


def _texts(root: Path):
    """(name, text) of every text file under ``root`` (or ``root`` itself), zip members included."""
    root = Path(root)
    for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                for member in z.namelist():
                    if Path(member).suffix in TEXT_SUFFIXES:
                        yield f"{path}!{member}", z.read(member).decode("utf-8", errors="replace")
        elif path.suffix in TEXT_SUFFIXES:
            yield str(path), path.read_text(encoding="utf-8", errors="replace")
        elif path.suffix == ".pdf":
            yield str(path), _pdf_text(path)


def _pdf_text(path: Path) -> str:
    """A printed book's text, page by page (pypdf keeps the printed lines, so a code line stays a line)."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def _lines(name: str, text: str) -> set[str]:
    """The stripped lines a reader sees: notebook cell sources and outputs, HTML without its tags."""
    if name.endswith(".ipynb"):
        try:
            cells = json.loads(text).get("cells", [])
        except (ValueError, AttributeError):
            cells = []
        parts = []
        for cell in cells:
            parts.append("".join(cell.get("source", "")))
            for out in cell.get("outputs", []):
                parts.append("".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", "")))
        text = "\n".join(parts)
    elif name.endswith(".html"):
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return {line.strip() for line in text.splitlines()}


@functools.cache
def hidden_messages() -> frozenset[str]:
    """The messages of the hidden checks and their hints, in every language (the instructor domain's
    entries from grader/checks/ that the shipped domain does not also hold): never in a student artefact."""
    from grader import i18n

    out = set()
    for language in i18n.LANGUAGES:
        if language == i18n.SOURCE_LANGUAGE:
            continue
        shipped = {s for m in i18n.read_catalog(i18n.SHIPPED_DOMAIN, language) for s in (m.id, m.string) if s}
        for m in i18n.read_catalog(i18n.INSTRUCTOR_DOMAIN, language):
            if m.id and m.locations and all(path.startswith("grader/checks/") for path, _line in m.locations):
                out |= {s for s in (m.id, m.string) if s and s not in shipped}
    return frozenset(out)


def _catalogs(root: Path):
    """(name, bytes) of every compiled gettext catalog (.mo) under ``root``, zip members included."""
    root = Path(root)
    for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                for member in z.namelist():
                    if member.endswith(".mo"):
                        yield f"{path}!{member}", z.read(member)
        elif path.suffix == ".mo":
            yield str(path), path.read_bytes()


def catalog_leaks(root: Path) -> list[Leak]:
    """A compiled catalog that holds a hidden check's message or a hidden hint (either language)."""
    from babel.messages.mofile import read_mo

    leaks = []
    for name, data in _catalogs(root):
        try:
            entries = read_mo(io.BytesIO(data))
        except Exception:  # whatever a corrupt file makes the reader raise: it cannot be vouched for
            leaks.append(Leak(name, "not a readable gettext catalog"))
            continue
        strings = {s for m in entries for part in (m.id, m.string) for s in
                   (part if isinstance(part, (tuple, list)) else [part]) if isinstance(s, str) and s}
        for message in sorted(strings & hidden_messages()):
            leaks.append(Leak(name, f"hidden message {message[:60]!r}"))
    return leaks


def scan(root: Path, assignments=ASSIGNMENTS) -> list[Leak]:
    """Every leak under ``root`` (folders, files, zip members); empty when the artefact is clean."""
    needles = secrets(assignments)
    published = "\n".join(set().union(*(public_lines(a) for a in assignments)))
    # what a public file also says (in part) is no secret; shorter ones could be said in public by chance
    messages = sorted(m for m in hidden_messages() if len(m) >= 25 and m not in published)
    hidden_files = {p.name for a in assignments for p in instructor_files(a)}
    leaks = []
    for path in [Path(root), *Path(root).rglob("*")]:
        if path.name in hidden_files or (path.suffix == ".ipynb" and "solutions" in path.parts):
            leaks.append(Leak(str(path), "instructor-only file"))
    for name, text in _texts(root):
        for marker in MARKERS:
            if marker in text:
                leaks.append(Leak(name, f"marker {marker!r}"))
        lines = _lines(name, text)
        for line in sorted(needles & lines):
            leaks.append(Leak(name, f"hidden line {line[:60]!r}"))
        seen = "\n".join(lines)
        for message in messages:
            if message in seen:
                leaks.append(Leak(name, f"hidden message {message[:60]!r}"))
    return leaks + catalog_leaks(root)


def _hint_tables(assignment: str) -> dict[str, dict[str, str]]:
    """file name -> the HINTS table it defines (shipped book_sections.py, hidden hints.py)."""
    from grader.engine.sections import tables

    return {f"grader/checks/{assignment}/{m.__name__.rsplit('.', 1)[1]}.py": getattr(m, "HINTS", {})
            for m in tables(assignment)}


NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?")


def hint_leaks(assignments=ASSIGNMENTS) -> list[Leak]:
    """Hints that give something away: a number that nothing public states (a hidden input or an expected
    value), or a line of a solution, hidden check or reference.  Hints reach students (the public ones in
    every release, the hidden ones in feedback), so every one of them is scanned, in every language."""
    from grader import i18n

    leaks = []
    for a in assignments:
        published = " ".join(public_lines(a))
        public_numbers = set(NUMBER.findall(published))
        hidden = {l for l in solution_lines(a) | hidden_lines(a) if len(l) >= 25}
        for where, table in _hint_tables(a).items():
            for key, source in table.items():
                for language in i18n.LANGUAGES:
                    hint, shown = i18n._in(language, source), f"{where} [{key}]" + (
                        f" ({language})" if language != i18n.SOURCE_LANGUAGE else "")
                    if language != i18n.SOURCE_LANGUAGE and hint == source:  # untranslated: scanned already
                        continue
                    for number in sorted(set(NUMBER.findall(hint)) - public_numbers):
                        leaks.append(Leak(shown, f"number {number} is not stated anywhere public"))
                    for line in sorted(l for l in hidden if l in hint and l not in published):
                        leaks.append(Leak(shown, f"hidden line {line[:60]!r}"))
    return leaks
