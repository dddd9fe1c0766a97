"""One source, several editions: the Chinese chapter is the source, every other language comes
through Sphinx's gettext (``book/locale/<lang>/LC_MESSAGES/<page>.po``, sphinx-intl's layout).

``make gettext`` runs ``sphinx-build -b gettext`` and ``sphinx-intl update``; ``make book`` builds
each language with ``-D language=<lang>`` and Sphinx compiles the ``.po`` files to ``.mo`` itself
(``gettext_auto_build``).  What Sphinx's gettext does not cover, this module adds:

- **Code cells and figures' alt text.**  A figure's labels, a printed line and a comment are part
  of a cell's code, and the cell runs before Sphinx translates the page.  So the gettext build puts
  every code cell that holds Chinese into the page's catalog as one message (the whole cell), and
  each alt text among the cells' options; an edition in another language puts their translations
  in place before myst-nb parses and executes the page (``source-read``).  Its figures are then
  drawn, and its outputs printed, in its own language, and its download is its own notebook; a
  test checks that both editions glue the same numbers.  Display formulas with words
  (``\text{...}``) are set the same way (Sphinx would turn a translated formula into a literal).
- **Glue in translated paragraphs**: ``{glue:text}`` reads the page's glue data (myst-nb keeps
  none for the separate document Sphinx parses a translated paragraph into).
- **The extension's own words and the settings a reader sees** (title, author), as the
  ``numstab_book`` catalog.
- **Per-language settings**: the search language (jieba only for Chinese), the title, and a
  jupyter-cache and myst-nb output folder of its own, so that the editions never share outputs;
  the kernel's environment says the language (``NUMSTAB_BOOK_LANGUAGE``).
- **A language switch** on every page, to the same page and section (``#fragment``) of the
  other edition: the chapter's section labels are the same in every language.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path

from sphinx.util import logging
from sphinx.util.i18n import docname_to_domain

logger = logging.getLogger(__name__)

try:  # the one place that names the languages (the book's configuration puts the repository on sys.path)
    from grader.i18n import LANGUAGES, SOURCE_LANGUAGE
except ImportError:  # pragma: no cover - the extension used without the grader
    LANGUAGES, SOURCE_LANGUAGE = ("zh_CN", "en"), "zh_CN"

DOMAIN = "numstab_book"  # the catalog of the extension's own words
#: how the switch names each language: in that language, so a reader finds their own
ENDONYMS = {"zh_CN": "中文", "en": "English"}
#: Sphinx's search language (``html_search_language``) of each edition
SEARCH_LANGUAGE = {"zh_CN": "zh", "en": "en"}

#: settings of ``conf.py`` a reader sees (titles, the footer), translated through ``numstab_book``
TRANSLATED_SETTINGS = ("project", "html_title", "author", "copyright")

#: the words the extension itself writes on a page, msgids of the ``numstab_book`` catalog
#: (the gettext build extracts them with the project's title)
MESSAGES = (
    "目录",          # the PDF's table of contents (pdf.py)
    "参考答案",      # the instructor edition's folded solutions (exercises.py)
    "切换语言",      # the language switch's tooltip
)

CODE_CELL = re.compile(
    r"^```\{code-cell\}[^\n]*\n"                  # the fence
    r"(?P<options>---\n.*?\n---\n|(?::[^\n]*\n)*)"  # options: a YAML block or :key: lines
    r"(?P<body>.*?)\n?^```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
#: a figure's alt text among a cell's options (``mystnb: image: alt: ...``): myst-nb makes the image
#: after Sphinx has translated the page, so the alt text is a message of its own, set before parsing
ALT = re.compile(r"^(?P<key>[ \t]+alt:[ \t]*)(?P<text>\S[^\n]*)$", re.MULTILINE)
#: a display formula (``$$ ... $$``): Sphinx's own translation of a formula turns it into an
#: rST literal block (``::``), which the MyST parser reads as text, so a formula with words in it
#: (``\text{...}``) is translated here too, in the source, before parsing
DISPLAY_MATH = re.compile(r"^\$\$[ \t]*\n(?P<body>.*?)\n\$\$[ \t]*$", re.MULTILINE | re.DOTALL)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def locale_dir(app) -> Path:
    return Path(app.srcdir) / app.config.locale_dirs[0]


def cell_messages(text: str):
    """``(message, line)`` for every code cell of a MyST notebook page that holds Chinese (the cell's
    code, whole) and every figure's alt text among the cells' options."""
    for match in CODE_CELL.finditer(text):
        for alt in ALT.finditer(match.group("options")):
            if CJK.search(alt.group("text")):
                yield alt.group("text"), text.count("\n", 0, match.start("options") + alt.start()) + 1
        body = match.group("body")
        if CJK.search(body):
            yield body, text.count("\n", 0, match.start("body")) + 1


@lru_cache(maxsize=None)
def _read_po(path: str, mtime: float) -> dict[str, str]:
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        catalog = read_po(f)
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


def catalog(app, domain: str) -> dict[str, str]:
    """msgid -> msgstr of one catalog of this edition's language (translated, not fuzzy)."""
    path = locale_dir(app) / app.config.language / "LC_MESSAGES" / f"{domain}.po"
    if app.config.language == SOURCE_LANGUAGE or not path.is_file():
        return {}
    return _read_po(str(path), path.stat().st_mtime)


