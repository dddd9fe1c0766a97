"""The languages of the book, the exercises and every message: the one place that names them.

Chinese is the source language; English comes through gettext catalogs.  A released notebook says which
language it was released in under its metadata ``numstab.language``; a submission whose value is missing or
unknown is read as the course's language.

Messages are written in the source language and marked ``_()`` (``N_()`` in a table, translated where it
is shown; ``_in(language, ...)`` where the language is not the current one).  Two gettext domains keep
what ships apart from what never does:

- ``numstab`` (SHIPPED_DOMAIN): selfcheck.py, public_checks.py, book_sections.py.  Its English catalog is
  compiled into every English exercise folder (``shipped_language_files``).
- ``numstab_grader`` (INSTRUCTOR_DOMAIN): the hidden checks, their hints, the engine, the reports.  It
  never leaves the grader; in the grader it falls back to the shipped catalog.

The catalogs are ``grader/locale/<language>/LC_MESSAGES/<domain>.po``, compiled in memory with Babel
(never committed as .mo).  ``python -m grader.i18n update`` extracts the marked strings into the .pot
files and merges them into the .po files.
"""
from __future__ import annotations

import functools
import gettext
import io
import sys
from pathlib import Path

LANGUAGES = ("zh_CN", "en")
SOURCE_LANGUAGE = "zh_CN"
METADATA_KEY = "numstab"  # notebook metadata: {"numstab": {"language": "en"}}

SHIPPED_DOMAIN, INSTRUCTOR_DOMAIN = "numstab", "numstab_grader"
DOMAINS = (SHIPPED_DOMAIN, INSTRUCTOR_DOMAIN)
GRADER = Path(__file__).resolve().parent
LOCALE = GRADER / "locale"
# Files that ship to students: their messages, and only theirs, go into the shipped catalog.
SHIPPED_SOURCES = ("student/selfcheck.py", "checks/*/public_checks.py", "checks/*/book_sections.py")
# babel's keyword spec: the message is the first argument, or the second of _in(language, message)
KEYWORDS = {"_": None, "N_": None, "_in": (2,)}
# What marks an exercise folder's language beside selfcheck.py (read by selfcheck.language()).
LANGUAGE_FILE = "language.txt"


def known(language: object, default: str = SOURCE_LANGUAGE) -> str:
    """``language`` when it is one of ours, else ``default`` (a submission's metadata is data, never trusted)."""
    return language if isinstance(language, str) and language in LANGUAGES else default


