"""The book's font comes with the venv, so that a new machine without a CJK font (and without
root to install one) draws the figures' Chinese, and the pages and the PDF show it.

The font is Noto Sans SC from the pinned package ``pylopdf-fonts-zh-cn`` (``book/stability.py``
registers it with matplotlib; ``numstab_book.font`` serves a subset of it with ``@font-face``).
These tests read the figures the book build drew, draw the chapter's labels again as an ordinary
user who sees no system font at all, and check the web font, its licence and the execution cache.
The browser and the PDF halves are in ``tests/test_browser.py``.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup
from fontTools.ttLib import TTFont

from book_fixtures import BOOK, CHAPTER, HTML, ROOT, built_book  # noqa: F401  (a fixture)

sys.path[:0] = [str(BOOK), str(BOOK / "_ext")]
import stability as st  # noqa: E402
from numstab_book import execution, font  # noqa: E402

#: Chinese characters and CJK / full-width punctuation: what DejaVu Sans does not have
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
XLINK = "{http://www.w3.org/1999/xlink}href"


def bundled() -> Path:
    path = st.cjk_font_file()
    assert path is not None, "pylopdf-fonts-zh-cn is not installed: pip install -r requirements.txt"
    return path.resolve()


def glyph_ids(path: Path) -> tuple[str, dict[int, int]]:
    """The font's PostScript name and its code point -> glyph index map (as matplotlib numbers
    glyphs in an SVG's ids: ``<PostScript name>-<glyph index in hex>``)."""
    with TTFont(str(path), lazy=True) as ttf:
        order = {name: i for i, name in enumerate(ttf.getGlyphOrder())}
        return ttf["name"].getDebugName(6), {c: order[g] for c, g in ttf.getBestCmap().items()}


