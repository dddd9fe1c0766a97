"""The exercise statements in every language from one source: gettext catalogs over notebook cells.

Chinese stays the source (``solutions/<a>/<a>.ipynb``).  A message is one whole cell: every markdown cell
but a written answer (those are grade cells), and every unlocked code cell with Chinese in it (the "see
for yourself" cells, the solution cells' signatures and docstrings); nbgrader's code stub is one more,
and so is each written answer's reference text (msgctxt "reference answer"), which only the instructor's
translated source uses: the released answer cell is nbgrader's stub, the same in every language.
The translation of ``<a>`` into ``<language>`` lives in ``solutions/.locale/<language>/LC_MESSAGES/<a>.po``
(read and written through Babel), instructor side, never shipped.

Locked and grade cells are never translated in a release: they keep the same bytes, nbgrader metadata and checksums in
every language, so nbgrader's gradebook, ``OverwriteCells`` and the hidden checks see one assignment
whichever language a student submits.  ``python -m grader.course.translate update`` brings the catalogs
up to date after the Chinese notebook changes (a changed cell comes back fuzzy, with its old
translation to revise); ``python -m grader.course.translate check`` lists what is left to translate.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from grader.engine.notebook import load_notebook, nbgrader_meta
from grader.i18n import LANGUAGES, METADATA_KEY, SOURCE_LANGUAGE
from grader.layout import ASSIGNMENTS, REPO, source_notebook, statement_catalog

TARGETS = tuple(l for l in LANGUAGES if l != SOURCE_LANGUAGE)
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
STUB_CONTEXT = "nbgrader code stub"  # msgctxt of ClearSolutions.code_stub, the one message that is no cell
ANSWER_CONTEXT = "reference answer"  # msgctxt of a written answer's reference text (the instructor's copy only)


@dataclass(frozen=True)
class Statement:
    """One message: a cell of the source notebook (``cell_id`` None for the code stub)."""
    text: str
    cell_id: str | None = None
    index: int = 0
    grade_id: str | None = None
    context: str | None = None


def translatable(cell) -> bool:
    """A cell whose text may differ between languages: never a locked or a grade cell."""
    meta = nbgrader_meta(cell)
    if meta.get("locked") or meta.get("grade"):
        return False
    return cell.cell_type == "markdown" or (cell.cell_type == "code" and bool(CJK.search(cell.source)))


def _reference_answer(cell) -> bool:
    """A written answer's cell: a grade cell, the same bytes in every release (its stub), but its reference
    answer in the instructor's source reads in the instructor's language."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def _solution_code(cell) -> bool:
    """A code cell the student writes in (its stub is a message even where its text is not)."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("solution")) and not meta.get("grade") and not meta.get("locked")


def code_stub() -> str:
    from grader.engine.gradebook import repo_config

    return repo_config().ClearSolutions.code_stub["python"]


def statements(assignment: str) -> list[Statement]:
    """The messages of ``assignment``, in notebook order, the code stub last."""
    nb = load_notebook(source_notebook(assignment))
    found = [Statement(c.source, c.get("id"), i, nbgrader_meta(c).get("grade_id"),
                       ANSWER_CONTEXT if _reference_answer(c) else None)
             for i, c in enumerate(nb.cells) if (translatable(c) or _reference_answer(c)) and c.source.strip()]
    return found + [Statement(code_stub(), context=STUB_CONTEXT)]


def template(assignment: str, language: str) -> Catalog:
    """The catalog the source notebook calls for now, every translation empty."""
    cat = Catalog(locale=language.replace("-", "_"), domain=assignment, project="numstab exercises",
                  msgid_bugs_address="", copyright_holder="", fuzzy=False,
                  header_comment=f"# The statements of the exercise {assignment} ({source_notebook(assignment).name}),\n"
                                 f"# one message per cell.  Update with: python -m grader.course.translate update")
    rel = source_notebook(assignment).name
    for s in statements(assignment):
        comments = [] if s.cell_id is None else [f"cell {s.cell_id}" + (f" ({s.grade_id})" if s.grade_id else "")]
        cat.add(s.text, locations=[(rel, s.index)] if s.cell_id else [("nbgrader_config.py", 0)],
                auto_comments=comments, context=s.context)
    return cat


def read_catalog(assignment: str, language: str) -> Catalog | None:
    path = statement_catalog(assignment, language)
    if not path.is_file():
        return None
    with path.open("rb") as f:
        return read_po(f, locale=language)


def write_catalog(cat: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, cat, width=100, omit_header=False, ignore_obsolete=True, sort_output=False)


def update(assignment: str, language: str) -> Path:
    """Bring ``assignment``'s catalog in line with the source notebook (Babel's ``update``: new cells come
    in untranslated, a changed cell fuzzy with the translation of the text it replaced)."""
    path = statement_catalog(assignment, language)
    cat = read_catalog(assignment, language)
    tmpl = template(assignment, language)
    if cat is None:
        cat = tmpl
    else:
        tmpl.creation_date = cat.creation_date  # an unchanged source leaves the catalog unchanged, byte for byte
        cat.update(tmpl, no_fuzzy_matching=False, update_header_comment=False)
    write_catalog(cat, path)
    return path


def translations(assignment: str, language: str) -> dict[tuple[str | None, str], str]:
    """(context, source text) -> translation, for the finished messages only (fuzzy ones are not)."""
    cat = read_catalog(assignment, language)
    if cat is None:
        return {}
    return {(m.context, m.id): m.string for m in cat if m.id and m.string and not m.fuzzy}


def problems(assignment: str, language: str) -> list[str]:
    """What stops ``assignment`` from reading wholly in ``language``: a cell without an entry, an entry
    untranslated or fuzzy, an entry no cell has any more."""
    cat = read_catalog(assignment, language)
    where = statement_catalog(assignment, language).relative_to(REPO)
    if cat is None:
        return [f"{where}: missing (python -m grader.course.translate update)"]
    wanted = {(s.context, s.text): s for s in statements(assignment)}
    out = []
    for key, s in wanted.items():
        m = cat.get(key[1], context=key[0])
        label = "the code stub" if s.cell_id is None else f"cell {s.index} ({s.grade_id or s.cell_id})"
        if m is None:
            out.append(f"{where}: {label} has no entry (python -m grader.course.translate update)")
        elif m.fuzzy:
            out.append(f"{where}: {label} is fuzzy (its Chinese changed: revise the translation, drop the flag)")
        elif not m.string:
            out.append(f"{where}: {label} is untranslated")
    for m in cat:
        if m.id and (m.context, m.id) not in wanted:
            out.append(f"{where}: an entry matches no cell any more: {m.id[:50]!r}")
    return out


def _cleared(source: str, stub: str) -> str:
    """``source`` with its solution regions replaced by ``stub``, as nbgrader's generate_assignment does."""
    from nbgrader.preprocessors import ClearSolutions

    cell = nbformat.v4.new_code_cell(source)
    ClearSolutions(code_stub={"python": stub})._replace_solution_region(cell, "python")
    return cell.source


