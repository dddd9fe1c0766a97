"""Open the built book in a real headless Chromium (Debian's, ``make system-deps``), and read
the PDF edition that Chromium prints (``make pdf``).

The browser is driven through the DevTools protocol by the client the PDF builder prints with
(``book/_ext/numstab_book/chromium.py``, over ``websocket-client``).  Both editions are served
from ``_build/html`` (``/zh_CN/``, ``/en/``) by ``http.server`` on a random localhost port.
Screenshots are saved as ``_build/screenshot.png`` (first screen) and
``_build/screenshot-figures.png`` (the per-layer statistics figure), ``-en`` for English.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from book_fixtures import (  # noqa: F401  (built_book, built_pdf are fixtures)
    BOOK, BUILD, CHAPTER, HEADINGS, HEADINGS_BY_LANGUAGE, HTML, HTML_ROOT, LANGUAGES, PDF,
    SOURCE_LANGUAGE, built_book, built_pdf, pdf as pdf_path,
)

sys.path.insert(0, str(BOOK / "_ext"))
from numstab_book.chromium import Browser, find_chromium, served  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def chromium_path() -> str:
    path = find_chromium()
    if not path:
        pytest.fail("chromium is not installed: run `make system-deps` (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def site(built_book):  # noqa: F811
    """Both editions, as a web server publishes ``_build/html``."""
    with served(HTML_ROOT) as url:
        yield url


@pytest.fixture(scope="module")
def server(site):
    """The Chinese edition's root."""
    return f"{site}/{SOURCE_LANGUAGE}"


