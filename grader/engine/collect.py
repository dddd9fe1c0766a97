"""Stage `collect`: find the submissions of a course in nbgrader's layout, and say what is wrong with them.

``submitted/<student>/<assignment>/<assignment>.ipynb`` is one submission.  Nothing here opens a
notebook; odd entries (symlinks, bad ids, non-UTF-8 names, huge files) become report lines.
"""
from __future__ import annotations

import datetime
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.engine.boundary import MAX_NOTEBOOK_BYTES, printable
from grader.layout import ASSIGNMENTS

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MAX_PROBLEMS = 20  # lines per submission: ten thousand odd files in one folder are one line, not ten thousand


@dataclass
class Submission:
    student: str
    assignment: str
    folder: Path
    notebook: Path | None
    timestamp: datetime.datetime | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"

    def fingerprint(self, checks_version: str) -> str:
        """Changes when the notebook, its timestamp or the checks change: what makes a regrade due."""
        h = hashlib.sha256(checks_version.encode())
        h.update(str(self.timestamp).encode())
        if self.notebook is not None and self.notebook.is_file():
            h.update(self.notebook.read_bytes())
        return h.hexdigest()


@dataclass
class Collected:
    submissions: list[Submission]
    skipped: list[str]  # entries that could not become a gradeable submission, one line each


def _names(folder: Path) -> list[tuple[str | None, bytes]]:
    """Directory entries as (text or None when not UTF-8, raw bytes)."""
    out = []
    for raw in sorted(os.listdir(os.fsencode(folder))):
        try:
            out.append((raw.decode("utf-8", errors="strict"), raw))
        except UnicodeDecodeError:
            out.append((None, raw))
    return out


def read_timestamp(folder: Path) -> datetime.datetime | None:
    stamp = folder / "timestamp.txt"
    if not stamp.is_file() or stamp.is_symlink():
        return None
    from nbgrader.utils import parse_utc
    try:
        return parse_utc(stamp.read_text(encoding="utf-8", errors="replace").strip()[:100])
    except Exception:
        return None


def collect(course: Path, assignments=ASSIGNMENTS) -> Collected:
    root = Path(course) / "submitted"
    subs, skipped = [], []
    if not root.is_dir():
        return Collected(subs, [f"{root}: no submitted/ folder in the course directory"])
    for student, raw in _names(root):  # the top folder is the instructor's: an error there stops the run
        where = root / os.fsdecode(raw)
        if student is None:
            skipped.append(f"{root}/{raw!r}: student folder name is not UTF-8; rename it")
            continue
        if where.is_symlink():
            skipped.append(f"{where}: is a symlink; copy the real folder instead")
            continue
        if not where.is_dir():
            continue
        if not STUDENT_ID.match(student):
            skipped.append(f"{where}: '{student}' is not a valid student id (letters, digits, _ . @ -)")
            continue
        try:
            entries = _names(where)
        except OSError as exc:
            skipped.append(f"{where}: cannot be read ({exc.strerror}); not graded")
            continue
        for name, raw_a in entries:
            folder = where / os.fsdecode(raw_a)
            if name not in assignments:
                skipped.append(f"{folder}: unknown assignment {printable(name or repr(raw_a), 100)!r}; "
                               f"expected one of {', '.join(assignments)}")
                continue
            if folder.is_symlink() or not folder.is_dir():
                skipped.append(f"{folder}: not a plain folder (symlink or file)")
                continue
            try:
                subs.append(_submission(student, name, folder))
            except OSError as exc:  # a folder it may not list (mode 000 as an ordinary user), a file gone
                skipped.append(f"{folder}: cannot be read ({exc.strerror}); not graded")
    return Collected(subs, skipped)


def _submission(student: str, assignment: str, folder: Path) -> Submission:
    problems = []
    notebook = folder / f"{assignment}.ipynb"
    for name, raw in _names(folder):
        path = folder / os.fsdecode(raw)
        if name is None:
            problems.append(f"{folder}/{raw!r}: file name is not UTF-8; ignored")
        elif path.is_symlink():
            problems.append(f"{path}: symlink in the submission; ignored")
        elif name.endswith(".ipynb") and path != notebook:
            problems.append(f"{path}: extra notebook; only {notebook.name} is graded")
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS - 1:] = [f"{folder}: ... and {len(problems) - MAX_PROBLEMS + 1} more odd entries"]
    if notebook.is_symlink():
        notebook = None
    elif not notebook.is_file():
        problems.append(f"{folder}: no {assignment}.ipynb in the submission; scored 0")
        notebook = None
    elif notebook.stat().st_size > MAX_NOTEBOOK_BYTES:
        problems.append(f"{notebook}: {notebook.stat().st_size // 2**20} MiB is over the "
                        f"{MAX_NOTEBOOK_BYTES // 2**20} MiB limit; clear the outputs and resubmit; scored 0")
        notebook = None
    return Submission(student, assignment, folder, notebook, read_timestamp(folder), problems)
