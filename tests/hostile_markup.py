"""A class with one student whose markup attacks the instructor's pages (tests/test_markup.py, test_browser.py).

Every payload, if it ever runs, records itself three ways: it pushes its name onto ``top.__pwned``, sets
the page title to ``PWNED-<name>`` and fetches ``/pwned/<name>``; the browser test looks for all three.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat

from grader.course.demo import _answers, solved
from grader.engine.notebook import load_notebook, nbgrader_meta
from grader.layout import REPO

ASSIGNMENT = "eigen_bounds"
WRITTEN = "discussion_answer"  # the assignment's written answer (a markdown solution cell)
HONEST_ANSWER = ("答：因为 $a < b$ 且 $\\sigma^2 n < 1$，每层把梯度缩小，所以梯度消失。\n\n"
                 "$$\n\\prod_{l=1}^{L} \\|W_l\\| \\le \\lambda^L\n$$\n\n- 第一点: 方差\n- 第二点: 初始化\n")
HONEST_MARK = "每层把梯度缩小"
ESCAPES = "\x1b[2J\x1b]0;owned\x07\u202eevil\x9b31m"  # clear screen, window title, bidi override, C1 CSI


def js(name: str) -> str:
    """A payload's script: no spaces, no slashes but the fetch path's, so it fits a URL or an attribute."""
    return (f"(top.__pwned=top.__pwned||[]).push('{name}');top.document.title='PWNED-{name}';"
            f"fetch('/pwned/{name}')")


def markdown_payloads() -> dict[str, str]:
    return {
        "script": f"<script>{js('script')}</script>",
        "img_onerror": f'<img src="x" onerror="{js("img_onerror")}">',
        "iframe_srcdoc": f'<iframe srcdoc="&lt;script&gt;{js("iframe_srcdoc")}&lt;/script&gt;"></iframe>',
        "details_ontoggle": f'<details open ontoggle="{js("details_ontoggle")}"><summary>s</summary>d</details>',
        "svg_onload": f'<svg onload="{js("svg_onload")}"></svg>',
        "md_link": f"[点我](javascript:{js('md_link')})",
        "html_link": f'<a href="javascript:{js("html_link")}">link</a>',
        "tab_link": f'<a href="jav&#x09;ascript:{js("tab_link")}">tab</a>',
        "autolink": f"<javascript:{js('autolink')}>",
        "md_image": f"![图](javascript:{js('md_image')})",
        "autofocus": f'<input autofocus onfocus="{js("autofocus")}">',
        "form_action": f'<form action="javascript:{js("form_action")}"><button>go</button></form>',
        "object": f'<object data="javascript:{js("object")}"></object>',
        "mxss": f'<math><mtext><table><mglyph><style><img src=x onerror="{js("mxss")}"></style></mglyph></table></mtext></math>',
        "meta_refresh": f'<meta http-equiv="refresh" content="0;url=javascript:{js("meta_refresh")}">',
    }


def hostile_outputs() -> list:
    """Outputs a kernel could produce; the engine clears them, the cleaning drops or cleans them."""
    new = nbformat.v4.new_output
    return [
        new("display_data", data={"text/html": f"<b>粗</b><script>{js('out_html')}</script>"
                                               f'<img src=x onerror="{js("out_html_img")}">'}),
        new("display_data", data={"application/javascript": js("out_js"), "text/plain": "js"}),
        new("display_data", data={"image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js("out_svg")}">'
                                                   f"<script>{js('out_svg_script')}</script></svg>"}),
        new("display_data", data={"text/markdown": f'<img src=x onerror="{js("out_md")}">'}),
        new("display_data", data={"image/png": "iVBORw0KGgo="},
            metadata={"image/png": {"width": f"1 onerror={js('out_png_width')}"}}),
        new("execute_result", data={"text/plain": "1"}, execution_count=1),
    ]


def hostile_notebook():
    release = load_notebook(REPO / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    answers = _answers(load_notebook(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    first = next(iter(answers))
    payloads = "\n\n".join(markdown_payloads().values())
    answers = {**answers, WRITTEN: HONEST_ANSWER + "\n\n" + payloads,
               # shown in the similarity report's side-by-side page
               first: answers[first] + f"\n# </pre><img src=x onerror=\"{js('code')}\"><script>{js('code2')}</script>\n"}
    nb = solved(release, answers)
    nb.metadata["title"] = f"</title><script>{js('title')}</script>"
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    nb.cells.append(nbformat.v4.new_markdown_cell(payloads))
    nb.cells.append(nbformat.v4.new_raw_cell(f"<script>{js('raw')}</script>", metadata={"raw_mimetype": "text/html"}))
    code = nbformat.v4.new_code_cell("x = 1", outputs=hostile_outputs(), execution_count=1)
    code.metadata["tags"] = [f'"><script>{js("tag")}</script>']
    nb.cells.append(code)
    return nb


def honest_notebook():
    release = load_notebook(REPO / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    answers = _answers(load_notebook(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    return solved(release, {**answers, WRITTEN: HONEST_ANSWER})


def written_answer(nb) -> str:
    return next(c.source for c in nb.cells if nbgrader_meta(c).get("grade_id") == WRITTEN)


def build_class(course: Path, honest=("alice", "bob")) -> Path:
    """``honest`` students and ``mallory``, whose notebook attacks, whose folder holds file names with
    escape bytes and markup, beside a folder whose name (not a valid id) carries escape bytes."""
    submitted = Path(course) / "submitted"
    for student in honest:
        folder = submitted / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(honest_notebook(), folder / f"{ASSIGNMENT}.ipynb")
    folder = submitted / "mallory" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(hostile_notebook(), folder / f"{ASSIGNMENT}.ipynb")
    (folder / f"notes{ESCAPES}.ipynb").write_text("{}")  # an extra notebook: a problem line names it
    (folder / f"<img src=x onerror=\"{js('file').replace('/', '')}\">.ipynb").write_text("{}")
    os.symlink("/etc/passwd", folder / f"link{ESCAPES}")
    (submitted / f"x{ESCAPES}").mkdir()  # not a valid student id: a skipped line names it
    return Path(course)
