"""Sphinx configuration of the book 数值稳定性和模型初始化: project settings only.

Built with ``make book``, i.e. ``sphinx-build -c . -W --keep-going -n -q -D language=<lang> -b html book
_build/html/<lang>`` for each language: this file lives in the repository root, the sources in ``book/``.
Chinese (``zh_CN``) is the source; the English edition (``-D language=en``) comes through gettext
catalogs, ``book/locale/en/LC_MESSAGES/*.po`` (``make gettext`` brings them up to date).  What differs
per language (search, title, jupyter-cache) is set by ``numstab_book.i18n``, since ``-D language``
overrides the value below only after this file has run.  What the book adds to Sphinx
(notebook downloads, exercise archives, the PDF builder, ...) is the local extension
``book/_ext/numstab_book``.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# this checkout's grader (the extension ships its exercise archives) and the book's extension
sys.path[:0] = [str(ROOT), str(ROOT / "book" / "_ext")]

# -- Project -----------------------------------------------------------------
project = "动手学深度学习：数值稳定性和模型初始化"
author = "课程组"
copyright = "2025, 课程组"
language = "zh_CN"
root_doc = "index"

# -- Translations (sphinx-intl's layout, relative to book/) ----------------------
locale_dirs = ["locale"]
gettext_compact = True  # one catalog per page: index.po, numerical-stability.po
gettext_auto_build = True  # Sphinx compiles each .po to its .mo (never committed) when it changed
gettext_location = False  # no source line numbers in the .pot/.po: an edit elsewhere moves no entry

extensions = [
    "myst_nb",
    "sphinxcontrib.bibtex",
    "sphinx_copybutton",
    "numstab_book",
]

exclude_patterns = [
    "_build",
    "_ext",
    "**/_build",
    "**.ipynb_checkpoints",
    "**/__pycache__",
    "**/.jupyter_cache",
    "jupyter_execute",
    "Thumbs.db",
    ".DS_Store",
]

# -- MyST / myst-nb ----------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

nb_execution_mode = "cache"
nb_execution_cache_path = str(ROOT / "_build" / ".jupyter_cache")  # + /<language>
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 120
nb_execution_excludepatterns = []
nb_merge_streams = True
# A cell that writes to stderr (a warning, matplotlib's "Glyph ... missing" for a font without
# Chinese) fails the build (-W), naming the page, the line and the cell: the breakage is caught in
# the cell that causes it, not by a reader looking at a red block.
nb_output_stderr = "warn"

# -- Bibliography ------------------------------------------------------------
# relative to this file (the configuration directory), not to the source directory
bibtex_bibfiles = ["book/references.bib"]
bibtex_reference_style = "author_year"
bibtex_default_style = "author_year_labels"  # registered by numstab_book.bibliography

# -- HTML --------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "数值稳定性和模型初始化"
html_search_language = "zh"  # Sphinx segments Chinese words with jieba ("en" in English)
# A small user dictionary of the chapter's terms.  Without "dict" Sphinx reloads
# jieba's whole default dictionary (350,000 words) as a user dictionary, which
# costs seconds on every build and adds nothing.
html_search_options = {"dict": str(ROOT / "book" / "search_dict.txt")}
html_last_updated_fmt = None
html_theme_options = {
    "use_download_button": True,
    "use_fullscreen_button": False,
    "show_toc_level": 2,
}
html_copy_source = True
# A declared icon: without one the browser asks the server for /favicon.ico and logs a 404.
html_favicon = "book/_static/favicon.svg"
# The figures are matplotlib images on white: start in light mode.  (Without a
# default the theme logs "Got invalid theme mode" to the console on first visit.)
html_context = {"default_mode": "light"}

copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# -- PDF (``make pdf``: ``-b pdfhtml``, one page printed by headless Chromium) --
pdf_basename = "numerical-stability"
