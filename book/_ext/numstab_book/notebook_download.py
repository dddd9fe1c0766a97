"""Every notebook page downloads as its *executed* notebook (``_sources/<page>.ipynb``).

myst-nb writes ``<page>.ipynb`` into its output folder (``numstab_book.i18n`` gives each edition its
own, ``<outdir>/../jupyter_execute/<language>``), but when the outputs come from the
jupyter-cache it writes the notebook *without* them (it merges the cached outputs into a copy), so
the download would be empty.  Here the outputs are taken from the cache.
"""

from pathlib import Path


def executed_notebook(pagename, output_folder, cache_path):
    """The executed notebook of a page, as a reader should download it.

    Consecutive stream outputs are merged (as the page shows them), and the invisible outputs of
    ``glue`` and myst-nb's private metadata dropped."""
    import nbformat

    written = Path(output_folder) / f"{pagename}.ipynb"
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

    The book theme shows a ".ipynb" download button when ``ipynb_source`` is set (it sets it
    itself only when launch buttons are configured)."""
    if doctree is None or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    import nbformat

    nb = executed_notebook(pagename, app.env.mystnb_config.output_folder, app.config.nb_execution_cache_path)
    if nb is None:
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    app.connect("html-page-context", _notebook_download, priority=500)
