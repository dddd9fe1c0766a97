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
from grader.i18n import SOURCE_LANGUAGE, _in
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


def collect(course: Path, assignments=ASSIGNMENTS, language: str = SOURCE_LANGUAGE) -> Collected:
    """The course's submissions; the lines about odd entries in ``language`` (the course's)."""
    root = Path(course) / "submitted"
    subs, skipped = [], []
    if not root.is_dir():
        return Collected(subs, [_in(language, "{root}: 课程目录中没有 submitted/ 文件夹").format(root=root)])
    for student, raw in _names(root):  # the top folder is the instructor's: an error there stops the run
        where = root / os.fsdecode(raw)
        if student is None:
            skipped.append(_in(language, "{where}: 学生文件夹名不是 UTF-8; 请重命名").format(where=f"{root}/{raw!r}"))
            continue
        if where.is_symlink():
            skipped.append(_in(language, "{where}: 是符号链接; 请复制真实的文件夹").format(where=where))
            continue
        if not where.is_dir():
            continue
        if not STUDENT_ID.match(student):
            skipped.append(_in(language, "{where}: '{student}' 不是有效的学生 id (字母、数字、_ . @ -)").format(
                where=where, student=student))
            continue
        try:
            entries = _names(where)
        except OSError as exc:
            skipped.append(_in(language, "{where}: 无法读取 ({error}); 未评分").format(where=where, error=exc.strerror))
            continue
        for name, raw_a in entries:
            folder = where / os.fsdecode(raw_a)
            if name not in assignments:
                skipped.append(_in(language, "{folder}: 未知的作业 {name}; 应当是 {expected} 之一").format(
                    folder=folder, name=repr(printable(name or repr(raw_a), 100)), expected=", ".join(assignments)))
                continue
            if folder.is_symlink() or not folder.is_dir():
                skipped.append(_in(language, "{folder}: 不是普通文件夹 (符号链接或文件)").format(folder=folder))
                continue
            try:
                subs.append(_submission(student, name, folder, language))
            except OSError as exc:  # a folder it may not list (mode 000 as an ordinary user), a file gone
                skipped.append(_in(language, "{where}: 无法读取 ({error}); 未评分").format(where=folder, error=exc.strerror))
    return Collected(subs, skipped)


def _submission(student: str, assignment: str, folder: Path, language: str = SOURCE_LANGUAGE) -> Submission:
    problems = []
    notebook = folder / f"{assignment}.ipynb"
    for name, raw in _names(folder):
        path = folder / os.fsdecode(raw)
        if name is None:
            problems.append(_in(language, "{where}: 文件名不是 UTF-8; 已忽略").format(where=f"{folder}/{raw!r}"))
        elif path.is_symlink():
            problems.append(_in(language, "{path}: 提交中的符号链接; 已忽略").format(path=path))
        elif name.endswith(".ipynb") and path != notebook:
            problems.append(_in(language, "{path}: 多余的笔记本; 只评 {notebook}").format(path=path, notebook=notebook.name))
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS - 1:] = [_in(language, "{folder}: ... 还有 {count} 个异常条目").format(
            folder=folder, count=len(problems) - MAX_PROBLEMS + 1)]
    if notebook.is_symlink():
        notebook = None
    elif not notebook.is_file():
        problems.append(_in(language, "{folder}: 提交中没有 {notebook}; 计 0 分").format(
            folder=folder, notebook=f"{assignment}.ipynb"))
        notebook = None
    elif notebook.stat().st_size > MAX_NOTEBOOK_BYTES:
        problems.append(_in(language, "{notebook}: {size} MiB 超过了 {limit} MiB 的上限; 请清除输出后重新提交; 计 0 分").format(
            notebook=notebook, size=notebook.stat().st_size // 2**20, limit=MAX_NOTEBOOK_BYTES // 2**20))
        notebook = None
    return Submission(student, assignment, folder, notebook, read_timestamp(folder), problems)
