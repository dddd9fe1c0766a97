"""Interactive figures that work offline: plotly.js shipped with the book, loaded only where needed.

Why plotly: the figure is drawn from data the page's cells compute at build time, and a plotly
figure carries its controls (a slider and a menu restyling the traces) in its own JSON, so the
page needs no server and no kernel (bokeh's widgets with Python callbacks would need one, and its
JS-callback route means hand-written JavaScript per figure).  The ``plotly`` package ships the
whole library as one file, ``plotly.min.js`` (4.8 MB, MIT), which the book copies into
``_static`` once; pages without a plotly figure do not load it.  A cell shows a figure with
``stability.interactive(fig, div_id, alt)``.

The print stylesheet (``static/numstab-book.css``) hides the interactive output and shows the
static twin cell tagged ``print-only`` instead (PDF edition).
"""

import shutil
from importlib import resources
from pathlib import Path

PLOTLY_JS = "plotly.min.js"
STATIC = Path(__file__).parent / "static"


def plotly_js() -> Path:
    return Path(str(resources.files("plotly") / "package_data" / PLOTLY_JS))


def _add_static_path(app, config):
    config.html_static_path = [*config.html_static_path, str(STATIC)]  # never mutate the default


def _ship_plotly(app):
    if app.builder.format != "html":
        return
    source, target = plotly_js(), Path(app.outdir) / "_static" / PLOTLY_JS
    if not (target.is_file() and target.stat().st_size == source.stat().st_size):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def _load_plotly_where_used(app, pagename, templatename, context, doctree):
    # a plain (blocking) script in <head>: the figure's inline script calls Plotly.newPlot
    if "plotly-graph-div" in context.get("body", ""):
        app.add_js_file(PLOTLY_JS, priority=200)


def setup(app):
    app.connect("config-inited", _add_static_path)
    app.connect("builder-inited", _ship_plotly)
    app.connect("html-page-context", _load_plotly_where_used)
    app.add_css_file("numstab-book.css")