def gettext(app, message: str) -> str:
    """The extension's ``message`` in this edition's language (the Chinese where untranslated)."""
    return catalog(app, DOMAIN).get(message, message)


def is_notebook_page(text: str) -> bool:
    return text.startswith("---") and "kernelspec:" in text.split("\n---", 1)[0]


# -- per-language settings -----------------------------------------------------------------

def _configure(app, config):
    language = config.language or SOURCE_LANGUAGE
    if language not in LANGUAGES:
        logger.warning("numstab_book: language %r is none of %s", language, ", ".join(LANGUAGES))
    config.html_search_language = SEARCH_LANGUAGE.get(language, "en")
    if language != SOURCE_LANGUAGE:
        config.html_search_options = {}  # the jieba dictionary is for Chinese only
        for name in TRANSLATED_SETTINGS:
            setattr(config, name, gettext(app, getattr(config, name)))
    # each edition its own jupyter-cache: the cells differ, and two builds never share a database
    config.nb_execution_cache_path = str(Path(config.nb_execution_cache_path) / language)
    # a kernel started for this edition knows its language (a reader's own code may ask)
    os.environ["NUMSTAB_BOOK_LANGUAGE"] = language


def _own_output_folder(app):
    """myst-nb writes the executed notebooks beside the output folder (``<outdir>/../jupyter_execute``),
    which the editions ``_build/html/<lang>`` would share: give each its own."""
    config = getattr(app.env, "mystnb_config", None)
    if config is None:
        return
    folder = Path(app.outdir).parent / "jupyter_execute" / (app.config.language or SOURCE_LANGUAGE)
    app.env.mystnb_config = config.copy(output_folder=str(folder.resolve()))


# -- code cells ----------------------------------------------------------------------------

def _translate_code_cells(app, docname, source):
    """In an edition other than the source, each code cell that has a translation runs translated
    (and each display formula with words is set translated)."""
    if app.config.language == SOURCE_LANGUAGE or not is_notebook_page(source[0]):
        return
    messages = catalog(app, docname_to_domain(docname, app.config.gettext_compact))
    if not messages:
        return

    def alt(match):
        new = messages.get(match.group("text"))
        # a YAML double-quoted scalar (JSON's string syntax): a translation may hold ": " or "#"
        return match.group(0) if new is None else match.group("key") + json.dumps(new, ensure_ascii=False)

    def translated(match):
        options = ALT.sub(alt, match.group("options"))
        body = messages.get(match.group("body"), match.group("body"))
        start = match.start()
        whole = match.group(0)
        return (whole[: match.start("options") - start] + options + body
                + whole[match.end("body") - start:])

    def formula(match):
        new = messages.get(match.group("body"))
        if new is None:
            return match.group(0)
        return match.group(0).replace(match.group("body"), new, 1)

    source[0] = DISPLAY_MATH.sub(formula, CODE_CELL.sub(translated, source[0]))


def _extract_code_cells(app, doctree, docname):
    """``-b gettext``: every code cell that holds Chinese goes into its page's catalog."""
    if app.builder.name != "gettext":
        return
    from sphinx.builders.gettext import MsgOrigin

    path = app.env.doc2path(docname)
    text = Path(path).read_text(encoding="utf-8")
    if not is_notebook_page(text):
        return
    domain = docname_to_domain(docname, app.config.gettext_compact)
    for message, line in cell_messages(text):
        app.builder.catalogs[domain].add(message, MsgOrigin(str(path), line))


def _extract_own_messages(app):
    if app.builder.name != "gettext":
        return
    from sphinx.builders.gettext import MsgOrigin

    own = app.builder.catalogs[DOMAIN]
    for name in TRANSLATED_SETTINGS:
        own.add(getattr(app.config, name), MsgOrigin(str(Path(app.confdir) / "conf.py"), 0))
    for message in MESSAGES:
        own.add(message, MsgOrigin(__file__, 0))


