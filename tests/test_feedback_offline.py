"""nbgrader's feedback typesets its math with no network: the MathJax shipped beside each page
(grader/engine/feedback_math.py), checked in a real headless Chromium with every network request failing.

The feedback folder of one student and assignment is copied elsewhere first, as an instructor sends it,
so the page can only use what travels inside that folder.
"""
from __future__ import annotations

import shutil
import sys

import pytest

from grader.course.demo import build_demo_class
from grader.engine.pipeline import grade_course
from grader.engine.report import generate_feedback
from grader.layout import BOOK

sys.path.insert(0, str(BOOK / "_ext"))
from numstab_book.chromium import Browser, find_chromium  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ASSIGNMENT = "divergence"  # its LARS statement opens with $\lambda = \begin{cases} ...

TYPESET = """
(async () => {
  for (let i = 0; i < 600 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
    await new Promise(r => setTimeout(r, 100));
  if (!(window.MathJax && MathJax.startup)) return {loaded: false};
  await MathJax.startup.promise;
  const prose = Array.from(document.querySelectorAll('.text_cell_render')).map(e => e.innerText).join('\\n');
  return {
    loaded: true,
    containers: document.querySelectorAll('mjx-container').length,
    errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
    rawTex: (prose.match(/\\$\\\\lambda|\\\\begin\\{cases\\}|\\\\frac|\\$\\$/g) || []).slice(0, 5),
    mathjaxFrom: Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s)),
    fetched: performance.getEntriesByType('resource').map(e => e.name),
  };
})()
"""


@pytest.fixture(scope="module")
def sent_feedback(tmp_path_factory):
    """bob's graded feedback for one assignment, copied out of the course as an instructor sends it."""
    course = build_demo_class(tmp_path_factory.mktemp("course"))
    for student in (course / "submitted").iterdir():
        for folder in student.iterdir():
            if (student.name, folder.name) != ("bob", ASSIGNMENT):
                shutil.rmtree(folder)
    grade_course(course, demo=True, workers=1, seed=11)
    assert generate_feedback(course, [f"bob/{ASSIGNMENT}"]) == []
    sent = tmp_path_factory.mktemp("mailbox") / "bob-feedback"
    shutil.copytree(course / "feedback" / "bob" / ASSIGNMENT, sent)
    return sent / f"{ASSIGNMENT}.html"


def test_the_feedback_folder_carries_its_mathjax(sent_feedback):
    page = sent_feedback.read_text(encoding="utf-8")
    assert 'src="mathjax/tex-svg-full.js"' in page
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax/2" not in page  # nbconvert's default is gone
    assert (sent_feedback.parent / "mathjax" / "tex-svg-full.js").stat().st_size > 1_000_000
    assert r"$\lambda" in page  # the statement's TeX is there for MathJax to typeset


def test_feedback_math_is_typeset_with_the_network_off(sent_feedback):
    exe = find_chromium()
    if not exe:
        pytest.fail("chromium is not installed: run `make system-deps`")
    with Browser(exe) as browser:
        browser.call("Network.enable")
        browser.call("Network.emulateNetworkConditions", offline=True, latency=0,
                     downloadThroughput=-1, uploadThroughput=-1)
        browser.goto(sent_feedback.as_uri())
        got = browser.evaluate(TYPESET)
    assert got["loaded"], "MathJax did not load"
    assert got["mathjaxFrom"] and all(src.startswith("file://") for src in got["mathjaxFrom"]), got["mathjaxFrom"]
    assert not [url for url in got["fetched"] if url.startswith("http")], "the page reached for the network"
    assert got["containers"] >= 10, got  # every inline and display formula of the statements
    assert got["errors"] == 0, got
    assert got["rawTex"] == [], f"raw TeX left in the prose: {got['rawTex']}"
