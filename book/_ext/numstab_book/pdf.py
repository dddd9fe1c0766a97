"""The PDF edition: ``sphinx-build -b pdfhtml`` prints the whole book with headless Chromium.

Like Jupyter Book's ``pdfhtml`` builder: Sphinx's ``singlehtml`` builder assembles the book into one
page, which Chromium loads (served on localhost), waits for MathJax and the fonts, and prints to
``<pdf_dir>/<pdf_basename>.pdf`` (``pdf_dir`` defaults to the output folder).  Why not LaTeX
(xelatex + ctex): the PDF then looks like the web edition (same MathJax, same SVG figures, the
same bundled font through ``@font-face``: see ``font.py``; the interactive figure's static twin), needs no TeX installation (texlive-xetex with
ctex is a large extra install), and Chromium is already the browser test's dependency.

Before printing, a script puts a table of contents (目录) at the front; the PDF is printed twice so
that the second print can write each section's page number, read from the first print's text.
Chromium also writes the headings as the PDF's outline (bookmarks).
Page numbers are Chromium's footer.  The print stylesheet is ``static/numstab-book.css``.
"""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

from sphinx.builders.singlehtml import SingleFileHTMLBuilder
from sphinx.errors import SphinxError
from sphinx.util import logging

from .chromium import Browser, missing, served
from .font import ship_webfont
from .i18n import SOURCE_LANGUAGE, gettext

logger = logging.getLogger(__name__)

READY = """
(async () => {
  for (let i = 0; i < 600 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
    await new Promise(r => setTimeout(r, 100));
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  document.querySelectorAll('details').forEach(d => { d.open = true; });  // instructor solutions
  const imgs = Array.from(document.images);
  imgs.forEach(img => { img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  await document.fonts.ready;
  return document.querySelectorAll('mjx-container').length;
})()
"""

# The table of contents: every h1-h4 of the article but the first (the book's title, on the front
# page with the introduction), placed before the chapter; sections have ids, entries link to them.
# (singlehtml nests the chapter one level below the front page: its title is an h2.)
TOC = """
((pages) => {
  const article = document.querySelector('article') || document.querySelector('main');
  const heads = Array.from(article.querySelectorAll('h1, h2, h3, h4'))
                     .filter(h => !h.closest('#pdf-toc') && h.closest('section[id]'));
  const clean = h => h.textContent.replace(/#$/, '').trim();
  let nav = document.getElementById('pdf-toc');
  if (nav) nav.remove();
  nav = document.createElement('nav');
  nav.id = 'pdf-toc';
  const title = document.createElement('p');
  title.className = 'pdf-toc-title';
  title.textContent = '%(title)s';
  nav.appendChild(title);
  const entries = heads.slice(1);
  const top = Math.min(...entries.map(h => +h.tagName[1]));
  const lists = [document.createElement('ol')];
  nav.appendChild(lists[0]);
  entries.forEach((h, i) => {
    const depth = +h.tagName[1] - top;
    while (lists.length - 1 < depth) {
      const sub = document.createElement('ol');
      (lists[lists.length - 1].lastElementChild || lists[lists.length - 1]).appendChild(sub);
      lists.push(sub);
    }
    while (lists.length - 1 > Math.max(depth, 0)) lists.pop();
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '#' + h.closest('section[id]').id;
    a.innerHTML = '<span class="toc-text"></span><span class="toc-dots"></span><span class="toc-page"></span>';
    a.querySelector('.toc-text').textContent = clean(h);
    a.querySelector('.toc-page').textContent = pages ? (pages[i] ?? '') : '00';
    li.appendChild(a);
    lists[lists.length - 1].appendChild(li);
  });
  const first = entries.length ? entries[0].closest('section[id]') : null;
  if (first) first.parentNode.insertBefore(nav, first); else article.prepend(nav);
  return entries.map(clean);
})(%(pages)s)
"""
TOC_TITLE = "目录"  # the source's; each edition prints its translation (numstab_book.i18n)

