"""The HTML book builds without a warning and shows the whole chapter, in every edition.

The builds (``make book``'s commands, into ``_build/html/<lang>``) run once per session:
see ``tests/book_fixtures.py``.  Tests that read a page run once per language.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
import time

import subprocess

import nbformat
import pytest
from bs4 import BeautifulSoup

from book_fixtures import (  # noqa: F401  (built_book is a fixture)
    BOOK, BUILD, CHAPTER, HEADINGS, HEADINGS_BY_LANGUAGE, HTML, HTML_ROOT, LABELS, LANGUAGES, ROOT,
    SOURCE_LANGUAGE, built_book, chapter, html_dir, jupyter_execute, pdf_command, run_sphinx,
)

sys.path.insert(0, str(BOOK))
import stability as st  # noqa: E402
from grader.layout import ASSIGNMENTS, EXERCISES  # noqa: E402

pytestmark = pytest.mark.slow

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
LOCALE = BOOK / "locale"


@pytest.fixture(scope="module", params=LANGUAGES)
def lang(request):
    return request.param


def _soup(language: str) -> BeautifulSoup:
    return BeautifulSoup(chapter(language).read_text(encoding="utf-8"), "html.parser")


def _text(soup: BeautifulSoup) -> str:
    main = soup.find("main") or soup
    return re.sub(r"\s+", " ", main.get_text(" "))


@pytest.fixture(scope="module")
def soup(built_book, lang):  # noqa: F811
    return _soup(lang)


@pytest.fixture(scope="module")
def text(soup):
    return _text(soup)


def _heading_text(tag) -> str:
    return tag.get_text("", strip=True).rstrip("#").strip()


# -- the build ----------------------------------------------------------------

def test_build_has_no_warnings_or_errors(built_book):  # noqa: F811
    assert built_book.returncode == 0
    assert "WARNING" not in built_book.stderr, built_book.stderr[-4000:]
    assert "ERROR" not in built_book.stderr, built_book.stderr[-4000:]
    assert "Traceback" not in built_book.log


def test_index_leads_to_the_chapter(built_book, lang):  # noqa: F811
    index = BeautifulSoup((html_dir(lang) / "index.html").read_text(encoding="utf-8"), "html.parser")
    main = index.find("main")
    assert any(a.get("href", "").startswith("numerical-stability.html") for a in main.find_all("a"))
    assert index.find("html").get("lang") == lang.replace("_", "-")


def test_the_root_leads_to_the_chinese_edition_and_names_the_others(built_book):  # noqa: F811
    root = BeautifulSoup((HTML_ROOT / "index.html").read_text(encoding="utf-8"), "html.parser")
    refresh = root.find("meta", attrs={"http-equiv": "refresh"})
    assert refresh and refresh["content"].endswith(f"url={SOURCE_LANGUAGE}/index.html")
    hrefs = {a["href"] for a in root.find_all("a")}
    assert {f"{language}/index.html" for language in LANGUAGES} <= hrefs


def test_every_section_heading_in_order(soup, lang):
    found = [(t.name, _heading_text(t)) for t in soup.find("main").find_all(["h1", "h2", "h3"])]
    positions = []
    for heading in HEADINGS_BY_LANGUAGE[lang]:
        assert heading in found, f"missing heading {heading}; found {found}"
        positions.append(found.index(heading))
    # 额外阅读 may come before 小结; everything else in the order of the brief
    assert positions == sorted(positions)


def test_every_section_carries_its_language_neutral_label(soup, lang):
    """``numerical-stability.html#<label>`` opens the same section in every edition (the exercises'
    and the feedback's links rely on it); the label's section holds the edition's heading."""
    headings = dict(zip(LABELS, HEADINGS_BY_LANGUAGE[lang]))
    for label in LABELS:
        section = soup.find("section", id=label) or soup.find(id=label)
        assert section is not None, f"no element with id {label!r}"
        if section.name != "section":
            section = section.find_next("section")
        heading = section.find(["h1", "h2", "h3"])
        assert (heading.name, _heading_text(heading)) == headings[label], label


def test_the_page_names_the_other_edition_of_itself(soup, lang):
    """The language switch (language-switch.js) turns these links into the header's switch."""
    links = soup.find_all("link", rel="alternate", hreflang=True)
    assert {l["href"] for l in links} == {f"../{other}/numerical-stability.html"
                                         for other in LANGUAGES if other != lang}
    assert any("language-switch.js" in s.get("src", "") for s in soup.find_all("script"))
    assert (html_dir(lang) / "_static" / "language-switch.js").is_file()