def translate_source(assignment: str, language: str):
    """The source notebook in ``language`` (solutions included: the instructor's copy)."""
    nb = copy.deepcopy(load_notebook(source_notebook(assignment)))
    table = translations(assignment, language)
    for cell in nb.cells:
        if translatable(cell) or _reference_answer(cell):
            context = ANSWER_CONTEXT if _reference_answer(cell) else None
            cell.source = table.get((context, cell.source), cell.source)
    nb.metadata[METADATA_KEY] = {"language": language}
    return nb


def translate_release(release_nb, assignment: str, language: str):
    """The source language's release with ``language``'s text in its unlocked cells.

    Cells are matched to the source notebook by id (nbgrader's generate_assignment keeps ids).  Every
    locked and grade cell, every cell's metadata and every checksum is left as it is.
    """
    nb = copy.deepcopy(release_nb)
    table = translations(assignment, language)
    stub = table.get((STUB_CONTEXT, code_stub()), code_stub())
    source = {c.get("id"): c for c in load_notebook(source_notebook(assignment)).cells}
    for cell in nb.cells:
        original = source.get(cell.get("id"))
        if original is None or not (translatable(original) or _solution_code(original)):
            continue
        text = table.get((None, original.source), original.source)
        # a solution cell is cleared again from its translation, so its stub is in the release's language too
        cell.source = _cleared(text, stub) if _solution_code(original) else text
    nb.metadata[METADATA_KEY] = {"language": language}
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.course.translate",
                                     description="the exercise statements' gettext catalogs")
    parser.add_argument("command", choices=("update", "check"))
    parser.add_argument("--language", action="append", choices=TARGETS)
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS))
    args = parser.parse_args(argv)
    found = []
    for language in args.language or TARGETS:
        for a in args.assignments:
            if args.command == "update":
                print(update(a, language).relative_to(REPO))
            found += problems(a, language)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found and args.command == "check" else 0


if __name__ == "__main__":
    raise SystemExit(main())
