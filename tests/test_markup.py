"""What a student wrote is shown as data: markup cleaned with nh3 (grader/engine/markup.py), control
characters escaped on the terminal and in the report (grader/engine/escape.py), through the real engine.

The browser half (no payload ever runs in the feedback, formgrade and report pages) is in
tests/test_browser.py; this module needs no browser.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings, strategies as st

from grader.engine.escape import for_html, for_terminal
from grader.engine.gradebook import Gradebook, db_url_for
from grader.engine.markup import (_events, clean_highlighted_code, clean_html, clean_markdown, clean_notebook,
                                  render_markdown)
from grader.layout import REPO

sys.path.insert(0, str(Path(__file__).parent))
import hostile_markup as hm  # noqa: E402

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


# -- text for the terminal and the report -------------------------------------------

def test_for_terminal_shows_every_control_character_as_its_escape():
    assert for_terminal("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert for_terminal("\x1b]0;title\x07") == "\\x1b]0;title\\x07"
    assert for_terminal("over\rwrite") == "over\\rwrite"
    assert for_terminal("\x9b31m C1 CSI, \x00, \x7f") == "\\x9b31m C1 CSI, \\x00, \\x7f"
    assert for_terminal("evil\u202etxt.exe\u2066\u2069") == "evil\\u202etxt.exe\\u2066\\u2069"
    assert for_terminal("行一\n\t行二：梯度 σ² ≤ 1") == "行一\n\t行二：梯度 σ² ≤ 1"  # text and layout stay
    assert for_terminal("fake\nalice/divergence: 12/12", one_line=True) == "fake\\nalice/divergence: 12/12"


def test_for_html_escapes_markup_and_controls():
    assert for_html('<img src=x onerror="a()">\x1b[31m') == "&lt;img src=x onerror=&quot;a()&quot;&gt;\\x1b[31m"
    assert for_html("a & b\u202e") == "a &amp; b\\u202e"


@settings(database=None)  # writes nothing into the checkout
@given(st.text())
def test_nothing_a_terminal_obeys_survives(text):
    out = for_terminal(text, one_line=True)
    assert not CONTROLS.search(out) and "\n" not in out and "\t" not in out
    assert not CONTROLS.search(for_terminal(text).replace("\n", "").replace("\t", ""))
    html = for_html(text)
    assert "<" not in html and ">" not in html and '"' not in html and not CONTROLS.search(html)


# -- markdown, outputs, notebooks ---------------------------------------------------

def test_an_ordinary_written_answer_is_kept_as_written():
    for source in [hm.HONEST_ANSWER, "$x<y$ 与 $y>z$", "a < b, b > c & d", "| a | b |\n|---|---|\n| 1 | 2 |",
                   "```python\nx = 1 < 2\n```", "## 小节\n\n[书](https://example.org) <https://example.org>",
                   "a<br>b <sub>2</sub> *斜* **粗** `code < 1`", "> 引用\n\n1. 一\n2. 二"]:
        assert clean_markdown(source) == (source, []), source
    rendered = render_markdown(hm.HONEST_ANSWER)
    assert "$a &lt; b$" in rendered and "\\prod_{l=1}^{L}" in rendered  # math reaches MathJax whole


@pytest.mark.parametrize("name", list(hm.markdown_payloads()))
def test_each_payload_is_removed_and_the_answer_kept(name):
    source = hm.HONEST_ANSWER + "\n\n" + hm.markdown_payloads()[name]
    cleaned, what = clean_markdown(source)
    assert what, f"{name}: nothing removed"
    html = render_markdown(cleaned)
    _assert_inert(html, name)
    assert hm.HONEST_MARK in html and "$a &lt; b$" in html and "\\prod_{l=1}^{L}" in html
    assert clean_markdown(cleaned) == (cleaned, [])  # the cleaned source renders as itself


def _assert_inert(html: str, name: str = "", ours=frozenset()):
    """No script, no event handler, no javascript:/data: link, nothing that loads a document, in ``html``
    as a parser sees it; ``ours``: the tags of the page's own frame (its <meta>, <style>, histogram)."""
    for event in _events(html):
        if event[0] == "start":
            tag, attrs = event[1], dict(event[2])
            assert tag in ours or tag not in {"script", "iframe", "object", "embed", "svg", "math", "form", "input",
                                              "button", "meta", "base", "link", "style"}, (name, tag)
            assert not [a for a in attrs if a.startswith("on") or a in ("srcdoc", "formaction", "action")], (name, attrs)
            for key in ("href", "src"):
                url = re.sub(r"[\x00-\x20]", "", attrs.get(key, "")).lower()
                assert not url.startswith(("javascript:", "vbscript:", "data:text")), (name, attrs)


