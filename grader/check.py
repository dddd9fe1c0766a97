"""Stage `check`: run one part's checks (hidden + public) with pytest against a student backend."""
from __future__ import annotations

import io
import contextlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.fixtures import Outcome, PartPlugin

CHECKS_ROOT = Path(__file__).resolve().parent


class UnknownPart(LookupError):
    pass


@dataclass
class PartResult:
    assignment: str
    part: str
    outcomes: list[Outcome]
    seed: int
    log: str = ""

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def score(self) -> float:
        """Partial credit: the share of checks that passed (0 when nothing could run)."""
        return self.passed / self.total if self.total else 0.0


def check_files(assignment: str, part: str) -> list[Path]:
    folder = CHECKS_ROOT / assignment
    hidden = folder / f"test_{part}.py"
    if not hidden.is_file():
        raise UnknownPart(f"no checks for part '{part}' of assignment '{assignment}' ({hidden} is missing)")
    return [hidden, folder / "public_checks.py"]


def run_part(assignment: str, part: str, student, seed: int, quiet: bool = True) -> PartResult:
    """Run the checks of one part; every test is one unit of partial credit."""
    plugin = PartPlugin(student=student, part=part, seed=seed)
    args = [str(p) for p in check_files(assignment, part)]
    args += ["-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--import-mode=importlib",
             "-o", "python_files=test_*.py public_checks.py", "-o", "python_functions=test_* check_*",
             "--rootdir", str(CHECKS_ROOT), "-c", "/dev/null", "--no-header", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    buf = io.StringIO()
    # Both streams: under nbgrader any stderr output zeroes the cell, and student warnings land there.
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        pytest.main(args, plugins=[plugin])
    if not quiet:
        print(buf.getvalue())
    return PartResult(assignment, part, plugin.outcomes, seed, buf.getvalue())
