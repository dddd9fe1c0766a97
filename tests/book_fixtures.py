"""Build the book once per test session and share the result.

``tests/test_book.py`` and ``tests/test_browser.py`` both import :func:`built_book`;
:func:`built_pdf` is ``make pdf``'s build, also once per session.
The build runs exactly the command of ``make book`` (into ``_build/html``, through
the jupyter-cache in ``_build/.jupyter_cache``), so a developer who has built the
book already pays only for a no-change rebuild.  The result is memoised in this
module and the build holds a file lock, so that two fixtures (or two xdist
workers) never build concurrently or twice.
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
BOOK = ROOT / "book"
BUILD = ROOT / "_build"
HTML = BUILD / "html"
CHAPTER = HTML / "numerical-stability.html"
JUPYTER_EXECUTE = BUILD / "jupyter_execute"
CACHE = BUILD / ".jupyter_cache"
PDF = BUILD / "pdf" / "numerical-stability.pdf"

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


def sphinx_command(*extra: str) -> list[str]:
    """The command of ``make book`` (without ``-q``, so myst-nb's execution log shows)."""
    return [sys.executable, "-m", "sphinx", "-c", ".", "-W", "--keep-going", "-n",
            *extra, "-b", "html", "book", str(HTML.relative_to(ROOT))]


@dataclasses.dataclass(frozen=True)
class BuildResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def log(self) -> str:
        return self.stdout + self.stderr


def pdf_command() -> list[str]:
    """The command of ``make pdf`` (after its one-line check for chromium and the CJK font)."""
    return [sys.executable, "-m", "sphinx", "-c", ".", "-W", "--keep-going", "-n", "-b", "pdfhtml",
            "-D", f"pdf_dir={PDF.parent.relative_to(ROOT)}", "book", "_build/pdfhtml"]


def run_sphinx(*extra: str, timeout: float = 1200, command: list[str] | None = None,
               env: dict | None = None) -> BuildResult:
    """Run the book build (or ``command``) under the lock and return what it printed."""
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / ".book-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        start = time.monotonic()
        proc = subprocess.run(command or sphinx_command(*extra), cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout,
                              env={**os.environ, "PYTHONWARNINGS": "", **(env or {})})
        return BuildResult(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


_FIRST_BUILD: BuildResult | None = None


def build_book_once() -> BuildResult:
    global _FIRST_BUILD
    if _FIRST_BUILD is None:
        _FIRST_BUILD = run_sphinx()
    return _FIRST_BUILD


_PDF_BUILD: BuildResult | None = None


def build_pdf_once() -> BuildResult:
    global _PDF_BUILD
    if _PDF_BUILD is None:
        _PDF_BUILD = run_sphinx(command=pdf_command())
    return _PDF_BUILD


@pytest.fixture(scope="session")
def built_pdf() -> BuildResult:
    """The (memoised) result of ``make pdf``'s build; fails the test if it failed."""
    result = build_pdf_once()
    assert result.returncode == 0, f"the pdfhtml build failed:\n{result.log[-6000:]}"
    return result


@pytest.fixture(scope="session")
def built_book() -> BuildResult:
    """The (memoised) result of building the book; fails the test if the build failed."""
    result = build_book_once()
    assert result.returncode == 0, f"sphinx-build failed:\n{result.log[-6000:]}"
    return result