# -- content ------------------------------------------------------------------

def test_figures_are_rendered_and_non_empty(soup, lang):
    images = soup.find("main").find_all("img")
    assert len(images) >= 3
    for img in images:
        path = chapter(lang).parent / img["src"]
        assert path.is_file(), img["src"]
        data = path.read_bytes()
        assert len(data) > 5_000, f"{img['src']} is suspiciously small"
        if path.suffix == ".svg":
            assert b"<svg" in data[:2000] and b"<path" in data
        assert img.get("alt") and not img["alt"].startswith("_images/"), "figure without alt text"


#: words each figure of the chapter shows, per edition (matplotlib writes each text of an SVG as a
#: comment beside its glyph paths)
FIGURE_WORDS = {
    "zh_CN": ["导数", "因子个数 k", "激活值的标准差", "梯度的标准差", "PyTorch 默认"],
    "en": ["derivative", "number of factors k", "std of activations", "std of gradients",
           "PyTorch default"],
}


def test_figures_speak_the_language_of_their_page(soup, lang):
    svgs = "".join((chapter(lang).parent / img["src"]).read_text(encoding="utf-8")
                   for img in soup.find("main").find_all("img") if img["src"].endswith(".svg"))
    for word in FIGURE_WORDS[lang]:
        assert f"<!-- {word}" in svgs or word in svgs, f"{word!r} is on no figure of the {lang} page"
    if lang != SOURCE_LANGUAGE:
        assert not CJK.findall(svgs), "Chinese left on a figure of the English edition"
        assert all(not CJK.search(img.get("alt", "")) for img in soup.find("main").find_all("img"))


def test_display_math(soup):
    blocks = soup.select("div.math")
    assert len(blocks) >= 12
    tex = " ".join(b.get_text() for b in blocks)
    for needle in [r"\psi", r"\mathbf{J}^{(L)}", r"\frac{2}{n_\textrm{in} + n_\textrm{out}}",
                   r"\sqrt{\frac{6}{n_\textrm{in} + n_\textrm{out}}}", r"\frac{1}{4}",
                   r"\frac{1}{3\,n_\textrm{in}}", r"\lambda^{(l)} = \eta"]:
        assert needle in tex, needle
    assert "$$" not in soup.find("main").get_text()


def test_no_error_outputs(soup, text):
    main = soup.find("main")
    assert not main.select(".output.traceback, .output.error, .output.stderr")
    assert "Traceback" not in text
    assert not re.search(r"\b\w*Error\b", " ".join(o.get_text() for o in main.select(".output")))
    # myst-nb prints this when a glue key is missing
    assert "could not find" not in text.lower()


