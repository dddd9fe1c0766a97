"""LMS download archives into nbgrader's layout: ``submitted/<student>/<assignment>/<file>``.

Read with the standard library's ``zipfile`` rather than nbgrader's ``zip_collect``, which unpacks
archives found inside the archive and matches student names anywhere in a path: one student's upload
holding ``x_victim_attempt_2030-..._symmetry.ipynb`` became another student's notebook.  Here the
archive's bytes are data, checked at this one boundary:

- the student id and time come only from the name the LMS gave a top-level entry, matched whole and
  leftmost (the LMS's part of a name comes before the student's own file name, which is not trusted);
- entries in folders and archives inside the archive are refused and never opened;
- each notebook is written by us as a regular file of mode 0644 (no setuid/setgid, no one else writes),
  up to collect's size limit; names are shown escaped (``shown``);
- several entries for one student's file: the latest LMS time wins, and a line says which and why.

The caller holds the course lock (``python -m grader grade --zip``): nothing is unpacked under a run.
"""
from __future__ import annotations

import datetime
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.engine.collect import MAX_NOTEBOOK_BYTES, STUDENT_ID
from grader.i18n import SOURCE_LANGUAGE, _in
from grader.layout import ASSIGNMENTS

# Blackboard-style names, the example nbgrader documents: <assignment>_<student>_attempt_<time>_<file>.
# The lazy prefix and an id without "_" pick the first "_<id>_attempt_<time>_": the LMS's, never one
# inside the student's file name.  Ids with "_" need --zip-regexp.
DEFAULT_REGEXP = (r"(?:.*?_)?(?P<student_id>[A-Za-z0-9][A-Za-z0-9.@-]*)_attempt_"
                  r"(?P<timestamp>\d{4}(?:-\d{2}){5})_(?P<file_id>.+)")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!", b"\x28\xb5\x2f\xfd")
FILE_ID = re.compile(r"[^/\\\x00-\x1f\x7f]{1,200}\.ipynb")
MAX_ENTRIES = 20000
FILE_MODE, FOLDER_MODE = 0o644, 0o755


def shown(text: str, limit: int = 160) -> str:
    """A name as a terminal may print it, quoted and capped (grader.engine.escape owns the escaping)."""
    from grader.engine.escape import for_terminal

    return "'" + for_terminal(text[:limit], one_line=True) + ("..." if len(text) > limit else "") + "'"


@dataclass
class Entry:
    name: str          # as the archive names it
    order: int         # its place in the archive
    student: str
    file_id: str
    time: datetime.datetime | None


class ArchiveError(ValueError):
    """The archive as a whole cannot be read (not a zip, unknown assignment): nothing was unpacked."""


def _is_archive(info: zipfile.ZipInfo, z: zipfile.ZipFile) -> bool:
    if info.filename.lower().endswith(ARCHIVE_SUFFIXES):
        return True
    with z.open(info) as f:
        head = f.read(8)
    return head.startswith(ARCHIVE_MAGIC)


def _match(name: str, pattern: re.Pattern, language: str = SOURCE_LANGUAGE) -> tuple[str, str, str | None] | str | None:
    """(student, file_id, timestamp) from an entry's name, why it cannot be one, or None: no submission."""
    m = pattern.fullmatch(name)
    if m is None:
        return None
    groups = m.groupdict()
    student, file_id = groups.get("student_id") or "", groups.get("file_id") or ""
    if not STUDENT_ID.fullmatch(student):
        return _in(language, "学生 id {student} 无效 (只能用字母、数字、_ . @ -)").format(student=shown(student))
    if not FILE_ID.fullmatch(file_id) or file_id.startswith("."):
        return _in(language, "文件名 {name} 不是 nbgrader 能归档的笔记本名 (已忽略)").format(name=shown(file_id))
    return student, file_id, groups.get("timestamp")


