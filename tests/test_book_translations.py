"""The book's translations are complete and follow the Chinese source.

Each edition other than Chinese reads ``book/locale/<lang>/LC_MESSAGES/*.po`` (sphinx-intl's
layout; ``make gettext`` brings them up to date).  These tests fail for any message without a
translation or marked fuzzy, and for any message of a fresh extraction (``sphinx-build -b gettext``,
what ``make gettext`` runs) that a catalog lacks: the catalogs must be up to date with the source.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from book_fixtures import BOOK, LANGUAGES, ROOT, SOURCE_LANGUAGE, run_sphinx

LOCALE = BOOK / "locale"
TRANSLATED = [language for language in LANGUAGES if language != SOURCE_LANGUAGE]
DOMAINS = ("index", "numerical-stability", "numstab_book")


def read(path: Path) -> Catalog:
    with open(path, "rb") as f:
        return read_po(f)


def problems(catalog: Catalog) -> list[str]:
    """One line per message a reader would see untranslated: an empty or fuzzy ``msgstr``."""
    found = []
    if catalog.fuzzy:
        found.append("the catalog's header is fuzzy")
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s and s.strip() for s in strings):
            found.append(f"untranslated: {str(message.id)[:80]!r}")
        elif message.fuzzy:
            found.append(f"fuzzy: {str(message.id)[:80]!r}")
    return found


def test_problems_names_an_untranslated_and_a_fuzzy_message():
    """The check itself: a catalog with one empty and one fuzzy message fails with both named."""
    catalog = Catalog(locale="en", fuzzy=False)
    catalog.add("梯度消失", "Vanishing Gradients")
    catalog.add("梯度爆炸", "")
    catalog.add("打破对称性", "Breaking Symmetry", flags=["fuzzy"])
    buffer = io.BytesIO()
    write_po(buffer, catalog)
    buffer.seek(0)
    found = problems(read_po(buffer))
    assert found == ["untranslated: '梯度爆炸'", "fuzzy: '打破对称性'"]


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_is_translated(language, domain):
    path = LOCALE / language / "LC_MESSAGES" / f"{domain}.po"
    assert path.is_file(), f"{path} is missing: run `make gettext`"
    catalog = read(path)
    assert len([m for m in catalog if m.id]) >= (100 if domain == "numerical-stability" else 4)
    assert problems(catalog) == [], f"{path.relative_to(ROOT)}:\n" + "\n".join(problems(catalog))


def test_compiled_catalogs_are_not_committed():
    """Sphinx compiles the .po files at build time (gettext_auto_build); a committed .mo would go stale."""
    tracked = subprocess.run(["git", "ls-files", "book/locale"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert tracked and not [name for name in tracked if name.endswith(".mo")]
    ignored = subprocess.run(["git", "check-ignore", "-q", "book/locale/en/LC_MESSAGES/index.mo"], cwd=ROOT)
    assert ignored.returncode == 0, ".mo files are not ignored by git"


@pytest.mark.slow
def test_catalogs_are_up_to_date_with_the_source(tmp_path):
    """A fresh extraction (``make gettext``'s sphinx-build) holds no message a catalog lacks, and a
    catalog keeps no message the source no longer has (sphinx-intl would mark it obsolete)."""
    pot = tmp_path / "gettext"
    command = [sys.executable, "-m", "sphinx", "-c", ".", "-W", "--keep-going", "-n", "-q",
               "-d", str(tmp_path / "doctrees"), "-b", "gettext", "book", str(pot)]
    result = run_sphinx(command=command)
    assert result.returncode == 0, result.log[-4000:]
    templates = {path.stem: read(path) for path in pot.glob("*.pot")}
    assert set(templates) == set(DOMAINS)
    for language in TRANSLATED:
        for domain, template in templates.items():
            catalog = read(LOCALE / language / "LC_MESSAGES" / f"{domain}.po")
            wanted = {m.id for m in template if m.id}
            have = {m.id for m in catalog if m.id}
            missing = sorted(str(m)[:80] for m in wanted - have)
            assert not missing, f"{language}/{domain}.po lacks (run `make gettext`):\n" + "\n".join(missing)
            stale = sorted(str(m)[:80] for m in have - wanted)
            assert not stale, f"{language}/{domain}.po has messages the source lost:\n" + "\n".join(stale)
            assert not catalog.obsolete, f"{language}/{domain}.po keeps obsolete entries"