FOOTER = ('<div style="font-size: 8px; width: 100%; text-align: center; color: #555;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


def section_pages(pdf: bytes, titles: list[str], toc_title: str = TOC_TITLE) -> list[int | str]:
    """The page (1-based) each title heads, in order: the first page after the table of contents
    with a line that is the title.  (Chromium's outline can point to the page before, where the
    section's top margin starts when the heading itself was pushed to the next page.)"""
    import io

    from pypdf import PdfReader

    lines = [{_norm(line) for line in page.extract_text().splitlines()}
             for page in PdfReader(io.BytesIO(pdf)).pages]
    at = next((i + 1 for i, page in enumerate(lines) if _norm(toc_title) in page), 0)
    pages = []
    for title in titles:
        hit = next((i for i in range(at, len(lines)) if _norm(title) in lines[i]), None)
        pages.append("" if hit is None else hit + 1)
        at = hit if hit is not None else at
    return pages


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).rstrip("#")


class PdfHtmlBuilder(SingleFileHTMLBuilder):
    """``-b pdfhtml``: the ``singlehtml`` book, then Chromium's print of it."""

    name = "pdfhtml"
    epilog = "The PDF is in %(outdir)s (or pdf_dir)."

    def init(self) -> None:
        if missing():  # before the build, saying what to install
            raise SphinxError(missing())
        super().init()

    def finish(self) -> None:
        super().finish()
        ship_webfont(self.app)  # before the print (build-finished comes after this method)
        start = time.monotonic()
        target = self.pdf_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.print_book())
        logger.info("pdf: %s (%.1f s to print)", target, time.monotonic() - start)

    def pdf_path(self) -> Path:
        folder = Path(self.config.pdf_dir or self.outdir)
        if not folder.is_absolute():
            folder = Path(self.confdir) / folder
        return folder / f"{self.config.pdf_basename}{edition_suffix(self.config.language)}.pdf"

    def print_book(self) -> bytes:
        # Each print starts from a freshly loaded page: Chromium lays a page out for print a little
        # differently the second time (a heading kept with its paragraph flips to the other page),
        # and the page numbers of the first print must hold for the second.
        with served(Path(self.outdir)) as url, Browser() as browser:
            titles, draft = self._load_and_print(browser, url, pages=None)
            pages = section_pages(draft, titles, gettext(self.app, TOC_TITLE))
            return self._load_and_print(browser, url, pages=pages)[1]

    def _load_and_print(self, browser: Browser, url: str, pages) -> tuple[list[str], bytes]:
        browser.goto(f"{url}/{self.config.root_doc}.html")
        browser.evaluate(READY)
        toc = TOC % {"title": gettext(self.app, TOC_TITLE), "pages": "null" if pages is None else _js_list(pages)}
        titles = browser.evaluate(toc)
        return titles, self._print(browser)

    @staticmethod
    def _print(browser: Browser) -> bytes:
        result = browser.call("Page.printToPDF", printBackground=True, preferCSSPageSize=True,
                              displayHeaderFooter=True, headerTemplate="<span></span>",
                              footerTemplate=FOOTER, generateDocumentOutline=True,
                              generateTaggedPDF=True)
        return base64.b64decode(result["data"])


def edition_suffix(language: str | None) -> str:
    """``""`` for the source language's PDF, ``".en"`` for the English one (``numerical-stability.en.pdf``)."""
    return "" if not language or language == SOURCE_LANGUAGE else f".{language}"


def _js_list(values) -> str:
    import json

    return json.dumps([str(v) for v in values], ensure_ascii=False)


def _render_outputs_as_html(app, config):
    """myst-nb picks cell outputs by builder name: give ``pdfhtml`` the HTML builders' choice."""
    from myst_nb.core.render import base_render_priority

    overrides = list(config.nb_mime_priority_overrides)
    overrides += [(PdfHtmlBuilder.name, mime, priority)
                  for mime, priority in base_render_priority()["singlehtml"].items()]
    config.nb_mime_priority_overrides = overrides


def setup(app):
    app.add_builder(PdfHtmlBuilder)
    app.connect("config-inited", _render_outputs_as_html)
    app.add_config_value("pdf_basename", "book", "env", types=[str])
    app.add_config_value("pdf_dir", "", "env", types=[str])
