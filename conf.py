"""Sphinx configuration of the book 数值稳定性和模型初始化.

Built with ``make book``, i.e. ``sphinx-build -c . -W --keep-going -n -q -b html book _build/html``:
this file lives in the repository root, the sources in ``book/``.
"""

import hashlib
import json
import shutil
from pathlib import Path

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

nb_execution_mode = "cache"
nb_execution_cache_path = str(ROOT / "_build" / ".jupyter_cache")
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 120
nb_execution_excludepatterns = []
nb_merge_streams = True

# -- Bibliography ------------------------------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# -- HTML --------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "数值稳定性和模型初始化"
html_search_language = "zh"
html_last_updated_fmt = None
html_theme_options = {
    "use_download_button": True,
    "use_fullscreen_button": False,
    "show_toc_level": 2,
}
html_copy_source = True
# MathJax 3 is Sphinx's default renderer for HTML; myst's dollarmath feeds it.

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


def _notebook_download(app, pagename, templatename, context, doctree):
    """Offer the executed notebook of every myst-nb page as ``_sources/<page>.ipynb``.

    myst-nb writes the executed notebook to ``<outdir>/../jupyter_execute``; the
    book theme shows a ".ipynb" download button when ``ipynb_source`` is set (it
    only sets it itself when launch buttons are configured)."""
    if doctree is None or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.exists():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _placeholder_notebook(name):
    return {
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": [f"# 练习：{name}\n", "\n", "练习尚未发布。请稍后再下载本笔记本。\n"],
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _ship_exercises(app, exception):
    """Copy the student notebooks to ``<outdir>/exercises/<name>.ipynb``.

    A notebook that is not there yet becomes a placeholder saying so, so the
    links of the chapter never break and no warning is emitted."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir) / "exercises"
    out.mkdir(parents=True, exist_ok=True)
    for name in EXERCISES:
        src = ROOT / "exercises" / name / f"{name}.ipynb"
        dst = out / f"{name}.ipynb"
        if src.is_file():
            shutil.copy2(src, dst)
        else:
            dst.write_text(json.dumps(_placeholder_notebook(name), ensure_ascii=False, indent=1),
                           encoding="utf-8")


def setup(app):
    app.connect("config-inited", _invalidate_cache_when_helpers_change)
    app.connect("env-get-outdated", _outdated_when_helpers_change)
    app.connect("html-page-context", _notebook_download, priority=500)
    app.connect("build-finished", _ship_exercises)