def _read(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """At most the size limit plus one byte, whatever the entry's header claims."""
    with z.open(info) as f:
        return f.read(MAX_NOTEBOOK_BYTES + 1)


def _write(path: Path, data: bytes) -> None:
    """A fresh regular file of a fixed mode, put in place atomically (an old symlink there is replaced)."""
    tmp = path.with_name(f".{path.name}.numstab-tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(fd, FILE_MODE)  # whatever the umask
        f.write(data)
    os.replace(tmp, path)


def _folder(path: Path) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    path.mkdir(mode=FOLDER_MODE, exist_ok=True)
    os.chmod(path, FOLDER_MODE, follow_symlinks=False)


def collect_archive(course: Path, assignment: str, archive: Path, regexp: str | None = None,
                    language: str = SOURCE_LANGUAGE) -> list[str]:
    """File the archive's notebooks under ``course/submitted/``; returns one line per entry refused,
    ignored for a reason worth saying, or outranked by another, in ``language`` (the course's).  Raises
    ``ArchiveError`` (or ``OSError``) before writing anything when the archive as a whole is unusable."""
    from nbgrader.utils import parse_utc

    course, archive = Path(course).resolve(), Path(archive).resolve()
    label = shown(archive.name)
    if assignment not in ASSIGNMENTS:
        raise ArchiveError(_in(language, "未知的作业 {assignment}; 应当是 {expected} 之一").format(
            assignment=shown(assignment), expected=", ".join(ASSIGNMENTS)))
    if not archive.is_file():
        raise ArchiveError(_in(language, "{archive}: 没有这个压缩包").format(archive=shown(str(archive), 400)))
    try:
        pattern = re.compile(regexp or DEFAULT_REGEXP)
    except re.error as exc:
        raise ArchiveError(_in(language, "--zip-regexp 不是正则表达式 ({error})").format(error=exc)) from None
    if "student_id" not in pattern.groupindex or "file_id" not in pattern.groupindex:
        raise ArchiveError(_in(language, "--zip-regexp 需要命名组 student_id 和 file_id"))
    try:
        z = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(_in(language, "{archive}: 不是 zip 压缩包 ({error})").format(archive=label, error=exc)) from None
    lines, chosen, ignored = [], {}, 0

    def at(name: str) -> str:  # where a line is about: one entry of this archive
        return _in(language, "{archive}: 条目 {name}").format(archive=label, name=shown(name))

    with z:
        infos = z.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ArchiveError(_in(language, "{archive}: {count} 个条目, 超过了 {limit} 个的上限").format(
                archive=label, count=len(infos), limit=MAX_ENTRIES))
        for order, info in enumerate(infos):
            name = info.filename
            where = at(name)
            if info.is_dir():
                continue
            if "/" in name.rstrip("/") or "\\" in name:
                lines.append(_in(language, "{where}: 在压缩包的文件夹中; 只收取 LMS 命名的条目").format(where=where))
                continue
            try:
                if _is_archive(info, z):
                    lines.append(_in(language, "{where}: 压缩包中的压缩包; 拒绝, 不解压 (学生应当直接上传笔记本)").format(
                        where=where))
                    continue
            except (zipfile.BadZipFile, RuntimeError, OSError, NotImplementedError, EOFError) as exc:
                lines.append(_in(language, "{where}: 无法读取 ({error}); 已忽略").format(where=where, error=type(exc).__name__))
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                lines.append(_in(language, "{where}: 符号链接; 已忽略").format(where=where))
                continue
            found = _match(name, pattern, language)
            if found is None:  # an LMS receipt, a readme: counted in one line
                ignored += 1
                continue
            if isinstance(found, str):
                lines.append(f"{where}: {found}")
                continue
            student, file_id, stamp = found
            try:
                time = parse_utc(stamp) if stamp else None
            except Exception:
                time = None
                lines.append(_in(language, "{where}: 时间 {stamp} 无法读取; 按最早的算").format(where=where, stamp=shown(stamp)))
            entry = Entry(name, order, student, file_id, time)
            chosen.setdefault((student, file_id), []).append(entry)
        if ignored:
            lines.append(_in(language, "{archive}: 其中 {count} 个条目不符合任何提交的命名; 已忽略").format(
                archive=label, count=ignored))

        target = course / "downloaded" / assignment / "archive"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive, target / archive.name)  # the instructor's record of what came in
        submitted = course / "submitted"
        submitted.mkdir(mode=FOLDER_MODE, exist_ok=True)
        students: dict[str, list[tuple[Entry, bytes]]] = {}
        for (student, file_id), entries in sorted(chosen.items()):
            ranked = sorted(entries, key=lambda e: (e.time.timestamp() if e.time else float("-inf"), e.order))
            winner = ranked[-1]
            if len(ranked) > 1:
                tie = ranked[-2].time == winner.time
                why = (_in(language, "与另一个的 LMS 时间相同, 在压缩包中排在后面") if tie
                       else _in(language, "LMS 时间最新, {time}").format(time=winner.time))
                lines.append(_in(language, "{key}: {file} 有 {count} 个条目; 保留 {kept} ({why}); 忽略 {others}").format(
                    key=f"{student}/{assignment}", count=len(ranked), file=shown(file_id), kept=shown(winner.name),
                    why=why, others=", ".join(shown(e.name) for e in ranked[:-1])))
            try:
                data = _read(z, infos[winner.order])
            except (zipfile.BadZipFile, RuntimeError, OSError, NotImplementedError, EOFError) as exc:
                lines.append(_in(language, "{where}: 无法读取 ({error}); 已忽略").format(
                    where=at(winner.name),
                    error=type(exc).__name__))
                continue
            if len(data) > MAX_NOTEBOOK_BYTES:
                lines.append(_in(language, "{where}: 超过了 {limit} MiB 的上限; 未收取").format(
                    where=at(winner.name),
                    limit=MAX_NOTEBOOK_BYTES // 2**20))
                continue
            students.setdefault(student, []).append((winner, data))
        for student, files in students.items():
            _folder(submitted / student)
            folder = submitted / student / assignment
            _folder(folder)
            for old in folder.iterdir():  # as zip_collect does: this archive replaces the student's files
                if old.is_symlink() or old.is_file():
                    old.unlink()
            for entry, data in files:
                _write(folder / entry.file_id, data)
            times = [e.time for e, _ in files if e.time is not None]
            if times:
                _write(folder / "timestamp.txt", max(times).isoformat(" ").encode())
    return lines