def svg_labels(svg: str) -> list[tuple[str, set[str]]]:
    """Each text of a matplotlib SVG (its ``<!-- text -->`` comment) with the glyphs drawn for it."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    tree = ET.fromstring(svg.encode(), parser=parser)
    labels = []
    for group in tree.iter("{http://www.w3.org/2000/svg}g"):
        if not group.get("id", "").startswith("text_"):
            continue
        comments = [c.text.strip() for c in group.iter() if c.tag is ET.Comment]
        uses = {u.get(XLINK, "").lstrip("#") for u in group.iter("{http://www.w3.org/2000/svg}use")}
        if comments:
            labels.append((comments[0], uses))
    return labels


def assert_drawn_with(svg: str, path: Path) -> list[str]:
    """Every CJK character of every label is the bundled font's glyph (in its cmap, and the glyph
    the SVG uses), and no glyph is a missing one (glyph 0, or matplotlib's LastResort boxes).
    Returns the labels with Chinese in them."""
    name, cmap = glyph_ids(path)
    drawn = set(re.findall(r'<path id="([^"]+)"', svg))
    assert not [g for g in drawn if g.startswith("LastResort") or g.endswith("-0")], \
        f"missing glyphs (tofu) in a figure: {sorted(drawn)}"
    chinese = []
    for label, uses in svg_labels(svg):
        chars = set(CJK.findall(label))
        if not chars or label.startswith("$"):
            continue
        chinese.append(label)
        missing = sorted(c for c in chars if ord(c) not in cmap)
        assert not missing, f"{path.name} has no glyph for {missing} in {label!r}"
        wrong = sorted(c for c in chars if f"{name}-{cmap[ord(c)]:x}" not in uses)
        assert not wrong, f"{label!r}: {wrong} not drawn with {name} (glyphs used: {sorted(uses)})"
    return chinese


def chapter_figures() -> list[Path]:
    soup = BeautifulSoup(CHAPTER.read_text(encoding="utf-8"), "html.parser")
    return [CHAPTER.parent / img["src"] for img in soup.find("main").find_all("img")
            if img["src"].endswith(".svg")]


def test_the_font_is_the_pinned_package_and_free_to_redistribute():
    path = bundled()
    with TTFont(str(path), lazy=True) as ttf:
        names = ttf["name"]
        assert names.getBestFamilyName() == st.CJK_FONT == "Noto Sans SC"
        assert "SIL Open Font License" in names.getDebugName(13)
    pins = (ROOT / "requirements.txt").read_text().splitlines()
    assert any(re.fullmatch(r"pylopdf-fonts-zh-cn==[\d.]+", line) for line in pins)
    assert font.font_file(BOOK) == st.cjk_font_file()  # the extension ships the figures' file
    assert "SIL OPEN FONT LICENSE Version 1.1" in font.licence_text(BOOK)


@pytest.mark.slow
def test_the_figures_draw_their_chinese_with_the_bundled_font(built_book):  # noqa: F811
    figures = chapter_figures()
    assert len(figures) >= 4
    labels = []
    for figure in figures:
        labels += assert_drawn_with(figure.read_text(encoding="utf-8"), bundled())
    assert len(labels) >= 8, labels  # the titles, axis labels and legends of the chapter
    for needle in ("sigmoid 函数", "因子个数 k", "激活值的标准差", "PyTorch 默认"):
        assert needle in labels


@pytest.mark.slow
def test_an_ordinary_user_without_system_fonts_draws_the_chapter_labels(built_book, tmp_path):  # noqa: F811
    """The labels the book's figures carry, drawn again through ``stability.py`` by the ordinary
    account, with ``/usr/share/fonts`` hidden behind an empty tmpfs and a fresh matplotlib cache:
    a new machine with no CJK font, no font at all, and no root.  (Run by an ordinary user, the
    test hides the fonts in a user namespace instead of dropping to the account.)"""
    from unprivileged import account, run_as_user, stage

    labels = sorted({label for figure in chapter_figures()
                     for label, _ in svg_labels(figure.read_text(encoding="utf-8"))
                     if CJK.search(label) and not label.startswith("$")})
    assert len(labels) >= 6, labels
    hide = ("/usr/share/fonts", "/usr/local/share/fonts")
    if os.geteuid() == 0:  # drop to the ordinary account (created on first use)
        user = account()
        uid = user.pw_uid
        mplconfig = Path(tempfile.mkdtemp(prefix="numstab-mplconfig-"))
        os.chown(mplconfig, user.pw_uid, user.pw_gid)
        root = stage()
        staged = root / "repo"
        try:
            run = run_as_user(root, ["python", "-c", DRAW, json.dumps(labels)],
                              dict(os.environ, MPLCONFIGDIR=str(mplconfig), PYTHONWARNINGS=""),
                              timeout=600, hide=hide)
        finally:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(mplconfig, ignore_errors=True)
    else:  # already the ordinary user: hide the fonts in a user namespace of its own
        uid = 0  # the user is mapped to root inside it, with no power outside
        staged = None
        covers = " && ".join(f"mount -t tmpfs tmpfs {p}" for p in hide if Path(p).is_dir())
        run = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "bash", "-c",
                              f'{covers} && exec "$0" "$@"', sys.executable, "-c", DRAW,
                              json.dumps(labels)], cwd=ROOT, capture_output=True, text=True,
                             timeout=600, env=dict(os.environ, MPLCONFIGDIR=str(tmp_path),
                                                   PYTHONWARNINGS=""))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert run.stderr == "", run.stderr[-4000:]  # no "Glyph ... missing", no "findfont" warning
    result = json.loads(run.stdout)
    assert result["uid"] == uid
    assert result["system_fonts"] == [] and result["fonts_dir"] == [], result
    # the ordinary account sees the checkout bound under the stage's repo/: the same file by another path
    resolved = {r.replace(str(staged), str(ROOT), 1) if staged else r for r in result["resolved"]}
    assert resolved == {str(bundled())}, result["resolved"]
    assert result["drawn"] == labels
    assert sorted(set(assert_drawn_with(result["svg"], bundled()))) == labels


# Run as the ordinary account: the chapter's way of drawing (stability's rcParams, setup_axes),
# every warning an error, and matplotlib's own log (findfont) on stderr.
DRAW = r"""
import io, json, logging, os, sys, warnings
warnings.simplefilter("error")
logging.basicConfig(level=logging.WARNING)
labels = json.loads(sys.argv[1])
sys.path.insert(0, "book")
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
from matplotlib import font_manager as fm
import stability as st

fig, ax = plt.subplots(figsize=(8, 6))
for i, label in enumerate(labels):
    ax.plot([0, 1], [i, i + 1], label=label)
st.setup_axes(ax, xlabel=labels[0], ylabel=labels[-1], title=labels[len(labels) // 2])
out = io.BytesIO()
fig.savefig(out, format="svg")
texts = [ax.xaxis.label, ax.yaxis.label, ax.title, *ax.get_legend().get_texts()]
drawn = sorted({t.get_text() for t in texts})
print(json.dumps({
    "uid": os.getuid(),
    "resolved": sorted({os.path.realpath(fm.findfont(t.get_fontproperties(), fallback_to_default=False))
                        for t in texts}),
    "system_fonts": sorted({f.fname for f in fm.fontManager.ttflist if not f.fname.startswith(sys.prefix)
                            and "site-packages" not in f.fname}),
    "fonts_dir": os.listdir("/usr/share/fonts") if os.path.isdir("/usr/share/fonts") else [],
    "drawn": drawn,
    "svg": out.getvalue().decode(),
}))
"""


@pytest.mark.slow
def test_the_pages_carry_a_subset_of_the_font_with_its_licence(built_book):  # noqa: F811
    page = CHAPTER.read_text(encoding="utf-8")
    assert f'href="_static/{font.CSS}' in page
    css = (HTML / "_static" / font.CSS).read_text(encoding="utf-8")
    assert f'font-family: "{st.CJK_FONT}"' in css and f"url(\"{font.FOLDER}/{font.WEBFONT}\")" in css
    webfont = HTML / "_static" / font.FOLDER / font.WEBFONT
    licence = HTML / "_static" / font.FOLDER / font.LICENCE
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence.read_text(encoding="utf-8")
    with TTFont(str(webfont)) as ttf:
        cmap = ttf.getBestCmap()
        assert ttf.flavor == "woff" and ttf["name"].getBestFamilyName() == st.CJK_FONT
        assert "SIL Open Font License" in ttf["name"].getDebugName(13)  # the licence travels inside
    used = {c for path in HTML.glob("*.html") for c in CJK.findall(path.read_text(encoding="utf-8"))}
    assert len(used) > 500
    assert sorted(c for c in used if ord(c) not in cmap) == []
    size = webfont.stat().st_size
    print(f"\nweb font: {len(cmap)} characters, {size / 1024:.0f} KiB "
          f"(the full font: {bundled().stat().st_size / 2**20:.1f} MiB)")
    assert size < 1_000_000


def test_the_execution_cache_is_keyed_on_the_font(tmp_path, monkeypatch):
    """Same helpers, another font file: the cache (outputs drawn with the old font) is dropped."""
    package = tmp_path / "site" / "fakefont"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "Font.otf").write_bytes(b"one font")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    src = tmp_path / "book"
    src.mkdir()
    (src / "stability.py").write_text('CJK_FONT_RESOURCE = ("fakefont", "Font.otf")\n')
    cache = tmp_path / "_build" / ".jupyter_cache"
    app = SimpleNamespace(srcdir=str(src))
    config = SimpleNamespace(nb_execution_cache_path=str(cache))

    def fill_and_rerun():
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "global.db").write_text("outputs")
        execution._invalidate_cache_when_helpers_change(app, config)

    execution._invalidate_cache_when_helpers_change(app, config)  # first build: records the stamp
    fill_and_rerun()
    assert (cache / "global.db").is_file(), "an unchanged font must keep the cache"
    (package / "Font.otf").write_bytes(b"another font")
    fill_and_rerun()
    assert not cache.exists(), "outputs drawn with another font survived"
    fill_and_rerun()
    assert (cache / "global.db").is_file()
    (package / "Font.otf").unlink()  # the package gone: the figures would change too
    fill_and_rerun()
    assert not cache.exists()


def test_without_the_package_the_build_says_what_to_install(tmp_path):
    src = tmp_path / "book"
    src.mkdir()
    (src / "stability.py").write_text('CJK_FONT_RESOURCE = ("no_such_font_package", "Font.otf")\n')
    with pytest.raises(font.SphinxError, match=r"pip install -r requirements.txt.*no-such-font-package"):
        font.font_file(src)
    assert font.font_digest(src) == ""


def test_stability_draws_without_warnings_in_this_process():
    """The same check in-process (fast): the bundled font resolves for a Chinese label and saving
    the figure warns about no missing glyph."""
    import warnings

    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager as fm

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="PyTorch 默认")  # the chapter's legend (its cells name the schemes)
    st.setup_axes(ax, xlabel="因子个数 k", ylabel="梯度的标准差", title="tanh 激活")
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(out, format="svg")
    plt.close(fig)
    assert Path(fm.findfont(ax.xaxis.label.get_fontproperties())).resolve() == bundled()
    assert len(assert_drawn_with(out.getvalue(), bundled())) == 4