def po_file(domain: str, language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"{domain}.po"


def pot_file(domain: str) -> Path:
    return LOCALE / f"{domain}.pot"


def sources(domain: str) -> list[Path]:
    """The Python files whose marked strings belong to ``domain``."""
    shipped = sorted({p for pattern in SHIPPED_SOURCES for p in GRADER.glob(pattern)})
    if domain == SHIPPED_DOMAIN:
        return shipped
    return sorted(p for p in GRADER.rglob("*.py") if p not in shipped and "__pycache__" not in p.parts)


def extract(domain: str):
    """A babel Catalog of the strings marked in ``domain``'s sources (the instructor domain leaves out what
    the shipped one holds: it falls back to it)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_file

    shipped = {m.id for m in extract(SHIPPED_DOMAIN)} if domain == INSTRUCTOR_DOMAIN else set()
    catalog = Catalog(domain=domain, project="numstab", charset="utf-8")
    for path in sources(domain):
        for line, message, comments, _context in extract_from_file("python", path, keywords=KEYWORDS):
            if message and message not in shipped:
                catalog.add(message, locations=[(path.relative_to(GRADER.parent).as_posix(), line)],
                            auto_comments=comments)
    return catalog


def read_catalog(domain: str, language: str):
    from babel.messages.pofile import read_po

    with open(po_file(domain, language), "rb") as f:
        return read_po(f, locale=language, domain=domain)


@functools.cache
def compiled(domain: str, language: str) -> bytes:
    """``domain``'s catalog of ``language`` as a .mo file's bytes (what gettext reads)."""
    from babel.messages.mofile import write_mo

    out = io.BytesIO()
    write_mo(out, read_catalog(domain, language), use_fuzzy=False)
    return out.getvalue()


def _gnu(domain: str, language: str) -> gettext.NullTranslations:
    if language == SOURCE_LANGUAGE or not po_file(domain, language).is_file():
        return gettext.NullTranslations()
    return gettext.GNUTranslations(io.BytesIO(compiled(domain, language)))


@functools.cache
def translation(language: str) -> gettext.NullTranslations:
    """Every message of the grader in ``language`` (the source language: the messages as written)."""
    language = known(language)
    found = _gnu(INSTRUCTOR_DOMAIN, language)
    if language != SOURCE_LANGUAGE:
        found.add_fallback(_gnu(SHIPPED_DOMAIN, language))
    return found


def _in(language: str, message: str) -> str:
    """``message`` in ``language``."""
    return translation(language).gettext(message)


def shipped_language_files(language: str) -> dict[str, bytes]:
    """The files an exercise folder of ``language`` carries beyond the source language's: the language
    marker beside selfcheck.py and the compiled shipped catalog (never the instructor domain)."""
    language = known(language)
    if language == SOURCE_LANGUAGE:
        return {}
    return {LANGUAGE_FILE: f"{language}\n".encode(),
            f"locale/{language}/LC_MESSAGES/{SHIPPED_DOMAIN}.mo": compiled(SHIPPED_DOMAIN, language)}


@functools.cache
def install():
    """The students' selfcheck module, inside the grader, reads the grader's catalogs; returns it.

    selfcheck.py holds the current language (``use_language``) and ``_``, so the public checks, which
    ship and import ``_`` from the ``selfcheck`` beside them, speak the same language as the hidden ones.
    """
    from grader.student import selfcheck

    selfcheck.load_catalog = translation
    selfcheck._catalogs.clear()
    sys.modules.setdefault("selfcheck", selfcheck)  # what public_checks.py imports `_` from
    return selfcheck


def preload() -> None:
    """Read every catalog now (a sandbox's zygote: its children cannot see grader/locale once isolated)."""
    selfcheck = install()
    for language in LANGUAGES:
        selfcheck.translation(language)


def _(message: str) -> str:
    """``message`` in the current language (``use_language``)."""
    return install()._(message)


def N_(message: str) -> str:
    """Marks a table entry for the catalog; translated where it is shown."""
    return message


def use_language(language: str) -> None:
    """Messages marked ``_()`` are in ``language`` from now on (the checks of one submission)."""
    install().use_language(known(language))


def section_title(label: str, language: str) -> str:
    return install().section_title(label, known(language))


def _entries(catalog) -> set:
    return {(m.id, frozenset(path for path, _line in m.locations)) for m in catalog}


def update() -> list[Path]:
    """Write each domain's .pot from the sources and merge it into every language's .po (babel's update)."""
    from babel.messages.pofile import read_po, write_po

    written = []
    for domain in DOMAINS:
        template = extract(domain)
        if pot_file(domain).is_file():  # unchanged messages keep their date: no churn in the files
            with open(pot_file(domain), "rb") as f:
                before = read_po(f)
            if _entries(before) == _entries(template):
                template.creation_date = before.creation_date
        LOCALE.mkdir(parents=True, exist_ok=True)
        with open(pot_file(domain), "wb") as f:
            write_po(f, template, sort_output=True, width=120, include_lineno=False)
        written.append(pot_file(domain))
        for language in LANGUAGES:
            if language == SOURCE_LANGUAGE:
                continue
            path = po_file(domain, language)
            if path.is_file():
                with open(path, "rb") as f:
                    catalog = read_po(f, locale=language, domain=domain)
                catalog.update(template, no_fuzzy_matching=True)
            else:
                from babel.messages.catalog import Catalog
                catalog = Catalog(locale=language, domain=domain, project="numstab", charset="utf-8", fuzzy=False)
                catalog.update(template)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f:
                write_po(f, catalog, sort_output=True, width=120, ignore_obsolete=True, include_lineno=False)
            written.append(path)
    return written


if __name__ == "__main__":
    if sys.argv[1:] != ["update"]:
        sys.exit("usage: python -m grader.i18n update")
    for path in update():
        print(path)
