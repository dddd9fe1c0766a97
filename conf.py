"""Sphinx configuration of the book 数值稳定性和模型初始化.

Built with ``make book``, i.e. ``sphinx-build -c . -W --keep-going -n -q -b html book _build/html``:
this file lives in the repository root, the sources in ``book/``.
"""

import hashlib
import logging
import os
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parent
BOOK = ROOT / "book"

# -- Project -----------------------------------------------------------------
project = "动手学深度学习：数值稳定性和模型初始化"
author = "课程组"
copyright = "2025, 课程组"
language = "zh_CN"
root_doc = "index"

extensions = [
    "myst_nb",
    "sphinxcontrib.bibtex",
    "sphinx_copybutton",
]

exclude_patterns = [
    "_build",
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

# The cells work on small tensors: one thread per process is nearly as fast as
# many on an idle machine and far faster on a busy one (no oversubscription).  The
# kernel inherits this environment; a value set by the user wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

nb_execution_mode = "cache"
nb_execution_cache_path = str(ROOT / "_build" / ".jupyter_cache")
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 120
nb_execution_excludepatterns = []
nb_merge_streams = True

# The kernel that executes the pages talks to Sphinx over TCP on localhost.  Its
# kernelspec declares CurveZMQ support, so let jupyter_client provision Curve keys
# ("auto"): the traffic is encrypted and ipykernel >= 7 does not print its
# "running over TCP without encryption" warning into the build log.
try:
    import zmq
    from jupyter_client.manager import KernelManager

    if zmq.has("curve"):
        KernelManager.transport_encryption.default_value = "auto"
except (ImportError, AttributeError):  # older jupyter_client: nothing to do
    pass

# -- Bibliography ------------------------------------------------------------
# relative to this file (the configuration directory), not to the source directory
bibtex_bibfiles = ["book/references.bib"]
bibtex_reference_style = "author_year"


def _register_author_year_labels():
    """The text cites "(Glorot and Bengio, 2010)"; label the list the same way
    instead of pybtex's plain [1], [2], ... (which the text never shows)."""
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            for entry in sorted_entries:
                names = [" ".join(p.last_names) for p in entry.persons.get("author", [])]
                if len(names) > 2:
                    who = f"{names[0]} et al."
                else:
                    who = " and ".join(names)
                yield f"{who}, {entry.fields.get('year', '')}".replace("{", "").replace("}", "")

    class AuthorYearStyle(PlainStyle):
        default_label_style = AuthorYearLabels
        default_sorting_style = "author_year_title"

    register_plugin("pybtex.style.formatting", "author_year_labels", AuthorYearStyle, force=True)


_register_author_year_labels()
bibtex_default_style = "author_year_labels"

# -- HTML --------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "数值稳定性和模型初始化"
html_search_language = "zh"  # Sphinx segments Chinese words with jieba
# A small user dictionary of the chapter's terms.  Without "dict" Sphinx reloads
# jieba's whole default dictionary (350,000 words) as a user dictionary, which
# costs seconds on every build and adds nothing.
html_search_options = {"dict": str(BOOK / "search_dict.txt")}
try:  # jieba announces building its dictionary on stderr at DEBUG level
    import jieba

    jieba.setLogLevel(logging.INFO)
except ImportError:  # pragma: no cover - Sphinx then falls back to bigrams
    pass
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


# -- Math --------------------------------------------------------------------
# MathJax (Sphinx's default HTML math renderer; myst's dollarmath/amsmath feed
# it).  Sphinx loads it from a CDN by default; when the venv has a copy
# (PyPI package django-static-mathjax, a plain MathJax 3 distribution) the book
# ships that copy in _static/mathjax and works offline (and in the browser test).
def _local_mathjax():
    import importlib.util

    try:
        spec = importlib.util.find_spec("mathjax")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        es5 = Path(location) / "static" / "mathjax" / "es5"
        if (es5 / "tex-mml-chtml.js").is_file():
            return es5
    return None


MATHJAX_DIR = _local_mathjax()
if MATHJAX_DIR is not None:
    mathjax_path = "mathjax/tex-mml-chtml.js"  # relative to _static

copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True


# -- Hooks -------------------------------------------------------------------
#: the exercises the chapter links to, as exercises/<name>/<name>.ipynb in the repo
EXERCISES = ["symmetry", "equal_weights", "eigen_bounds", "divergence"]

_HELPERS = BOOK / "stability.py"


def _invalidate_cache_when_helpers_change(app, config):
    """jupyter-cache keys a notebook on its own cells only, so a change to
    ``book/stability.py`` (which the cells import) would not re-execute anything.
    Keep the hash of that module beside the cache and drop the cache when it moves."""
    cache = Path(config.nb_execution_cache_path)
    stamp = cache.parent / ".stability.sha256"
    digest = hashlib.sha256(_HELPERS.read_bytes()).hexdigest() if _HELPERS.exists() else ""
    if stamp.exists() and stamp.read_text() == digest:
        return
    if cache.exists():
        shutil.rmtree(cache)
    app.env_stale_helpers = True
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)


def _outdated_when_helpers_change(app, env, added, changed, removed):
    """Re-read the notebook pages (not just re-render) after the cache was dropped."""
    if not getattr(app, "env_stale_helpers", False):
        return []
    return [d for d in env.found_docs if "kernelspec" in env.metadata.get(d, {})]