# -- glue in translated paragraphs ---------------------------------------------------------

def _glue_in_translated_messages():
    """Sphinx parses each translated paragraph as a document of its own, after myst-nb has put the
    page's notebook away: ``{glue:text}`` there fails with "No key ... found in glue data".  Let the
    glue roles of such a paragraph read the page's glue data where myst-nb itself keeps it for
    cross-page glue, ``<output folder>/<page>.glue.json`` (text values: all the chapter glues)."""
    from myst_nb.core.variables import RetrievalError, VariableOutput
    from myst_nb.ext.glue import directives, roles, utils

    original = utils.retrieve_glue_data
    if getattr(original, "numstab", False):
        return

    def retrieve_glue_data(document, key):
        env = getattr(document.settings, "env", None)
        if "nb_renderer" in document or env is None or not hasattr(env, "mystnb_config"):
            return original(document, key)
        path = Path(env.mystnb_config.output_folder) / f"{env.docname}.glue.json"
        data = _read_json(str(path), path.stat().st_mtime) if path.is_file() else {}
        if key not in data:
            raise RetrievalError(f"No key {key!r} found in glue data for this document.")
        return VariableOutput(data=data[key]["data"], metadata=data[key].get("metadata", {}),
                              nb_renderer=None, vtype="glue")

    retrieve_glue_data.numstab = True
    for module in (utils, roles, directives):
        module.retrieve_glue_data = retrieve_glue_data


@lru_cache(maxsize=8)
def _read_json(path: str, mtime: float) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# -- the language switch -------------------------------------------------------------------

def _alternates(app, pagename, templatename, context, doctree):
    """``<link rel="alternate" hreflang>`` to each other edition of the page; ``language-switch.js``
    turns them into the switch in the page's header and carries the ``#fragment`` along."""
    if app.builder.format != "html" or app.builder.name == "pdfhtml":
        return
    language = app.config.language or SOURCE_LANGUAGE
    up = "../" * (pagename.count("/") + 1)
    links = []
    for other in LANGUAGES:
        if other == language:
            continue
        href = f"{up}{other}/{pagename}.html"
        links.append(f'<link rel="alternate" hreflang="{other.replace("_", "-")}" href="{href}" '
                     f'title="{ENDONYMS.get(other, other)}" data-numstab-language="{other}">')
    links.append(f'<meta name="numstab-language-switch" content="{gettext(app, "切换语言")}">')
    context["metatags"] = context.get("metatags", "") + "\n".join(links)


REDIRECT = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>{title}</title>
<meta http-equiv="refresh" content="0; url={target}">
<link rel="canonical" href="{target}">
</head><body><p><a href="{target}">{title}</a> {others}</p></body></html>
"""


def _write_redirect(app, exception):
    """An edition built into ``<html>/<language>/`` (``make book``): ``<html>/index.html`` leads to
    the source language's edition, and names the others."""
    if exception is not None or app.builder.name != "html":
        return
    outdir = Path(app.outdir)
    language = app.config.language or SOURCE_LANGUAGE
    if outdir.name != language:
        return
    others = " · ".join(f'<a href="{other}/index.html" hreflang="{other.replace("_", "-")}">'
                        f'{ENDONYMS.get(other, other)}</a>' for other in LANGUAGES if other != SOURCE_LANGUAGE)
    title = app.config.html_title if language == SOURCE_LANGUAGE else ENDONYMS.get(SOURCE_LANGUAGE, SOURCE_LANGUAGE)
    page = REDIRECT.format(lang=SOURCE_LANGUAGE.replace("_", "-"), title=title,
                           target=f"{SOURCE_LANGUAGE}/index.html", others=others)
    target = outdir.parent / "index.html"
    if language == SOURCE_LANGUAGE or not target.is_file():
        target.write_text(page, encoding="utf-8")


def setup(app):
    _glue_in_translated_messages()
    app.connect("config-inited", _configure, priority=300)  # before execution's cache check
    app.connect("builder-inited", _own_output_folder, priority=900)  # after myst-nb's own
    app.connect("builder-inited", _extract_own_messages)
    app.connect("source-read", _translate_code_cells)
    app.connect("doctree-resolved", _extract_code_cells)
    app.connect("html-page-context", _alternates)
    app.connect("build-finished", _write_redirect)
    app.add_js_file("language-switch.js", defer="defer")