class Page(Browser):
    """The PDF builder's Chromium (``numstab_book.chromium``) with what the tests look at."""

    def screenshot(self, path: Path, **params):
        data = self.call("Page.captureScreenshot", format="png", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def console_errors(self) -> list[str]:
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                     for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                errors.append("exception: " + str(details.get("exception", {}).get("description")
                                                  or details.get("text")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                errors.append(f"log: {entry.get('text')} {entry.get('url', '')}")
        return errors


@pytest.fixture(scope="module")
def browser():
    with Page(chromium_path(), width=1280, height=900) as page:
        yield page


WAIT_FOR_MATHJAX = """
(async () => {
  for (let i = 0; i < 600; i++) {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
      return true;
    }
    await new Promise(r => setTimeout(r, 100));
  }
  return false;
})()
"""

LOAD_IMAGES = """
(async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  return imgs.map(img => ({src: img.getAttribute('src'), complete: img.complete,
                           width: img.naturalWidth, height: img.naturalHeight}));
})()
"""

MATH_REPORT = """
(() => {
  const blocks = Array.from(document.querySelectorAll('div.math, span.math'));
  const raw = blocks.filter(el => !el.querySelector('mjx-container'))
                    .map(el => el.textContent.slice(0, 80));
  const main = document.querySelector('main') || document.body;
  return {
    containers: document.querySelectorAll('mjx-container').length,
    display: document.querySelectorAll('mjx-container[display="true"]').length,
    blocks: blocks.length,
    untypeset: raw,
    dollars: (main.innerText.match(/\\$\\$/g) || []).length,
    mathjaxErrors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
  };
})()
"""


@pytest.fixture(scope="module", params=LANGUAGES)
def chapter(request, browser, site):
    lang = request.param
    suffix = "" if lang == SOURCE_LANGUAGE else f"-{lang}"
    browser.goto(f"{site}/{lang}/numerical-stability.html")
    if not browser.evaluate(WAIT_FOR_MATHJAX):
        src = browser.evaluate("Array.from(document.scripts).map(s => s.src)"
                               ".find(s => s.includes('tex-mml-chtml'))")
        hint = (" (it comes from a CDN: install django-static-mathjax into the venv so that"
                " the book ships its own copy)" if src and "/_static/" not in src else "")
        pytest.fail(f"MathJax never finished loading from {src}{hint}")
    images = browser.evaluate(LOAD_IMAGES)
    math = browser.evaluate(MATH_REPORT)
    errors = browser.console_errors()
    BUILD.mkdir(exist_ok=True)
    browser.screenshot(BUILD / f"screenshot{suffix}.png")
    clip = browser.evaluate("""(() => {
        const imgs = Array.from(document.images).filter(i => i.naturalWidth > 0);
        const img = imgs[imgs.length - 1];
        img.scrollIntoView();
        const r = img.getBoundingClientRect();
        return {x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height};
    })()""")
    browser.screenshot(BUILD / f"screenshot-figures{suffix}.png", captureBeyondViewport=True,
                       clip={**clip, "scale": 1})
    return {"images": images, "math": math, "errors": errors, "suffix": suffix}


def test_mathjax_typeset_every_formula(chapter):
    math = chapter["math"]
    assert math["blocks"] >= 20
    assert math["containers"] >= math["blocks"], math
    assert math["display"] >= 10, math
    assert math["untypeset"] == [], math["untypeset"]
    assert math["dollars"] == 0, "raw $$ left in the rendered page"
    assert math["mathjaxErrors"] == 0


def test_every_image_loaded(chapter):
    images = chapter["images"]
    assert len(images) >= 3
    broken = [img for img in images if not img["complete"] or img["width"] == 0]
    assert broken == []


def test_no_console_errors(chapter):
    assert chapter["errors"] == []


def test_screenshots_saved(chapter):
    for name in (f"screenshot{chapter['suffix']}.png", f"screenshot-figures{chapter['suffix']}.png"):
        png = (BUILD / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000


@pytest.mark.parametrize("lang", LANGUAGES)
def test_index_leads_to_the_chapter(browser, site, lang):
    browser.goto(f"{site}/{lang}/index.html")
    href = browser.evaluate(
        "Array.from(document.querySelectorAll('main a')).map(a => a.getAttribute('href'))"
        ".find(h => h && h.startsWith('numerical-stability.html'))")
    assert href, "index.html has no link to the chapter"
    assert browser.console_errors() == []


def test_the_site_root_opens_the_chinese_edition(browser, site):
    browser.goto(site + "/")
    landed = _after_navigation(browser, "({path: location.pathname, ready: document.readyState})",
                               f"/{SOURCE_LANGUAGE}/index.html")
    assert landed and landed["path"] == f"/{SOURCE_LANGUAGE}/index.html", landed


@pytest.mark.parametrize("language,query", [(SOURCE_LANGUAGE, "梯度消失"), ("en", "vanishing gradients")])
def test_search_finds_the_chapter_in_each_language(browser, site, language, query):
    browser.goto(f"{site}/{language}/search.html?q=" + urllib.parse.quote_plus(query))
    found = browser.evaluate("""
    (async () => {
      for (let i = 0; i < 300; i++) {
        const hits = document.querySelectorAll('#search-results li a');
        if (hits.length) return Array.from(hits).map(a => a.getAttribute('href'));
        await new Promise(r => setTimeout(r, 100));
      }
      return [];
    })()""")
    assert any(h.startswith("numerical-stability.html") for h in found), found
    assert browser.console_errors() == []


# -- the language switch ------------------------------------------------------------

SWITCH = """
(async () => {
  for (let i = 0; i < 100 && !document.querySelector('.numstab-language-switch'); i++)
    await new Promise(r => setTimeout(r, 100));
  const a = document.querySelector('.numstab-language-switch');
  if (!a) return null;
  const r = a.getBoundingClientRect();
  return {text: a.textContent, visible: r.width > 0 && r.height > 0, href: a.getAttribute('href')};
})()
"""

AT_SECTION = """
((label) => {
  const section = document.getElementById(label);
  const heading = section && section.querySelector('h1, h2, h3');
  return {path: location.pathname, hash: location.hash, lang: document.documentElement.lang,
          ready: document.readyState,
          heading: heading ? heading.textContent.replace(/#$/, '').trim() : null,
          top: section ? Math.round(section.getBoundingClientRect().top) : null};
})
"""


def _after_navigation(browser, expression: str, path: str, seconds: float = 20):
    """``expression``'s value once the page at ``path`` has loaded (a click navigates: the old
    page's context goes away under an evaluation, so poll from here)."""
    deadline = time.monotonic() + seconds
    value = None
    while time.monotonic() < deadline:
        try:
            value = browser.evaluate(expression)
        except Exception:  # the context was destroyed by the navigation: ask the new page
            value = None
        if value and value.get("path") == path and value.get("ready") == "complete":
            time.sleep(0.3)  # the browser scrolls to the fragment after load
            return browser.evaluate(expression)
        time.sleep(0.1)
    return value


@pytest.mark.parametrize("start, label", [("zh_CN", "xavier-initialization"), ("en", "breaking-the-symmetry"),
                                          ("zh_CN", "exercises")])
def test_language_switch_goes_to_the_same_section(browser, site, start, label):
    """A reader in a section switches language and lands on the same section of the other
    edition (the section labels are shared); the switch follows the reader's current section."""
    other = next(language for language in LANGUAGES if language != start)
    browser.goto(f"{site}/{start}/numerical-stability.html")
    switch = browser.evaluate(SWITCH)
    assert switch and switch["visible"], switch
    assert switch["text"] == {"zh_CN": "中文", "en": "English"}[other]
    # the reader follows the page's own table of contents to the section, then clicks the switch
    browser.evaluate(f"location.hash = '#{label}'; true")
    _click(browser, "document.querySelector('.numstab-language-switch')")
    there = _after_navigation(browser, f"({AT_SECTION})('{label}')", f"/{other}/numerical-stability.html")
    headings = dict(zip(
        ["numerical-stability", "vanishing-and-exploding-gradients", "vanishing-gradients",
         "exploding-gradients", "breaking-the-symmetry", "stabilizing-training",
         "parameter-initialization", "default-initialization", "xavier-initialization",
         "further-reading", "summary", "exercises", "references"],
        [title for _, title in HEADINGS_BY_LANGUAGE[other]]))
    assert there["path"] == f"/{other}/numerical-stability.html", there
    assert there["hash"] == f"#{label}" and there["lang"] == other.replace("_", "-"), there
    assert there["heading"] == headings[label], there
    assert there["top"] is not None and abs(there["top"]) < 200, "the page did not scroll to the section"
    assert browser.console_errors() == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_has_the_switch(browser, site, lang):
    for page in ("index.html", "search.html", "genindex.html"):
        browser.goto(f"{site}/{lang}/{page}")
        switch = browser.evaluate(SWITCH)
        assert switch and switch["visible"] and switch["href"].startswith("../"), (page, switch)


# -- the book's own font ------------------------------------------------------------

# Each run of Chinese on the page (HTML text, plotly's SVG labels, MathJax's \text{}) in an element
# of its own, which inherits the run's style; Chromium then says which font drew each run.
PROBE_CHINESE = r"""
(() => {
  const run = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+/g;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode);
  let probes = 0;
  for (const text of texts) {
    const parent = text.parentElement;
    if (!parent || ['SCRIPT', 'STYLE', 'TEXTAREA', 'NOSCRIPT'].includes(parent.tagName)) continue;
    const value = text.nodeValue, parts = [...value.matchAll(run)];
    if (!parts.length) continue;
    const svg = parent.namespaceURI === 'http://www.w3.org/2000/svg';
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const m of parts) {
      if (m.index > last) frag.appendChild(document.createTextNode(value.slice(last, m.index)));
      const probe = svg ? document.createElementNS(parent.namespaceURI, 'tspan')
                        : document.createElement('span');
      probe.setAttribute('data-cjk-probe', '');
      probe.textContent = m[0];
      frag.appendChild(probe);
      probes++;
      last = m.index + m[0].length;
    }
    if (last < value.length) frag.appendChild(document.createTextNode(value.slice(last)));
    text.replaceWith(frag);
  }
  return probes;
})()
"""


def test_every_chinese_character_is_drawn_with_the_book_font(on_chapter, stability):
    """No system font draws any Chinese on the page: every run is the bundled font's
    (``@font-face``, a custom font to Chromium), whatever the machine has installed."""
    page = on_chapter
    page.evaluate("document.fonts.ready.then(() => true)")
    assert page.evaluate(PROBE_CHINESE) >= 300
    page.call("DOM.enable")
    page.call("CSS.enable")
    try:
        document = page.call("DOM.getDocument", depth=0)["root"]["nodeId"]
        # the MathML copy for screen readers is clipped away: nothing of it is seen or printed
        probes = page.call("DOM.querySelectorAll", nodeId=document,
                           selector="[data-cjk-probe]:not(mjx-assistive-mml *)")["nodeIds"]
        drawn, fonts = 0, {}
        for node in probes:
            used = page.call("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]
            if not used:
                continue  # not rendered (a closed menu, the print-only table of contents)
            drawn += 1
            for f in used:
                key = (f["familyName"], f["isCustomFont"])
                fonts.setdefault(key, page.call("DOM.getOuterHTML", nodeId=node)["outerHTML"][:80])
    finally:
        page.call("CSS.disable")
        page.call("DOM.disable")
    assert drawn >= 300
    assert fonts.keys() == {(stability.CJK_FONT, True)}, fonts
    in_math = page.evaluate("document.querySelectorAll('mjx-container [data-cjk-probe]"
                            ":not(mjx-assistive-mml *)').length")
    in_figure = page.evaluate("document.querySelectorAll('#lyapunov-explorer [data-cjk-probe]').length")
    assert in_math >= 1 and in_figure >= 2  # \text{个雅可比矩阵}; the plotly figure's axis titles


# -- the interactive figure -------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")

FIGURE_STATE = """
(() => {
  const gd = document.getElementById('lyapunov-explorer');
  return {active: gd.layout.sliders[0].active,
          labels: gd.layout.sliders[0].steps.map(s => s.label),
          visible: gd.data.map(t => t.visible === true),
          ys: gd.data.map(t => Array.from(t.y)),
          drawn: gd.querySelectorAll('path.js-line').length};
})()
"""


def _click(page, expression: str):
    """Scroll the element ``expression`` evaluates to into view and click its centre, as a user."""
    box = page.evaluate(f"""(() => {{
        const el = {expression};
        el.scrollIntoView({{block: 'center'}});
        const r = el.getBoundingClientRect();
        return {{x: r.x + r.width / 2, y: r.y + r.height / 2}};
    }})()""")
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        page.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left",
                  clickCount=1)
    time.sleep(0.3)  # plotly redraws on the next animation frames


@pytest.fixture
def on_chapter(browser, server):
    """The browser, on the (Chinese) chapter page once MathJax has typeset it (other tests move it away)."""
    browser.goto(server + "/numerical-stability.html")
    assert browser.evaluate(WAIT_FOR_MATHJAX)
    return browser


@pytest.fixture(params=LANGUAGES)
def on_any_chapter(request, browser, site):
    """The browser on the chapter of each edition in turn; yields (browser, language)."""
    browser.goto(f"{site}/{request.param}/numerical-stability.html")
    assert browser.evaluate(WAIT_FOR_MATHJAX)
    return browser, request.param


@pytest.fixture(scope="module")
def stability():
    sys.path.insert(0, str(BOOK))
    import stability as st

    return st


#: the interactive figure's axis title and legend, per edition
FIGURE_TEXT = {"zh_CN": ("因子个数 k", "样本路径", "理论直线：斜率"),
               "en": ("number of factors k", "sample path", "theory: slope")}


def test_slider_and_menu_change_the_plotted_data(on_any_chapter, stability):
    browser, lang = on_any_chapter
    before = browser.evaluate(FIGURE_STATE)
    # its words are the page's: the axis title, the legend (drawn by plotly as SVG text)
    drawn = browser.evaluate("document.getElementById('lyapunov-explorer').textContent")
    for words in FIGURE_TEXT[lang]:
        assert words in drawn, (lang, words)
    if lang != SOURCE_LANGUAGE:
        assert not CJK.search(drawn), drawn
    assert before["drawn"] >= 7 and before["labels"][before["active"]] == "1.0"
    per_n = len(before["visible"]) // 3
    assert before["visible"] == [g == 1 for g in range(3) for _ in range(per_n)]  # n = 4 first
    theory = 2 * per_n - 1  # n = 4's Newman line
    # drag the slider to sigma = 0.5 (a click on its rail under the label moves the handle there)
    _click(browser, """(() => {
        const label = Array.from(document.querySelectorAll('#lyapunov-explorer .slider-label'))
                           .find(t => t.textContent.trim() === '0.5');
        const rail = document.querySelector('#lyapunov-explorer .slider-rail-touch-rect');
        return {scrollIntoView: () => label.scrollIntoView({block: 'center'}),
                getBoundingClientRect: () => {  // the rail, under the label
                    const l = label.getBoundingClientRect(), r = rail.getBoundingClientRect();
                    return {x: l.x, width: l.width, y: r.y, height: r.height};
                }};
    })()""")
    after = browser.evaluate(FIGURE_STATE)
    assert after["labels"][after["active"]] == "0.5"
    assert after["ys"] != before["ys"]
    slope = after["ys"][theory][-1] / (len(after["ys"][theory]) - 1)
    assert slope == pytest.approx(stability.lyapunov_gaussian(4, 0.5), abs=1e-4)  # the book's numbers
    assert slope < 0 < before["ys"][theory][-1]
    # the menu switches to n = 32: its traces show, with the sigma the slider chose
    _click(browser, "document.querySelector('#lyapunov-explorer .updatemenu-header-group')")
    _click(browser, "Array.from(document.querySelectorAll('#lyapunov-explorer .updatemenu-dropdown-button'))"
                    ".find(b => b.textContent.trim() === 'n = 32')")
    switched = browser.evaluate(FIGURE_STATE)
    assert switched["visible"] == [g == 2 for g in range(3) for _ in range(per_n)]
    assert switched["ys"][3 * per_n - 1][-1] == pytest.approx(
        60 * stability.lyapunov_gaussian(32, 0.5), abs=1e-2)
    assert browser.console_errors() == []


def test_every_figure_has_alt_text_in_its_language(on_any_chapter):
    browser, lang = on_any_chapter
    figures = browser.evaluate("""(() => ({
        images: Array.from(document.querySelectorAll('main img')).map(i => i.getAttribute('alt') || ''),
        interactive: Array.from(document.querySelectorAll('main .plotly-graph-div')).map(d => {
            const box = d.closest('[role="img"]');
            return box ? box.getAttribute('aria-label') || '' : '';
        }),
    }))()""")
    assert len(figures["images"]) >= 4 and len(figures["interactive"]) >= 1
    for alt in figures["images"] + figures["interactive"]:
        if lang == SOURCE_LANGUAGE:
            assert len(CJK.findall(alt)) >= 8, f"figure without Chinese alt text: {alt!r}"
        else:
            assert len(alt.split()) >= 8 and not CJK.search(alt), f"figure without English alt text: {alt!r}"


def test_the_page_works_offline_from_the_file(built_book, browser):  # noqa: F811
    browser.call("Network.enable")
    browser.call("Network.emulateNetworkConditions", offline=True, latency=0,
                 downloadThroughput=-1, uploadThroughput=-1)
    try:
        browser.goto(CHAPTER.as_uri())
        assert browser.evaluate(WAIT_FOR_MATHJAX), "MathJax did not load from the file"
        state = browser.evaluate(FIGURE_STATE)
        requests = [e["params"]["request"]["url"] for e in browser.events
                    if e.get("method") == "Network.requestWillBeSent"]
        errors = browser.console_errors()
        typeset = browser.evaluate("document.querySelectorAll('mjx-container').length")
    finally:
        browser.call("Network.emulateNetworkConditions", offline=False, latency=0,
                     downloadThroughput=-1, uploadThroughput=-1)
        browser.call("Network.disable")
    assert state["drawn"] >= 7, "the interactive figure was not drawn offline"
    assert typeset >= 20
    assert any(u.endswith("_static/plotly.min.js") or "_static/plotly.min.js?" in u for u in requests)
    assert [u for u in requests if not u.startswith(("file:", "data:", "blob:", "about:"))] == []
    assert errors == []


def test_plotly_is_local_and_only_where_a_figure_needs_it(built_book):  # noqa: F811
    page = CHAPTER.read_text(encoding="utf-8")
    assert '<script src="_static/plotly.min.js' in page and "cdn.plot.ly" not in page
    assert "plotly.min.js" not in (HTML / "index.html").read_text(encoding="utf-8")
    start = page.index('<div class="interactive-figure"')
    figure = page[start:page.index("</script>", start)]
    library = (HTML / "_static" / "plotly.min.js").stat().st_size
    print(f"\ninteractive figure: {len(figure.encode()) / 1024:.0f} KiB of data in the page "
          f"+ plotly.min.js {library / 2**20:.1f} MiB (loaded once, cached)")
    assert len(figure.encode()) < 400_000


# -- the PDF edition (make pdf) -------------------------------------------------------

def read_pdf(path: Path) -> dict:
    """A printed edition's pages as text and its outline (title, page number)."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    pages = [page.extract_text() for page in reader.pages]
    outline = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                outline.append((item.title.strip(), reader.get_destination_page_number(item) + 1))

    walk(reader.outline)
    return {"reader": reader, "pages": pages, "text": "\n".join(pages), "outline": outline}


@pytest.fixture(scope="module")
def pdf(built_pdf):  # noqa: F811
    printed = read_pdf(PDF)
    print(f"\nPDF: {len(printed['pages'])} pages, {PDF.stat().st_size / 2**20:.1f} MiB, built in "
          f"{built_pdf.seconds:.1f} s")
    return printed


def test_pdf_build_is_clean(built_pdf):  # noqa: F811
    assert "WARNING" not in built_pdf.stderr, built_pdf.stderr[-4000:]
    assert PDF.read_bytes().startswith(b"%PDF-")


def test_pdf_page_count_and_page_numbers(pdf):
    n = len(pdf["pages"])
    assert 8 <= n <= 40, n
    for number, text in enumerate(pdf["pages"], 1):
        assert f"{number} / {n}" in text, f"page {number} has no page number"


def test_pdf_table_of_contents_and_headings(pdf):
    toc = pdf["pages"][1]
    assert toc.lstrip().startswith("目录")
    for _, title in HEADINGS:
        match = re.search(r"^\s*" + re.escape(title) + r"\s+(\d+)\s*$", toc, re.M)
        assert match, f"{title} is not in the table of contents"
        page = int(match.group(1))
        lines = {re.sub(r"\s+", "", line) for line in pdf["pages"][page - 1].splitlines()}
        assert title in lines, f"{title} is not on page {page}"
        assert any(t.startswith(title) for t, _ in pdf["outline"]), f"{title} is not a bookmark"


def test_pdf_chinese_text_figures_and_bibliography(pdf):
    text = re.sub(r"\s+", "", pdf["text"])
    for needle in ["梯度在反向传播的途中要么缩到几乎为零", "自动微分给出的最大导数是0.2500",
                   "结论是：初始化必须和激活函数配套", "印刷版不能拖动滑块",
                   "Understandingthedifficultyoftrainingdeepfeedforward", "Glorot"]:
        assert needle in text, needle
    # the legend's text with a number (the cell's code, printed, holds its format string)
    assert not re.search(r"理论直线：斜率λ₁=[-+]\d", text), "the interactive figure (its legend) printed, not its static twin"
    # the figures are SVG: Chromium prints them as vector drawings (Form XObjects)
    forms = sum(1 for page in pdf["reader"].pages
                for x in (page.get("/Resources", {}).get("/XObject") or {}).values()
                if x.get_object().get("/Subtype") == "/Form")
    assert forms >= 4


def test_pdf_chinese_is_drawn_with_the_book_font(pdf, stability):
    """Chromium prints the bundled web font (as Type 3 glyph drawings whose descriptor names the
    family): every Chinese character of the PDF's text is in it, none in a system font."""
    by_family: dict[str, int] = {}
    for page in pdf["reader"].pages:
        fonts = {name: f.get_object() for name, f in
                 (page.get("/Resources", {}).get("/Font") or {}).items()}
        current = [None]

        def operator(op, args, cm, tm):
            if op == b"Tf":
                current[0] = fonts.get(args[0])

        def text(chars, cm, tm, font_dict, size):
            n = len(CJK.findall(chars))
            if n:
                f = current[0]
                descriptor = f.get("/FontDescriptor").get_object() if f and "/FontDescriptor" in f else {}
                family = str(descriptor.get("/FontFamily") or (f or {}).get("/BaseFont"))
                by_family[family] = by_family.get(family, 0) + n

        page.extract_text(visitor_operand_before=operator, visitor_text=text)
    print(f"\nChinese characters in the PDF by font: {by_family}")
    assert by_family.keys() == {stability.CJK_FONT}, by_family
    assert by_family[stability.CJK_FONT] > 2000


@pytest.fixture(scope="module")
def pdf_en(built_pdf):  # noqa: F811
    return read_pdf(pdf_path("en"))


def test_english_pdf_contents_headings_and_page_numbers(pdf_en):
    """``make pdf`` prints the English edition too: its own table of contents, headings, numbers."""
    pages = pdf_en["pages"]
    n = len(pages)
    assert 8 <= n <= 40, n
    for number, text in enumerate(pages, 1):
        assert f"{number} / {n}" in text, f"page {number} has no page number"
    toc = pages[1]
    assert toc.lstrip().startswith("Contents")
    for _, title in HEADINGS_BY_LANGUAGE["en"]:
        match = re.search(r"^\s*" + re.escape(title) + r"\s+(\d+)\s*$", toc, re.M)
        assert match, f"{title} is not in the table of contents"
        page = int(match.group(1))
        assert title in pages[page - 1], f"{title} is not on page {page}"
        assert any(t.startswith(title) for t, _ in pdf_en["outline"]), f"{title} is not a bookmark"


def test_english_pdf_text_is_english_with_the_same_numbers(pdf_en):
    text = re.sub(r"\s+", " ", pdf_en["text"])
    for needle in ["The largest derivative automatic differentiation finds is 0.2500",
                   "Xavier with tanh and He with ReLU", "A printed page has no slider",
                   "Understanding the difficulty of training deep feedforward", "Glorot"]:
        assert needle in text, needle
    # the legend's text with a number (the cell's code, printed, holds its format string)
    assert not re.search(r"theory: slope λ₁ = [-+]\d", text), "the interactive figure (its legend) printed, not its static twin"
    assert "theory: slope λ₁ = {rate:+.3f}" in text  # (the code cell itself is printed, in English)
    assert not CJK.findall(pdf_en["text"]), "Chinese in the English PDF"


def test_pdf_formulas_are_typeset_glyphs(pdf):
    text = pdf["text"]
    for tex in [r"\frac", r"\mathbf", r"\psi", r"\underbrace", r"\operatorname", "$$"]:  # (code cells keep theirs)
        assert tex not in text, f"TeX source {tex!r} in the PDF"
    for glyphs in ["σ′(x)", "ψ", "λ1", "J(k)"]:
        assert glyphs in text, glyphs
    mathjax_fonts = {f.get_object().get("/Subtype") for page in pdf["reader"].pages
                     for f in (page.get("/Resources", {}).get("/Font") or {}).values()}
    assert "/Type3" in mathjax_fonts  # MathJax's web fonts, drawn as glyphs


# -- student markup in the instructor's pages (grader/engine/markup.py) ----------------

HONEST_MARK = "每层把梯度缩小"  # tests/hostile_markup.py's honest written answer

ACT_AND_LOOK = """
(async (scope, mark) => {
  const settle = () => new Promise(r => setTimeout(r, 800));
  await settle();
  // what an instructor does on the page: follow the links that stay on it, open and close every
  // <details>, focus every field, hover everything
  for (const a of document.querySelectorAll('a[href]')) {
    if (!['http:', 'https:', 'file:'].includes(a.protocol) || a.getAttribute('href').startsWith('#')) a.click();
  }
  for (const d of document.querySelectorAll('details')) { d.open = !d.open; d.open = !d.open; }
  for (const el of document.querySelectorAll('input, textarea, select, button')) el.focus();
  for (const el of document.querySelectorAll('*')) el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
  await settle();
  const area = document.querySelector(scope) || document.body;
  const all = [area, ...area.querySelectorAll('*')];
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'data', 'srcdoc'];
  return {
    pwned: window.__pwned || [],
    title: document.title,
    handlers: all.flatMap(el => Array.from(el.attributes).filter(a => a.name.startsWith('on'))
                                       .map(a => el.tagName + ' ' + a.name)),
    urls: all.flatMap(el => urlAttrs.map(n => el.getAttribute(n)).filter(v => v !== null &&
                      /^(javascript|vbscript|data:text)/i.test(v.replace(/[\\x00-\\x20]/g, '')))),
    frames: area.querySelectorAll('iframe, object, embed, base, meta[http-equiv]').length,
    scripts: area.querySelectorAll('script').length,
    honest: area.innerText.includes(mark),
    math: area.innerText.includes('$a < b$') || area.querySelectorAll('mjx-container, .MathJax').length > 0,
  };
})
"""


def _formgrade(notebook: Path, out: Path, config) -> Path:
    """The page formgrader serves for a submission: nbconvert's HTMLExporter with nbgrader's formgrade
    template and the course configuration (formgrader.py's build_extra_config, handlers.SubmissionHandler)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"assignment_id": "eigen_bounds", "notebook_id": "eigen_bounds", "submission_id": "s1", "index": 0,
                 "total": 1, "base_url": "", "student": "mallory", "last_name": None, "first_name": None,
                 "notebook_path": "/autograded/mallory/eigen_bounds/eigen_bounds.ipynb"}
    html, _ = HTMLExporter(config=config).from_filename(str(notebook), resources=resources)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def hostile_course(tmp_path_factory):
    """mallory's attacking notebook graded with two honest students by the real engine; then nbgrader's
    feedback, the report, and formgrade pages of the autograded notebooks (and, to show the detector
    works and what the render-time layer alone does, of mallory's notebook as she handed it in)."""
    from traitlets.config import Config

    import hostile_markup as hm
    from grader.engine.gradebook import db_url_for, repo_config
    from grader.engine.pipeline import grade_course
    from grader.engine.report import export_csv, generate_feedback, write_instructor_report

    course = hm.build_class(tmp_path_factory.mktemp("hostile-markup"))
    summary = grade_course(course, demo=True, workers=2, seed=5)
    assert not summary.engine_failures
    export_csv(course, db_url_for(course))
    assert generate_feedback(course, summary.graded) == []
    write_instructor_report(course, db_url_for(course), summary)
    a = hm.ASSIGNMENT
    for student in ("mallory", "alice"):
        _formgrade(course / "autograded" / student / a / f"{a}.ipynb", course / "pages" / f"formgrade-{student}.html",
                   repo_config())
    handed_in = course / "submitted" / "mallory" / a / f"{a}.ipynb"
    _formgrade(handed_in, course / "pages" / "formgrade-handed-in.html", repo_config())
    _formgrade(handed_in, course / "pages" / "formgrade-unsafe.html", Config())  # nbgrader's defaults
    # nbgrader's feedback of the notebook as handed in: what the course configuration alone does
    autograded = course / "autograded" / "mallory" / a / f"{a}.ipynb"
    cleaned = autograded.read_bytes()
    feedback = course / "feedback" / "mallory" / a / f"{a}.html"
    kept = feedback.read_bytes()
    shutil.copyfile(handed_in, autograded)
    assert generate_feedback(course, ["mallory/" + a]) == []
    shutil.copyfile(feedback, course / "pages" / "feedback-handed-in.html")
    autograded.write_bytes(cleaned)
    feedback.write_bytes(kept)
    with served(course) as url:
        yield course, url


def _visit(browser, url: str, scope: str = "body") -> dict:
    browser.goto(url)
    browser.call("Network.enable")
    try:
        seen = browser.evaluate(f"{ACT_AND_LOOK}({json.dumps(scope)}, {json.dumps(HONEST_MARK)})")
    finally:
        browser.call("Network.disable")
    seen["requests"] = [e["params"]["request"]["url"] for e in browser.events
                        if e.get("method") == "Network.requestWillBeSent" and "pwned" in e["params"]["request"]["url"]]
    return seen


def _assert_nothing_ran(seen: dict, honest: bool = True):
    assert seen["pwned"] == [] and seen["requests"] == [], seen
    assert not seen["title"].startswith("PWNED"), seen["title"]
    assert seen["handlers"] == [] and seen["urls"] == [], seen
    assert seen["frames"] == 0 and seen["scripts"] == 0, seen
    if honest:
        assert seen["honest"] and seen["math"], "the honest part of the answer is gone"


PAGES = {"feedback": ("feedback/mallory/eigen_bounds/eigen_bounds.html", "body"),
         "formgrade": ("pages/formgrade-mallory.html", "#notebook-container"),
         "formgrade-handed-in": ("pages/formgrade-handed-in.html", "#notebook-container"),
         "feedback-handed-in": ("pages/feedback-handed-in.html", "body")}


@pytest.mark.parametrize("page", list(PAGES))
def test_no_student_script_runs_in_the_instructors_pages(browser, hostile_course, page):
    _, url = hostile_course
    path, scope = PAGES[page]
    _assert_nothing_ran(_visit(browser, f"{url}/{path}", scope))


def test_no_student_script_runs_in_the_report_and_the_side_by_side_page(browser, hostile_course):
    course, url = hostile_course
    report = _visit(browser, f"{url}/report.html")
    _assert_nothing_ran(report, honest=False)
    assert "<img src=x onerror=" in browser.evaluate("document.body.innerText")  # the file name, as text
    pages = sorted((course / "similarity" / "eigen_bounds").glob("*--mallory.html"))
    assert pages, "mallory's copy of the reference answer was not flagged"
    for page in pages:
        _assert_nothing_ran(_visit(browser, f"{url}/{page.relative_to(course).as_posix()}"), honest=False)
        assert "# </pre><img src=x onerror=" in browser.evaluate("document.body.innerText")


def test_an_honest_answer_renders_as_written(browser, hostile_course):
    _, url = hostile_course
    seen = _visit(browser, f"{url}/pages/formgrade-alice.html", "#notebook-container")
    _assert_nothing_ran(seen)
    items = browser.evaluate("Array.from(document.querySelectorAll('#notebook-container li'))"
                             ".map(li => li.textContent.trim())")
    assert "第一点: 方差" in items and "第二点: 初始化" in items


def test_the_payloads_do_run_where_nothing_is_sanitized(browser, hostile_course):
    """The same notebook through nbgrader's formgrade template with nbconvert's defaults: the detector sees
    the payloads run (so its silence above means something)."""
    course, url = hostile_course
    seen = _visit(browser, f"{url}/pages/formgrade-unsafe.html", "#notebook-container")
    fired = set(seen["pwned"])
    assert {"script", "img_onerror", "details_ontoggle", "iframe_srcdoc", "svg_onload", "md_link", "html_link",
            "tab_link", "autolink", "autofocus", "out_html", "out_md", "out_png_width"} <= fired, " ".join(sorted(fired))
    assert seen["requests"] and seen["handlers"]
    # the JavaScript output needs formgrader's jQuery, which this offline page lacks: it is there to run
    unsafe = (course / "pages" / "formgrade-unsafe.html").read_text()
    assert "var element = $(" in unsafe and "push('out_js')" in unsafe
