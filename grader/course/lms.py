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


def _match(name: str, pattern: re.Pattern) -> tuple[str, str, str | None] | str | None:
    """(student, file_id, timestamp) from an entry's name, why it cannot be one, or None: no submission."""
    m = pattern.fullmatch(name)
    if m is None:
        return None
    groups = m.groupdict()
    student, file_id = groups.get("student_id") or "", groups.get("file_id") or ""
    if not STUDENT_ID.fullmatch(student):
        return f"student id {shown(student)} is not a valid id (letters, digits, _ . @ -)"
    if not FILE_ID.fullmatch(file_id) or file_id.startswith("."):
        return f"file name {shown(file_id)} is not a notebook name nbgrader can file (ignored)"
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


def collect_archive(course: Path, assignment: str, archive: Path, regexp: str | None = None) -> list[str]:
    """File the archive's notebooks under ``course/submitted/``; returns one line per entry refused,
    ignored for a reason worth saying, or outranked by another.  Raises ``ArchiveError`` (or
    ``OSError``) before writing anything when the archive as a whole is unusable."""
    from nbgrader.utils import parse_utc

    course, archive = Path(course).resolve(), Path(archive).resolve()
    label = shown(archive.name)
    if assignment not in ASSIGNMENTS:
        raise ArchiveError(f"unknown assignment {shown(assignment)}; expected one of {', '.join(ASSIGNMENTS)}")
    if not archive.is_file():
        raise ArchiveError(f"{shown(str(archive), 400)}: no such archive")
    try:
        pattern = re.compile(regexp or DEFAULT_REGEXP)
    except re.error as exc:
        raise ArchiveError(f"--zip-regexp is not a regular expression ({exc})") from None
    if "student_id" not in pattern.groupindex or "file_id" not in pattern.groupindex:
        raise ArchiveError("--zip-regexp needs the named groups student_id and file_id")
    try:
        z = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{label}: not a zip archive ({exc})") from None
    lines, chosen, ignored = [], {}, 0
    with z:
        infos = z.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ArchiveError(f"{label}: {len(infos)} entries, over the limit of {MAX_ENTRIES}")
        for order, info in enumerate(infos):
            name = info.filename
            where = f"{label}: entry {shown(name)}"
            if info.is_dir():
                continue
            if "/" in name.rstrip("/") or "\\" in name:
                lines.append(f"{where}: in a folder of the archive; only the entries the LMS named are collected")
                continue
            try:
                if _is_archive(info, z):
                    lines.append(f"{where}: an archive inside the archive; refused, not unpacked "
                                 "(the student should upload the notebook itself)")
                    continue
            except (zipfile.BadZipFile, RuntimeError, OSError, NotImplementedError, EOFError) as exc:
                lines.append(f"{where}: cannot be read ({type(exc).__name__}); ignored")
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                lines.append(f"{where}: a symbolic link; ignored")
                continue
            found = _match(name, pattern)
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
                lines.append(f"{where}: time {shown(stamp)} cannot be read; counted as the oldest")
            entry = Entry(name, order, student, file_id, time)
            chosen.setdefault((student, file_id), []).append(entry)
        if ignored:
            lines.append(f"{label}: {ignored} of its entries match no submission name; ignored")

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
                why = ("the same LMS time as another, and the later in the archive" if tie
                       else f"the latest LMS time, {winner.time}")
                lines.append(f"{student}/{assignment}: {len(ranked)} entries for {shown(file_id)}; kept "
                             f"{shown(winner.name)} ({why}); ignored {', '.join(shown(e.name) for e in ranked[:-1])}")
            try:
                data = _read(z, infos[winner.order])
            except (zipfile.BadZipFile, RuntimeError, OSError, NotImplementedError, EOFError) as exc:
                lines.append(f"{label}: entry {shown(winner.name)}: cannot be read ({type(exc).__name__}); ignored")
                continue
            if len(data) > MAX_NOTEBOOK_BYTES:
                lines.append(f"{label}: entry {shown(winner.name)}: over the {MAX_NOTEBOOK_BYTES // 2**20} MiB "
                             "limit; not collected")
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
