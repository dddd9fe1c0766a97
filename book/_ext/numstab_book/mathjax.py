"""MathJax shipped with the book, so that formulas typeset offline (and in the browser test).

Sphinx loads MathJax from a CDN by default; when the venv has a copy (PyPI package
django-static-mathjax, a plain MathJax 3 distribution) the book ships that copy in
``_static/mathjax`` and points ``mathjax_path`` at it.
"""

import importlib.util
import shutil
from pathlib import Path

ENTRY = "tex-mml-chtml.js"


def local_mathjax():
    """The folder of the venv's MathJax 3 ``es5`` build, or None."""
    try:
        spec = importlib.util.find_spec("mathjax")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        es5 = Path(location) / "static" / "mathjax" / "es5"
        if (es5 / ENTRY).is_file():
            return es5
    return None


def _use_local_mathjax(app, config):
    if local_mathjax() is not None and str(config.mathjax_path).startswith(("http:", "https:")):
        config.mathjax_path = f"mathjax/{ENTRY}"  # relative to _static


def _ship_mathjax(app):
    """Copy the local MathJax into ``_static/mathjax`` (once; it is 24 MB)."""
    source = local_mathjax()
    if source is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    entry = target / ENTRY
    if entry.is_file() and entry.stat().st_size == (source / ENTRY).stat().st_size:
        return
    shutil.copytree(source, target, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _use_local_mathjax)
    app.connect("builder-inited", _ship_mathjax)
