"""Build the book once per test session and share the result.

``tests/test_book.py`` and ``tests/test_browser.py`` both import :func:`built_book`.
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


def run_sphinx(*extra: str, timeout: float = 1200) -> BuildResult:
    """Run the book build under the lock and return what it printed."""
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / ".book-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        start = time.monotonic()
        proc = subprocess.run(sphinx_command(*extra), cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "PYTHONWARNINGS": ""})
        return BuildResult(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


_FIRST_BUILD: BuildResult | None = None


def build_book_once() -> BuildResult:
    global _FIRST_BUILD
    if _FIRST_BUILD is None:
        _FIRST_BUILD = run_sphinx()
    return _FIRST_BUILD


@pytest.fixture(scope="session")
def built_book() -> BuildResult:
    """The (memoised) result of building the book; fails the test if the build failed."""
    result = build_book_once()
    assert result.returncode == 0, f"sphinx-build failed:\n{result.log[-6000:]}"
    return result