def test_every_code_cell_ran(built_book, lang):  # noqa: F811
    nb = nbformat.read(html_dir(lang) / "_sources" / "numerical-stability.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 10
    for cell in code:
        assert cell.execution_count is not None, cell.source[:60]
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out
            assert not (out.output_type == "stream" and out.name == "stderr"), out.text


def test_bibliography(soup, text):
    bib = soup.select("div.citation, .citation")
    assert len(bib) >= 8
    for needle in ["Glorot", "Understanding the difficulty of training deep feedforward",
                   "Xiao", "Dynamical isometry and a mean field theory of CNNs",
                   "You", "Large batch training of convolutional networks",
                   "He", "Delving deep into rectifiers", "Newman",
                   "The distribution of Lyapunov exponents", "Pennington"]:
        assert needle in text, needle
    # every in-text citation resolves to an entry of the list
    cites = [a for a in soup.find("main").find_all("a", href=True) if a["href"].startswith("#id")]
    assert len(cites) >= 10
    ids = {tag.get("id") for tag in soup.find_all(id=True)}
    assert all(a["href"][1:] in ids for a in cites)
    assert "Glorot and Bengio, 2010" in text


def _number_after(text: str, prefix: str) -> float:
    match = re.search(re.escape(prefix) + r"\s*([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)", text)
    assert match, f"no number after {prefix!r}"
    return float(match.group(1))


def test_glued_numbers_are_in_the_prose_and_true(built_book):  # noqa: F811
    text = _text(_soup(SOURCE_LANGUAGE))
    assert _number_after(text, "自动微分给出的最大导数是") == pytest.approx(0.25, abs=1e-4)
    assert _number_after(text, r"出现在 \(x\) =") == 0.0
    # Lyapunov exponent for n = 4, sigma = 1 and 2
    assert _number_after(text, "经验增长率为") == pytest.approx(st.lyapunov_gaussian(4, 1.0), abs=0.01)
    assert _number_after(text, "理论值为") == pytest.approx(st.lyapunov_gaussian(4, 1.0), abs=1e-4)
    assert _number_after(text, "实际上增长率却是") == pytest.approx(st.lyapunov_gaussian(4, 0.5), abs=0.01)
    assert _number_after(text, r"也就是 \(10\) 的") == pytest.approx(
        101 * st.lyapunov_gaussian(4, 1.0) / math.log(10), abs=0.05)
    # the interactive figure's critical sigma for n = 2 and n = 32
    assert _number_after(text, "临界值升到") == pytest.approx(math.exp(-st.lyapunov_gaussian(2, 1.0)), abs=1e-3)
    assert _number_after(text, "它降到") == pytest.approx(math.exp(-st.lyapunov_gaussian(32, 1.0)), abs=1e-3)
    # symmetry: hidden units stay identical under constant init, random init differs
    assert _number_after(text, "各隐藏单元权重行之间的最大差是") == 0.0
    assert _number_after(text, "随机初始化让每个单元从不同的位置出发（行间差为") > 0.1
    assert _number_after(text, "同样能把对称性打破（行间差为") > 0.1
    # PyTorch's default variance 1 / (3 fan_in)
    assert _number_after(text, "经验方差与理论值之比为") == pytest.approx(1.0, abs=0.02)
    # the per-layer figure
    assert _number_after(text, "第 50 层激活值的标准差达到") > 1e40
    assert _number_after(text, "第 1 层梯度") > 0.01
    for key in ["0.2500", "0.558"]:
        assert key in text


def _glue_values(language: str) -> dict[str, str]:
    data = json.loads((jupyter_execute(language) / "numerical-stability.glue.json").read_text())
    return {key: value["data"]["text/plain"] for key, value in data.items()}


def test_every_edition_glues_the_same_numbers(built_book):  # noqa: F811
    """Each edition runs its own (translated) cells: they must compute the same numbers, and its
    prose must show them (the same multiset of pasted values)."""
    source = _glue_values(SOURCE_LANGUAGE)
    pasted = {language: sorted(span.get_text() for span in _soup(language).select("span.pasted-text"))
              for language in LANGUAGES}
    assert len(source) >= 25 and len(pasted[SOURCE_LANGUAGE]) >= 30
    for language in LANGUAGES:
        assert _glue_values(language) == source, language
        assert pasted[language] == pasted[SOURCE_LANGUAGE], language


def test_english_prose_states_the_numbers(built_book):  # noqa: F811
    text = _text(_soup("en"))
    assert _number_after(text, "The largest derivative automatic differentiation finds is") == pytest.approx(0.25, abs=1e-4)
    assert _number_after(text, "For \\(\\sigma = 1\\) the empirical growth rate is") == pytest.approx(
        st.lyapunov_gaussian(4, 1.0), abs=0.01)
    assert _number_after(text, "the largest difference between the hidden units’ weight rows is") == 0.0
    assert _number_after(text, "The ratio of the empirical variance to the theoretical value is") == pytest.approx(1.0, abs=0.02)


def test_the_english_edition_has_no_chinese_left(built_book):  # noqa: F811
    """Every message a reader sees is translated: page text, titles, alt text, code and outputs."""
    for page in ("index.html", "numerical-stability.html", "search.html"):
        soup = BeautifulSoup((html_dir("en") / page).read_text(encoding="utf-8"), "html.parser")
        for tag in soup(["script", "style"]):
            tag.decompose()
        for link in soup.find_all("a", hreflang=True):  # the switch names Chinese in Chinese
            link.decompose()
        found = CJK.findall(soup.get_text(" ")) + [c for img in soup.find_all("img") for c in CJK.findall(img.get("alt", ""))]
        assert not found, f"{page}: {''.join(found)[:200]}"


def test_notebook_download(soup, built_book, lang):  # noqa: F811
    HTML = html_dir(lang)  # noqa: N806
    path = HTML / "_sources" / "numerical-stability.ipynb"
    assert path.is_file()
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), "the download is not the executed notebook"
    assert any(c.get("outputs") for c in code)
    hrefs = [a.get("href", "") for a in soup.find_all("a")]
    assert "_sources/numerical-stability.ipynb" in hrefs
    assert soup.select(".btn-download-notebook-button")  # the theme's ".ipynb" download entry
    # the helper module the notebook imports is downloadable too
    helper = [h for h in hrefs if h.endswith("stability.py")]
    assert helper and (HTML / helper[0]).is_file()
    # the download is the edition's own notebook: its code and outputs in its language
    english = [c for c in code if "number of factors k" in c.source]
    chinese = [c for c in code if "因子个数 k" in c.source]
    assert (english, chinese)[lang == SOURCE_LANGUAGE] and not (chinese, english)[lang == SOURCE_LANGUAGE]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_exercise_downloads(soup, lang, name):
    href = f"exercises/{name}.ipynb"
    assert href in [a.get("href") for a in soup.find_all("a")]
    shipped = html_dir(lang) / href
    nb = nbformat.read(shipped, as_version=4)
    _, normalized = nbformat.validator.normalize(nb)  # cell ids may be missing: fine
    nbformat.validate(normalized)
    # an edition hands out the release in its language where there is one (exercises/<lang>/<a>/)
    translated = EXERCISES / lang / name / f"{name}.ipynb"
    source = translated if lang != SOURCE_LANGUAGE and translated.is_file() else EXERCISES / name / f"{name}.ipynb"
    if source.is_file():
        assert shipped.read_bytes() == source.read_bytes()
    else:
        assert "练习尚未发布" in nb.cells[0].source


