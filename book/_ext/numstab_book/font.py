"""The book's one font, carried by the venv: the pages and the PDF use the file the figures use.

``book/stability.py`` registers Noto Sans SC (SIL OFL 1.1, from the pinned PyPI package
``pylopdf-fonts-zh-cn``) with matplotlib; this module reads which file that is
(``CJK_FONT_RESOURCE``, read from the module's source: importing it would import torch into Sphinx)
and serves the same font to the browser with ``@font-face``, so that neither the pages nor
Chromium's print depend on the reader's or the build machine's fonts.

The file is 8 MB; the pages get a subset (``fontTools.subset``, WOFF) of exactly the characters the
built output contains, made after the pages are written and remade only when that set changes.
MathJax is told to set ``\\text{...}`` in the page's font, since its own fonts have no Chinese.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.resources
from pathlib import Path

from sphinx.errors import SphinxError
from sphinx.util import logging

logger = logging.getLogger(__name__)

HELPERS = "stability.py"  # beside the pages: it owns the choice of font
CSS = "numstab-font.css"
FOLDER = "fonts"  # under _static
WEBFONT = "numstab-cjk.woff"
LICENCE = "OFL.txt"  # beside the font file
# Always in the subset, whatever the pages hold: printable ASCII, Latin-1, general punctuation,
# CJK punctuation and full-width forms (text a reader types into the search box, say).
ALWAYS = [*range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x2000, 0x2070), *range(0x3000, 0x3040),
          *range(0xFF00, 0xFFF0)]
SKIP = ("mathjax", "plotly.min.js")  # large shipped libraries without Chinese


def font_resource(srcdir) -> tuple[str, str]:
    """``(package, file name)`` of the book's font, as ``book/stability.py`` states it."""
    tree = ast.parse((Path(srcdir) / HELPERS).read_text(encoding="utf-8"))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "CJK_FONT_RESOURCE"):
            return tuple(ast.literal_eval(node.value))
    raise SphinxError(f"{HELPERS} has no CJK_FONT_RESOURCE")


def font_file(srcdir) -> Path:
    """The font file in the venv; a one-line error naming the package when it is not installed."""
    package, name = font_resource(srcdir)
    try:
        path = Path(str(importlib.resources.files(package) / name))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise SphinxError(f"the book's font {name} is missing: install the venv's packages "
                          f"(pip install -r requirements.txt; it comes with {package.replace('_', '-')})")
    return path


def licence_text(srcdir) -> str:
    """The font's licence (OFL 1.1) as its package ships it: it travels with every copy."""
    import importlib.metadata

    package, _ = font_resource(srcdir)
    for dist in importlib.metadata.packages_distributions().get(package, []):
        for file in importlib.metadata.distribution(dist).files or []:
            if "LICENSE" in file.name.upper():
                return file.read_text(encoding="utf-8")
    raise SphinxError(f"the licence of the book's font ({package}) is missing")


def family_name(path: Path) -> str:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        return font["name"].getBestFamilyName()


def font_digest(srcdir) -> str:
    """sha256 of the font file (empty when it is missing): what the execution cache is keyed on."""
    try:
        return hashlib.sha256(font_file(srcdir).read_bytes()).hexdigest()
    except (SphinxError, OSError):
        return ""


STYLESHEET = """\
/* numstab_book.font: the book's font ({family}, SIL OFL 1.1), shipped with the book (a subset). */
@font-face {{
  font-family: "{family}";
  src: url("{folder}/{webfont}") format("woff");
  font-weight: 400;  /* one face: the browser synthesises the bold */
  font-display: block;
}}
:root {{
  --numstab-font-family: "{family}";
  --pst-font-family-base: var(--numstab-font-family), var(--pst-font-family-base-system);
  --pst-font-family-heading: var(--numstab-font-family), var(--pst-font-family-base-system);
  /* code keeps its monospace Latin; its Chinese comes from the book's font */
  --pst-font-family-monospace: var(--pst-font-family-monospace-system), var(--numstab-font-family);
}}
"""


def _configure(app, config):
    path = font_file(app.srcdir)  # fail before building anything when the font is not there
    app.numstab_font = (path, family_name(path), licence_text(app.srcdir))
    # MathJax's fonts have no Chinese: \\text{个雅可比矩阵} takes the page's font instead of the
    # reader's serif fallback
    mathjax = dict(config.mathjax3_config or {})
    mathjax["chtml"] = {**mathjax.get("chtml", {}), "mtextInheritFont": True}
    config.mathjax3_config = mathjax


def _write_stylesheet(app):
    if app.builder.format != "html":
        return
    _, family, licence = app.numstab_font
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    text = STYLESHEET.format(family=family, folder=FOLDER, webfont=WEBFONT)
    folder = static / FOLDER
    folder.mkdir(exist_ok=True)
    for target, text in ((static / CSS, text), (folder / LICENCE, licence)):
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


def characters(outdir: Path) -> set[int]:
    """Every code point in the built pages and scripts (the text, the theme's labels, plotly's
    figure data, the TeX source MathJax typesets), plus :data:`ALWAYS`."""
    found = set(ALWAYS)
    for path in Path(outdir).rglob("*"):
        if path.suffix not in (".html", ".js") or any(part in SKIP for part in path.parts):
            continue
        found.update(map(ord, path.read_text(encoding="utf-8", errors="ignore")))
    return {c for c in found if c >= 0x20}


def ship_webfont(app) -> Path | None:
    """Write the subset of the book's font for what ``app.outdir`` holds (after the pages)."""
    if app.builder.format != "html":
        return None
    from fontTools import subset

    source = app.numstab_font[0]
    wanted = sorted(characters(Path(app.outdir)))
    folder = Path(app.outdir) / "_static" / FOLDER
    target, stamp = folder / WEBFONT, folder / f".{WEBFONT}.chars"
    key = hashlib.sha256(f"{source.stat().st_size}:{wanted}".encode()).hexdigest()
    if target.is_file() and stamp.is_file() and stamp.read_text() == key:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    options = subset.Options()
    options.flavor = "woff"  # zlib: needs no brotli module
    options.layout_features = ["*"]  # vertical forms, full-width punctuation
    options.hinting = False
    options.name_IDs = ["*"]  # keep the copyright and the licence (OFL 1.1 asks for them)
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)
    subset.save_font(font, str(target), options)
    stamp.write_text(key)
    logger.info("font: %s (%d characters, %.0f kB)", target.name, len(wanted),
                target.stat().st_size / 1024)
    return target


def _ship_after_build(app, exception):
    if exception is None:
        ship_webfont(app)


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _write_stylesheet)
    app.connect("build-finished", _ship_after_build)
    app.add_css_file(CSS)
