"""Build the book once per test session and share the result.

``tests/test_book.py`` and ``tests/test_browser.py`` both import :func:`built_book`;
:func:`built_pdf` is ``make pdf``'s build, also once per session.
The build runs exactly the commands of ``make book``: one per language, into ``_build/html/<lang>``,
through the jupyter-cache in ``_build/.jupyter_cache/<lang>``, so a developer who has built the
book already pays only for a no-change rebuild.  The result is memoised in this
module and the build holds a file lock, so that two fixtures (or two xdist
workers) never build concurrently or twice.  ``HTML`` and ``CHAPTER`` are the Chinese (source)
edition's; :func:`html_dir` and :func:`chapter` name any edition's.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grader.i18n import LANGUAGES, SOURCE_LANGUAGE  # noqa: E402

BOOK = ROOT / "book"
BUILD = ROOT / "_build"
HTML_ROOT = BUILD / "html"


def html_dir(language: str) -> Path:
    return HTML_ROOT / language


def chapter(language: str) -> Path:
    return html_dir(language) / "numerical-stability.html"


def jupyter_execute(language: str) -> Path:
    """Where myst-nb writes an edition's executed notebooks and glue data (numstab_book.i18n)."""
    return HTML_ROOT / "jupyter_execute" / language


def cache(language: str) -> Path:
    return BUILD / ".jupyter_cache" / language


def pdf(language: str) -> Path:
    suffix = "" if language == SOURCE_LANGUAGE else f".{language}"
    return BUILD / "pdf" / f"numerical-stability{suffix}.pdf"


HTML = html_dir(SOURCE_LANGUAGE)
CHAPTER = chapter(SOURCE_LANGUAGE)
JUPYTER_EXECUTE = jupyter_execute(SOURCE_LANGUAGE)
CACHE = cache(SOURCE_LANGUAGE)
PDF = pdf(SOURCE_LANGUAGE)

#: the chapter's section labels (language-neutral, the same in every edition), in order
LABELS = ["numerical-stability", "vanishing-and-exploding-gradients", "vanishing-gradients",
          "exploding-gradients", "breaking-the-symmetry", "stabilizing-training",
          "parameter-initialization", "default-initialization", "xavier-initialization",
          "further-reading", "summary", "exercises", "references"]

#: the chapter's headings (tag in the HTML chapter page, text), in order
HEADINGS = [
    ("h1", "数值稳定性和模型初始化"),
    ("h2", "梯度消失和梯度爆炸"),
    ("h3", "梯度消失"),
    ("h3", "梯度爆炸"),
    ("h3", "打破对称性"),
    ("h3", "让训练更加稳定"),
    ("h2", "参数初始化"),
    ("h3", "默认初始化"),
    ("h3", "Xavier初始化"),
    ("h2", "额外阅读"),
    ("h2", "小结"),
    ("h2", "练习"),
    ("h2", "参考文献"),
]

#: the same headings in the English edition (d2l's terms)
HEADINGS_EN = [
    ("h1", "Numerical Stability and Initialization"),
    ("h2", "Vanishing and Exploding Gradients"),
    ("h3", "Vanishing Gradients"),
    ("h3", "Exploding Gradients"),
    ("h3", "Breaking the Symmetry"),
    ("h3", "Stabilizing Training"),
    ("h2", "Parameter Initialization"),
    ("h3", "Default Initialization"),
    ("h3", "Xavier Initialization"),
    ("h2", "Further Reading"),
    ("h2", "Summary"),
    ("h2", "Exercises"),
    ("h2", "References"),
]

HEADINGS_BY_LANGUAGE = {"zh_CN": HEADINGS, "en": HEADINGS_EN}


def sphinx_command(*extra: str, language: str = SOURCE_LANGUAGE) -> list[str]:
    """The command of ``make book`` for one language (without ``-q``, so myst-nb's execution log shows)."""
    return [sys.executable, "-m", "sphinx", "-c", ".", "-W", "--keep-going", "-n",
            "-D", f"language={language}", *extra, "-b", "html", "book",
            str(html_dir(language).relative_to(ROOT))]


@dataclasses.dataclass(frozen=True)
class BuildResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def log(self) -> str:
        return self.stdout + self.stderr


def pdf_command(language: str = SOURCE_LANGUAGE) -> list[str]:
    """The command of ``make pdf`` for one language (after its one-line check for chromium)."""
    return [sys.executable, "-m", "sphinx", "-c", ".", "-W", "--keep-going", "-n",
            "-D", f"language={language}", "-b", "pdfhtml",
            "-D", f"pdf_dir={PDF.parent.relative_to(ROOT)}", "book", f"_build/pdfhtml/{language}"]


def run_sphinx(*extra: str, timeout: float = 1200, command: list[str] | None = None,
               env: dict | None = None, language: str = SOURCE_LANGUAGE) -> BuildResult:
    """Run one language's book build (or ``command``) under the lock and return what it printed."""
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / ".book-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        start = time.monotonic()
        proc = subprocess.run(command or sphinx_command(*extra, language=language), cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout,
                              env={**os.environ, "PYTHONWARNINGS": "", **(env or {})})
        return BuildResult(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


_BUILDS: dict[str, BuildResult] = {}


def build_book_once(language: str = SOURCE_LANGUAGE) -> BuildResult:
    if language not in _BUILDS:
        _BUILDS[language] = run_sphinx(language=language)
    return _BUILDS[language]


_PDF_BUILDS: dict[str, BuildResult] = {}


def build_pdf_once(language: str = SOURCE_LANGUAGE) -> BuildResult:
    if language not in _PDF_BUILDS:
        _PDF_BUILDS[language] = run_sphinx(command=pdf_command(language))
    return _PDF_BUILDS[language]


def _both(results: list[BuildResult]) -> BuildResult:
    return BuildResult(max(r.returncode for r in results), "".join(r.stdout for r in results),
                       "".join(r.stderr for r in results), sum(r.seconds for r in results))


@pytest.fixture(scope="session")
def built_pdf() -> BuildResult:
    """The (memoised) result of ``make pdf``'s builds, every edition; fails the test if one failed."""
    for language in LANGUAGES:
        result = build_pdf_once(language)
        assert result.returncode == 0, f"the pdfhtml build ({language}) failed:\n{result.log[-6000:]}"
    return _both([build_pdf_once(language) for language in LANGUAGES])


@pytest.fixture(scope="session")
def built_book() -> BuildResult:
    """The (memoised) result of ``make book``: every edition; fails the test if a build failed."""
    for language in LANGUAGES:
        result = build_book_once(language)
        assert result.returncode == 0, f"sphinx-build ({language}) failed:\n{result.log[-6000:]}"
    return _both([build_book_once(language) for language in LANGUAGES])
