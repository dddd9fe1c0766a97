"""nbgrader's feedback pages typeset their math offline, with the MathJax the venv ships.

nbgrader's ``feedback`` template loads MathJax 2 from a CDN (nbconvert's ``mathjax()`` macro, called
without a URL, so ``HTMLExporter.mathjax_url`` never reaches it): on a network without that CDN
every statement reads as raw TeX.  ``configure_feedback`` (called from ``nbgrader_config.py``, so
``nbgrader generate_feedback``, formgrader's button and ``make grade`` all get it) does two things
through nbgrader's and nbconvert's own settings:

- a template folder searched before nbgrader's whose only file, ``feedback/mathjax.html.j2``,
  shadows nbconvert's macro of that name: it loads ``mathjax/tex-svg-full.js`` relative to the page;
- ``ShipMathJax``, a preprocessor of ``GenerateFeedback``, puts that one file beside every page
  (nbconvert's writer writes ``resources["outputs"]``).

``tex-svg-full.js`` is MathJax 3's single-file build: every TeX extension preloaded and SVG output
(no font files), so nothing else has to be fetched and each ``feedback/<student>/<assignment>/``
folder works on its own, sent by e-mail or uploaded to an LMS (about 2.2 MB per folder).  The
venv's copy comes from the ``django-static-mathjax`` package, as the book's (``local_mathjax``).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

ENTRY = "tex-svg-full.js"
TARGET = f"mathjax/{ENTRY}"  # relative to the feedback page; the template names the same path
TEMPLATES = Path(__file__).with_name("feedback_templates")


def local_mathjax() -> Path | None:
    """The venv's MathJax 3 ``es5`` folder (PyPI ``django-static-mathjax``), or None."""
    try:
        spec = importlib.util.find_spec("mathjax")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        es5 = Path(location) / "static" / "mathjax" / "es5"
        if (es5 / ENTRY).is_file():
            return es5
    return None


class ShipMathJax(Preprocessor):
    """Puts MathJax beside the feedback page (nbconvert's FilesWriter writes ``resources["outputs"]``)."""

    enabled = Bool(True)  # nbconvert registers preprocessors disabled unless they say otherwise

    def preprocess(self, nb, resources):
        source = local_mathjax()
        if source is None:
            raise RuntimeError("MathJax is not installed in this venv (PyPI django-static-mathjax, in "
                               "requirements.txt): feedback would show raw TeX offline")
        resources.setdefault("outputs", {})[TARGET] = (source / ENTRY).read_bytes()
        return nb, resources


def nbgrader_templates() -> Path:
    import nbgrader
    return Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"


def nbconvert_templates() -> Path:
    """nbconvert's own templates (``classic``, ``lab``, ``base``), beside the installation nbconvert runs from.

    nbconvert looks for them under ``sys.prefix/share/jupyter``; an ordinary user's venv whose ``.pth``
    names the project's site-packages (README, "Grading as an ordinary user") has another prefix, and
    every feedback page failed there with "No template sub-directory with name 'classic'"."""
    import nbconvert
    # <prefix>/lib/pythonX.Y/site-packages/nbconvert/__init__.py -> <prefix>/share/jupyter/nbconvert/templates
    return Path(nbconvert.__file__).resolve().parents[4] / "share" / "jupyter" / "nbconvert" / "templates"


def configure_feedback(c) -> None:
    """Set GenerateFeedback's preprocessors and its exporter's template folders on config ``c``."""
    c.GenerateFeedback.preprocessors = ["nbgrader.preprocessors.GetGrades",
                                        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
                                        "grader.engine.feedback_math.ShipMathJax"]
    # Scoped to the exporter GenerateFeedback makes (its parent), ours first so that our
    # mathjax.html.j2 wins; nbgrader's own folder stays for its feedback/index.html.j2.
    # nbconvert's own folder last, for a venv whose prefix is not the installation's.
    c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), str(nbgrader_templates())] + \
        [str(p) for p in [nbconvert_templates()] if p.is_dir()]