def _executed_notebook(pagename, outdir, cache_path):
    """The executed notebook of a page, as a reader should download it.

    myst-nb writes ``<outdir>/../jupyter_execute/<page>.ipynb``, but when the
    outputs come from the jupyter-cache it writes the notebook *without* them (it
    merges the cached outputs into a copy).  So take the outputs from the cache
    here, merge consecutive stream outputs (as the page shows them), and drop the
    invisible outputs of ``glue`` and myst-nb's private metadata."""
    import nbformat

    written = Path(outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not written.is_file():
        return None
    nb = nbformat.read(written, as_version=4)
    # prefer the cache's copy even after a fresh execution: myst-nb has already
    # rewritten the outputs of the written notebook for display there
    try:
        from jupyter_cache import get_cache

        _, nb = get_cache(cache_path).merge_match_into_notebook(nb)
    except KeyError:  # not in the cache: the written notebook is all there is
        pass
    nb.metadata.pop("source_map", None)
    for number, cell in enumerate(nb.cells):
        cell.id = f"cell-{number}"  # the reader draws random ids: keep downloads reproducible
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data and all(k.startswith("application/papermill.record/") for k in data):
                continue  # a glue value: the page shows it in the prose
            last = outputs[-1] if outputs else None
            if (out.output_type == "stream" and last is not None
                    and last.output_type == "stream" and last.name == out.name):
                last.text += out.text  # what nb_merge_streams does for the page
                continue
            outputs.append(out)
        cell.outputs = outputs
    nbformat.validate(nb)
    return nb


def _notebook_download(app, pagename, templatename, context, doctree):
    """Offer the executed notebook of every myst-nb page as ``_sources/<page>.ipynb``.

    The book theme shows a ".ipynb" download button when ``ipynb_source`` is set
    (it sets it itself only when launch buttons are configured)."""
    if doctree is None or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    import nbformat

    nb = _executed_notebook(pagename, app.outdir, app.config.nb_execution_cache_path)
    if nb is None:
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _ship_mathjax(app):
    """Copy the local MathJax into ``_static/mathjax`` (once; it is 24 MB)."""
    if MATHJAX_DIR is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    entry = target / "tex-mml-chtml.js"
    source = MATHJAX_DIR / "tex-mml-chtml.js"
    if entry.is_file() and entry.stat().st_size == source.stat().st_size:
        return
    shutil.copytree(MATHJAX_DIR, target, dirs_exist_ok=True)


def _ship_exercises(app, exception):
    """Ship each exercise as the release archive students download (``exercises/<name>.zip``: the
    notebook with ``selfcheck.py`` and ``public_checks.py``) and its notebook alone for a quick look."""
    if exception is not None or app.builder.format != "html":
        return
    from grader.course.release import archive_assignment

    out = Path(app.outdir) / "exercises"
    out.mkdir(parents=True, exist_ok=True)
    for name in EXERCISES:
        archive_assignment(name, out / f"{name}.zip", ROOT / "exercises")
        shutil.copy2(ROOT / "exercises" / name / f"{name}.ipynb", out / f"{name}.ipynb")


class ExerciseSolutions(SphinxDirective):
    """``{exercise-solutions} <name>``: the instructor edition (``-t instructor``) folds the solution
    regions of ``solutions/<name>/<name>.ipynb`` here; the student edition gets nothing at all, so no
    solution text reaches its pages, search index or sources."""

    required_arguments = 1

    def run(self):
        if not self.env.app.tags.has("instructor"):
            return []
        import nbformat

        name = self.arguments[0]
        path = ROOT / "solutions" / name / f"{name}.ipynb"
        self.env.note_dependency(str(path))
        nb = nbformat.read(path, as_version=4)
        body = [nodes.raw("", f"<details class=\"exercise-solution\"><summary>参考答案: {name}</summary>",
                          format="html")]
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("solution") or "### BEGIN SOLUTION" not in cell.source:
                continue
            block = nodes.literal_block(cell.source, cell.source)
            block["language"] = "python" if cell.cell_type == "code" else "markdown"
            body.append(nodes.rubric("", meta.get("grade_id", "")))
            body.append(block)
        body.append(nodes.raw("", "</details>", format="html"))
        return body


def _fix_chinese_search_stemmer():
    """Sphinx 9.0's Chinese search uses the English snowball stemmer in JavaScript
    but ends language_data.js with ``window.Stemmer = ChineseStemmer``, a class that
    does not exist, so the search page throws and finds nothing
    (sphinx-doc/sphinx#14229, fixed upstream by #14416).  The JS class name comes
    from ``language_name``: name the stemmer that is really shipped."""
    from sphinx import search
    from sphinx.search.zh import SearchChinese

    if SearchChinese.js_stemmer_rawcode != "english-stemmer.js":
        return

    class SearchChineseEnglishStemmer(SearchChinese):
        language_name = "English"

    search.languages["zh"] = SearchChineseEnglishStemmer


def setup(app):
    _fix_chinese_search_stemmer()
    app.add_directive("exercise-solutions", ExerciseSolutions)
    app.connect("config-inited", _invalidate_cache_when_helpers_change)
    app.connect("env-get-outdated", _outdated_when_helpers_change)
    app.connect("builder-inited", _ship_mathjax)
    app.connect("html-page-context", _notebook_download, priority=500)
    app.connect("build-finished", _ship_exercises)