MARKUPISH = st.lists(st.sampled_from(list("<>/=\"' \n$*[]()!&#;:`-") + ["script", "img", "a", "href", "src", "x",
                                                                         "onerror", "javascript", "svg"]),
                     max_size=40).map("".join)


@settings(database=None, max_examples=300, deadline=None)
@given(MARKUPISH)
def test_whatever_markdown_a_student_writes_renders_inert(source):
    cleaned, what = clean_markdown(source)
    _assert_inert(render_markdown(cleaned), source)
    assert clean_markdown(cleaned)[0] == cleaned


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=10)
CELL = st.fixed_dictionaries({"cell_type": st.sampled_from(["markdown", "raw", "code", "x"])},
                             optional={"source": JSON, "metadata": JSON, "outputs": JSON, "attachments": JSON,
                                       "execution_count": JSON})


@settings(database=None, max_examples=300, deadline=None)
@given(st.fixed_dictionaries({"cells": st.lists(CELL | JSON, max_size=4)}, optional={"metadata": JSON}))
def test_a_notebook_of_any_shape_is_cleaned_without_an_exception(nb):
    notes = clean_notebook(nb)
    assert all(isinstance(n, str) for n in notes)


def test_the_notebook_is_cleaned_cell_by_cell():
    nb = nbformat.from_dict(hm.hostile_notebook())
    nb.cells.append(nbformat.v4.new_markdown_cell("x", metadata={"nbgrader": {
        "grade_id": '"><img src=x onerror=a()>', "solution": True, "grade": False, "locked": False}}))
    notes = clean_notebook(nb, "en")
    assert set(nb.metadata) <= {"kernelspec", "language_info"}  # no widget state, no title
    assert len(notes) == 4 and all(re.match(r"cell \d+: removed from", n) for n in notes), notes
    assert "<script>" in notes[0] and "onerror= on <img>" in notes[0] and "application/javascript output" in notes[3]
    assert "nbgrader" not in nb.cells[-1].metadata  # formgrader would have put that id into an attribute
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            _assert_inert(render_markdown(cell.source))
        elif cell.cell_type == "raw":
            _assert_inert(cell.source)
    outputs = nb.cells[-2].outputs
    assert outputs[0].data["text/html"] == "<b>粗</b><img src=\"x\">"
    assert outputs[1].data == {"text/plain": "js"}  # the JavaScript is gone, its text stays
    assert outputs[2].data == {"text/plain": "[output removed for the instructor's pages: image/svg+xml]"}
    _assert_inert(render_markdown(outputs[3].data["text/markdown"]))
    assert outputs[4].metadata == {}  # its width went into an unquoted attribute
    assert outputs[5].execution_count == 1 and outputs[5].data == {"text/plain": "1"}
    nbformat.validate(nb)


def test_markup_too_deep_to_parse_in_time_is_shown_as_text():
    """html5ever takes 36 s on 100,000 nested <div>s (quadratic): past the limits, markup is never parsed."""
    import time

    from grader.engine import markup

    started = time.monotonic()
    for deep, why in (("<div>" * 100_000, "characters is over its limit"), ("<div>" * 30_000, "over 5000 tags")):
        cleaned, what = clean_markdown(deep + "<img src=x onerror=a()>", language="en")
        assert len(what) == 1 and what[0].startswith("shown as text (") and why in what[0], what
        assert cleaned.startswith("<div><pre>&lt;div&gt;") and cleaned.count("<") == 4
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("<div>" * (markup.MAX_PIECE_TAGS - 1))
                                         for _ in range(200)])
    notes = clean_notebook(nb, "en")
    assert "over the notebook's limit" in notes[-1] and len(notes) == 200
    for cell in nb.cells:
        _assert_inert(render_markdown(cell.source))
    deep = nbformat.v4.new_output("display_data", data={"text/html": "<div>" * 6000 + "<script>a()</script>"})
    assert markup.clean_output(deep, language="en")[0].startswith("shown as text (over 5000 tags")
    assert deep.data["text/html"].startswith("<pre>&lt;div&gt;") and deep.data["text/html"].count("<") == 2
    assert time.monotonic() - started < 20  # about 2 s here; unbounded before the limits


def test_html_outputs_lose_script_and_keep_content():
    assert clean_html('<table><tr><td style="x" onclick="a()">1</td></tr></table><script>a()</script>') == \
        "<table><tbody><tr><td>1</td></tr></tbody></table>"
    assert clean_html('<img src="data:image/png;base64,iVBO"><a href="data:text/html,x">d</a>') == \
        '<img src="data:image/png;base64,iVBO"><a>d</a>'
    for href in ("&#1;data:text/html,x", "da&#9;ta:text/html,x", " DATA:text/html,x", "java&#10;script:a()"):
        assert clean_html(f'<a href="{href}">d</a><img src="{href}">') == "<a>d</a><img>", href


