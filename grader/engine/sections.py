"""Where the book teaches each check, and the hint a failed check shows (feedback and instructor report).

Per assignment, ``grader/checks/<a>/book_sections.py`` (ships to students) gives each part's section
of the chapter and the public checks' hints; ``grader/checks/<a>/hints.py`` (never ships) the hidden
checks' hints.  Keys are parts or ``part::``-prefixed check names, resolved by ``selfcheck.lookup`` so
the students' self-check and the grader read the tables the same way.  A section is a language-neutral
label (the book's MyST target); a hint is written in the source language and shown in the reader's
(grader/i18n.py): the submission's for its feedback, the course's for the instructor's report.
"""
from __future__ import annotations

import functools
import html
import importlib
import os
from dataclasses import dataclass

from grader.i18n import SOURCE_LANGUAGE, _in, section_title
from grader.layout import BUILD
from grader.student.selfcheck import advice, advice_lines, book_url

SHIPPED, HIDDEN = "book_sections", "hints"


@functools.cache
def tables(assignment: str) -> tuple:
    """The assignment's hint tables, shipped first (a public check's hint is the one students see)."""
    found = []
    for name in (SHIPPED, HIDDEN):
        try:
            found.append(importlib.import_module(f"grader.checks.{assignment}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"grader.checks.{assignment}.{name}":
                raise
    return tuple(found)


@dataclass(frozen=True)
class Check:
    """One check as the reports name it: ``function`` without its pytest parameters."""
    assignment: str
    part: str
    function: str

    @classmethod
    def from_nodeid(cls, part: str, nodeid: str) -> "Check":
        path, _, name = nodeid.partition("::")
        return cls(path.split("/", 1)[0], part, name.split("[", 1)[0])

    @property
    def advice(self) -> tuple[str | None, str | None]:
        """(section, hint)."""
        return advice(tables(self.assignment), self.part, self.function)


def report_lines(check: Check, language: str = SOURCE_LANGUAGE) -> list[str]:
    return advice_lines(*check.advice, lang=language)


def advice_html(checks: list[Check], language: str = SOURCE_LANGUAGE) -> str:
    """The hints and links of failed checks as HTML in ``language`` (nbgrader's feedback shows it under the
    test cell); checks that share a hint are listed together."""
    grouped: dict[tuple, list[str]] = {}
    for check in checks:
        if any(check.advice):
            names = grouped.setdefault(check.advice, [])
            if check.function not in names:
                names.append(check.function)
    items = []
    for (section, hint), names in grouped.items():
        link = ""
        if section:
            anchor = (f'<a href="{html.escape(book_url(section, lang=language))}" target="_blank">'
                      f'{html.escape(section_title(section, language))}</a>')
            link = " — " + _in(language, "参见《{section}》").format(section=anchor)
        checks_html = ", ".join(f"<code>{html.escape(n)}</code>" for n in names)
        items.append(f"<li>{checks_html}: {html.escape(_in(language, hint) if hint else '')}{link}</li>")
    if not items:
        return ""
    title = html.escape(_in(language, "没通过的检查, 提示和书中对应的小节:"))
    return f'<div class="grader-advice"><p>{title}</p><ul>{"".join(items)}</ul></div>'


def instructor_book_url(section: str, language: str = SOURCE_LANGUAGE) -> str:
    """A section's link in the instructor's report, in the course's language: GRADER_BOOK_URL, else the book
    `make book` built here (the students' default, relative to their exercise folder, means nothing beside
    the report)."""
    return book_url(section, base=os.environ.get("GRADER_BOOK_URL") or (BUILD / "html").as_uri(), lang=language)