def _search_terms(language: str) -> set[str]:
    raw = (html_dir(language) / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(raw[raw.index("(") + 1: raw.rindex(")")])
    return set(index["terms"]) | set(index["titleterms"])


def test_english_search_index(built_book):  # noqa: F811
    """English words, stemmed as Sphinx's English search stems a query ("vanishing" -> "vanish")."""
    terms = _search_terms("en")
    for word in ["vanish", "explod", "gradient", "xavier", "symmetri", "jacobian", "lyapunov",
                 "dropout", "varianc", "initi"]:
        assert word in terms, word
    assert not {t for t in terms if CJK.search(t)}
    language_data = (html_dir("en") / "_static" / "language_data.js").read_text(encoding="utf-8")
    assert "EnglishStemmer" in language_data


def test_chinese_search_index(built_book):  # noqa: F811
    terms = _search_terms(SOURCE_LANGUAGE)
    for word in ["梯度消失", "梯度爆炸", "初始化", "对称性", "雅可比矩阵", "李雅普诺夫指数", "暂退法", "方差"]:
        assert word in terms, word
    language_data = (HTML / "_static" / "language_data.js").read_text(encoding="utf-8")
    assert "ChineseStemmer" not in language_data  # Sphinx 9.0 bug, worked around in numstab_book.chinese_search


def test_mathjax_is_shipped_or_from_cdn(soup, lang):
    scripts = [s.get("src", "") for s in soup.find_all("script")]
    mathjax = [s for s in scripts if "tex-mml-chtml" in s]
    assert len(mathjax) == 1
    if not mathjax[0].startswith("http"):
        assert (html_dir(lang) / mathjax[0].split("?")[0]).is_file()


# -- caching --------------------------------------------------------------------

def _executed(log: str) -> bool:
    return "Executing notebook" in log or "Executed notebook" in log


@pytest.mark.parametrize("language", LANGUAGES)
def test_rebuild_without_changes_executes_nothing(built_book, language):  # noqa: F811
    again = run_sphinx(language=language)
    assert again.returncode == 0 and "WARNING" not in again.stderr
    assert not _executed(again.log), again.log[-3000:]
    assert "no targets are out of date" in again.log or "0 source files" in again.log


@pytest.mark.parametrize("language", LANGUAGES)
def test_touched_page_is_reread_but_served_from_the_cache(built_book, language):  # noqa: F811
    page = BOOK / "numerical-stability.md"
    download = html_dir(language) / "_sources" / "numerical-stability.ipynb"
    before = nbformat.read(download, as_version=4)
    now = time.time()
    os.utime(page, (now, now))  # Sphinx sees a changed page; its cells are the same
    again = run_sphinx(language=language)
    assert again.returncode == 0 and "WARNING" not in again.stderr
    assert "numerical-stability" in again.log  # it was re-read ...
    assert "Using cached notebook" in again.log, again.log[-3000:]  # ... from jupyter-cache
    assert not _executed(again.log)
    # and the download still carries the (cached) outputs
    after = nbformat.read(download, as_version=4)
    assert [c.get("outputs") for c in after.cells] == [c.get("outputs") for c in before.cells]
    assert all(c.execution_count for c in after.cells if c.cell_type == "code")


# -- a cell that writes to stderr fails the build -------------------------------------

STDERR_PAGE = """---
file_format: mystnb
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# 一页

```{code-cell} ipython3
print("fine")
```

```{code-cell} ipython3
import warnings
warnings.warn("a warning a reader would see as a red block")
```
"""


def test_no_page_has_a_stderr_block(built_book):  # noqa: F811
    pages = sorted(HTML_ROOT.glob("*/*.html"))
    assert all(chapter(language) in pages for language in LANGUAGES) and len(pages) >= 6
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        assert not soup.select(".output.stderr, .stderr"), f"{page.name} shows stderr output"
    for download in HTML_ROOT.glob("*/_sources/*.ipynb"):
        nb = nbformat.read(download, as_version=4)
        assert not [o for c in nb.cells for o in c.get("outputs", [])
                    if o.get("output_type") == "stream" and o.get("name") == "stderr"], download.name


def test_a_cell_that_writes_to_stderr_fails_the_build_and_is_named(tmp_path):
    """The book's own configuration on a one-page book whose second cell warns: the build fails,
    naming the page, the line and the cell, and fails again on a rebuild (the page is read again
    even though it did not change; its outputs come from the cache)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.md").write_text(STDERR_PAGE, encoding="utf-8")
    shutil.copy(BOOK / "stability.py", src / "stability.py")  # names the book's font
    command = [sys.executable, "-m", "sphinx", "-c", ".", "-W", "--keep-going", "-n",
               "-D", f"nb_execution_cache_path={tmp_path / 'cache'}", "-b", "html",
               str(src), str(tmp_path / "out")]
    runs = [subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
            for _ in range(2)]
    lines = STDERR_PAGE.splitlines()
    start = max(i for i, text in enumerate(lines, 1) if text == "```{code-cell} ipython3")
    for run in runs:
        assert run.returncode != 0, run.stdout[-2000:]
        found = re.search(r"index\.md:(\d+): WARNING: stderr was found in the cell outputs of cell 3",
                          run.stderr)
        assert found, run.stderr[-3000:]
        assert start <= int(found.group(1)) < len(lines), "not the line of the warning cell"
    assert "Using cached notebook" in runs[1].stdout + runs[1].stderr  # re-read, not re-run


# -- make pdf without what it needs ----------------------------------------------

NO_FONTS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig></fontconfig>
"""


def test_make_pdf_says_in_one_line_what_to_install(tmp_path):
    env = {**os.environ, "CHROMIUM": str(tmp_path / "no-chromium")}
    # make pdf's first step
    check = subprocess.run([sys.executable, "book/_ext/numstab_book/chromium.py"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode != 0
    assert check.stdout == "" and check.stderr.count("\n") == 1, check.stderr
    assert "make pdf needs chromium: run `make system-deps`" in check.stderr
    # and the builder itself (what make release runs) stops before building anything
    build = subprocess.run(pdf_command()[:-1] + [str(tmp_path / "out")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert build.returncode != 0 and "make pdf needs chromium" in build.stderr
    assert not (tmp_path / "out" / "index.html").exists()


def test_make_pdf_needs_no_system_font(tmp_path):
    """Fontconfig without a single font: the check asks for nothing (the book brings its font)."""
    (tmp_path / "fonts.conf").write_text(NO_FONTS)
    env = {**os.environ, "FONTCONFIG_FILE": str(tmp_path / "fonts.conf")}
    code = ("import sys; sys.path.insert(0, 'book/_ext'); "
            "from numstab_book import chromium; "
            "chromium.find_chromium = lambda: '/usr/bin/chromium'; print(repr(chromium.missing()))")
    check = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    assert check.returncode == 0 and check.stdout.strip() == "''", check.stdout + check.stderr