def test_the_side_by_side_code_keeps_only_its_highlights():
    raw = "x = 1 &lt; 2\n<span class='highlight-red'>y = 2\n</span><script>a()</script><img src=x onerror=a()>\x1b[2J"
    assert clean_highlighted_code(raw) == 'x = 1 &lt; 2\n<span class="highlight-red">y = 2\n</span>\\x1b[2J'


# -- through the real engine --------------------------------------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """``python -m grader grade`` on two honest students and mallory, as an instructor runs it.  Without
    the feedback: the unprivileged pass's interpreter (Debian's Python 3.11.2) cannot compile the CSS
    selector nbconvert's HTML export runs through soupsieve; tests/test_browser.py generates it."""
    course = hm.build_class(tmp_path_factory.mktemp("markup"))
    run = subprocess.run([sys.executable, "-m", "grader", "grade", str(course), "--demo", "--workers", "2",
                          "--seed", "5", "--no-feedback"], cwd=REPO, capture_output=True, timeout=900,
                         env={**os.environ, "TERM": "dumb", "COLUMNS": "200"})
    return course, run


def test_the_run_ends_well_and_writes_everything(graded):
    course, run = graded
    assert run.returncode == 0, (run.stdout + run.stderr).decode(errors="replace")[-4000:]
    assert (course / "report.html").is_file() and (course / "grades.csv").is_file()


def test_mallory_is_graded_like_the_honest_students(graded):
    course, _ = graded
    with Gradebook(db_url_for(course)) as gb:
        got = {s.student.id: s.code_score for s in gb.find_assignment(hm.ASSIGNMENT).submissions}
        full = sum(c.max_score for c in gb.find_notebook(hm.ASSIGNMENT, hm.ASSIGNMENT).grade_cells
                   if c.cell_type == "code")
    assert got == {"alice": full, "bob": full, "mallory": full}


def test_the_console_shows_escape_bytes_as_escapes(graded):
    _, run = graded
    out = (run.stdout + run.stderr).decode("utf-8")
    assert not CONTROLS.search(out.replace("\n", "").replace("\t", "")), repr(CONTROLS.search(out))
    visible = for_terminal(hm.ESCAPES, one_line=True)
    assert f"link{visible}: 提交中的符号链接" in out  # the course's language: zh_CN
    assert f"notes{visible}.ipynb: 多余的笔记本" in out
    assert f"x{visible}' 不是有效的学生 id" in out
    assert re.search(r"mallory/eigen_bounds: 单元格 \d+: 已从讲师页面中移除: <script>", out)


def test_the_report_escapes_every_student_byte(graded):
    course, _ = graded
    report = (course / "report.html").read_text(encoding="utf-8")
    assert not CONTROLS.search(report.replace("\n", "").replace("\t", ""))
    _assert_inert(report, ours={"meta", "style", "svg"})
    assert "<script" not in report.lower()
    assert for_html(f"link{for_terminal(hm.ESCAPES, one_line=True)}") in report
    assert "&lt;img src=x onerror=&quot;(top.__pwned" in report  # the markup file name, as text
    for page in (course / "similarity" / hm.ASSIGNMENT).glob("*--mallory.html"):
        text = page.read_text(encoding="utf-8")
        _assert_inert(text, ours={"meta", "style"})
        assert "# &lt;/pre&gt;&lt;img src=x onerror=" in text


def test_the_autograded_notebooks_are_clean_and_the_honest_ones_untouched(graded):
    course, _ = graded
    honest = nbformat.read(course / "autograded" / "alice" / hm.ASSIGNMENT / f"{hm.ASSIGNMENT}.ipynb", 4)
    assert hm.written_answer(honest) == hm.HONEST_ANSWER
    nb = nbformat.read(course / "autograded" / "mallory" / hm.ASSIGNMENT / f"{hm.ASSIGNMENT}.ipynb", 4)
    assert set(nb.metadata) <= {"kernelspec", "language_info"}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            _assert_inert(render_markdown(cell.source))
        if cell.cell_type == "code":
            for output in cell.outputs:
                assert set(output.get("data", {})) <= {"text/plain", "text/html"}
                _assert_inert(output.get("data", {}).get("text/html", ""))
    answer = render_markdown(hm.written_answer(nb))
    assert hm.HONEST_MARK in answer and "$a &lt; b$" in answer
    marker = json.loads((course / "autograded" / "mallory" / hm.ASSIGNMENT / ".numstab-grade.json").read_text())
    assert sum("已从讲师页面中移除" in p for p in marker["problems"]) == 3  # the course's language
