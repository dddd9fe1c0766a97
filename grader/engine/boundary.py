"""The door for a student's notebook: its bytes become typed values here, or one problem line.

Every stage after this one (sanitize, nbgrader's preprocessors, record, similarity, the feedback) reads
only what passed: a JSON object of the notebook format with at most ``MAX_CELLS`` cells, each a known
cell type with a capped source, and cell metadata whose ``nbgrader`` part has nbgrader's own types and
ranges (grade_id a short string of its pattern, points a number >= 0, flags booleans).  What does not
fit (``{"nbgrader": "x"}``, a list where an object belongs, a list as ``grade_id``, 100,000-deep
nesting, ``{"cells": "abc"}``) is a ``NotebookError`` whose message names the file, the cell and the
reason.  Keys nothing downstream reads (outputs, unknown metadata) are dropped, so nothing unchecked
reaches a later stage by way of them.

A module of its own, not a part of ``sanitize``: the similarity report reads the submitted notebooks
too, and must see exactly what grading saw.  msgspec states the schema once, as types with caps, and
validates it in C while it parses.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import nbformat
from msgspec import UNSET, Meta, Struct, UnsetType, field
from nbformat.v4.nbbase import random_cell_id

from grader import i18n
from grader.i18n import _in
from grader.engine.notebook import NotebookError
from grader.engine.wire import MAX_CELLS, MAX_SOURCE

MAX_NOTEBOOK_BYTES = 20 * 2**20

Short = Annotated[str, Meta(max_length=200)]
Flag = bool | UnsetType


class _Open(Struct, forbid_unknown_fields=False, omit_defaults=True):
    """Unknown keys are dropped; every key that is kept has its type checked."""


class NbgraderMeta(_Open):
    """nbgrader's cell metadata (its schema v3, nbgraderformat/v3.json), with caps."""
    grade: Flag = UNSET
    solution: Flag = UNSET
    locked: Flag = UNSET
    task: Flag = UNSET
    grade_id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_\-]*$", max_length=100)] | UnsetType = UNSET
    points: Annotated[float, Meta(ge=0, le=100_000)] | UnsetType = UNSET
    schema_version: Annotated[int, Meta(ge=0, le=3)] | UnsetType = UNSET
    checksum: Annotated[str, Meta(max_length=64)] | UnsetType = UNSET
    cell_type: Literal["code", "markdown", "raw"] | UnsetType = UNSET


class CellMeta(_Open):
    nbgrader: NbgraderMeta | UnsetType = UNSET
    deletable: Flag = UNSET
    editable: Flag = UNSET
    tags: Annotated[list[Short], Meta(max_length=100)] | UnsetType = UNSET


Text = Annotated[str, Meta(max_length=MAX_SOURCE)] | Annotated[list[str], Meta(max_length=1_000_000)]


class Cell(_Open):
    cell_type: Literal["code", "markdown", "raw"]
    source: Text = ""
    metadata: CellMeta = field(default_factory=CellMeta)
    id: Annotated[str, Meta(pattern=r"^[a-zA-Z0-9_-]+$", max_length=64)] | UnsetType = UNSET
    # images pasted into a written answer: name -> mime type -> base64 text
    attachments: Annotated[dict[Short, dict[Short, Text]], Meta(max_length=100)] | UnsetType = UNSET


class KernelSpec(_Open):
    name: Short = "python3"
    display_name: Short | UnsetType = UNSET
    language: Short | UnsetType = UNSET


class LanguageInfo(_Open):
    name: Short = "python"
    version: Short | UnsetType = UNSET
    file_extension: Short | UnsetType = UNSET
    mimetype: Short | UnsetType = UNSET
    nbconvert_exporter: Short | UnsetType = UNSET
    pygments_lexer: Short | UnsetType = UNSET
    codemirror_mode: Short | dict[Short, Short | int] | UnsetType = UNSET


class NumstabMeta(_Open):
    """Our own notebook metadata: the language the notebook was released in."""
    language: Short | UnsetType = UNSET


class NotebookMeta(_Open):
    kernelspec: KernelSpec | UnsetType = UNSET
    language_info: LanguageInfo | UnsetType = UNSET
    # Kept raw and read leniently (``release_language``): a bad value here must never cost a score.
    numstab: msgspec.Raw | UnsetType = UNSET


class Notebook(_Open):
    cells: Annotated[list[Cell], Meta(max_length=MAX_CELLS)]
    nbformat: Literal[4]
    nbformat_minor: Annotated[int, Meta(ge=0, le=99)] = 5
    metadata: NotebookMeta = field(default_factory=NotebookMeta)


_CELL_PATH = re.compile(r"^(.*) - at `\$\.cells\[(\d+)\]\.?(.*)`$", re.S)
_PATH = re.compile(r"^(.*) - at `\$\.?(.*)`$", re.S)


def printable(text: str, cap: int = 300) -> str:
    """A reason fit for a problem line: control characters shown as '?', capped."""
    return "".join(c if c.isprintable() else "?" for c in text[:cap])


def _reason(exc: msgspec.ValidationError, language: str) -> str:
    """msgspec's reason (its own English) and where it applies, in ``language``."""
    text = str(exc)
    if m := _CELL_PATH.match(text):
        if m.group(3):
            return _in(language, "单元格 {index}: {error} (位于 {where})").format(index=m.group(2), error=m.group(1),
                                                                           where=m.group(3))
        return _in(language, "单元格 {index}: {error}").format(index=m.group(2), error=m.group(1))
    if m := _PATH.match(text):
        where = m.group(2) or _in(language, "顶层")
        return _in(language, "{error} (位于 {where})").format(error=m.group(1), where=where)
    return text


def read_bytes(path: Path, language: str = i18n.SOURCE_LANGUAGE) -> bytes:
    """The file, read without following a symlink and only when it is a regular file within the cap."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise NotebookError(_in(language, "{path}: 无法读取文件 ({error})").format(path=path, error=exc.strerror)) from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError(_in(language, "{path}: 不是普通文件").format(path=path))
        if info.st_size > MAX_NOTEBOOK_BYTES:
            raise NotebookError(_in(language, "{path}: {size} MiB 超过了 {limit} MiB 的上限").format(
                path=path, size=info.st_size // 2**20, limit=MAX_NOTEBOOK_BYTES // 2**20))
        return f.read(MAX_NOTEBOOK_BYTES + 1)[:MAX_NOTEBOOK_BYTES]


def parse(raw: bytes, path: Path | str = "notebook", language: str = i18n.SOURCE_LANGUAGE) -> Notebook:
    """Typed values from a notebook's bytes; ``NotebookError`` (file, cell, reason, in ``language``) when they
    do not fit."""
    invalid = _in(language, "{path}: 不是有效的笔记本 ({reason})")
    try:
        nb = msgspec.json.decode(raw, type=Notebook)
    except msgspec.ValidationError as exc:
        raise NotebookError(invalid.format(path=path, reason=printable(_reason(exc, language)))) from None
    except msgspec.DecodeError as exc:
        reason = _in(language, "不是 JSON: {error}").format(error=printable(str(exc)))
        raise NotebookError(invalid.format(path=path, reason=reason)) from None
    except RecursionError:
        raise NotebookError(invalid.format(path=path, reason=_in(language, "嵌套太深, 不可能是笔记本"))) from None
    for index, cell in enumerate(nb.cells):
        source = "".join(cell.source) if isinstance(cell.source, list) else cell.source
        if len(source) > MAX_SOURCE:
            raise NotebookError(_in(language, "{path}: 单元格 {index}: 源代码超过 {limit} 个字符").format(
                path=path, index=index, limit=MAX_SOURCE))
        try:
            source.encode("utf-8")
        except UnicodeEncodeError:
            raise NotebookError(_in(language, "{path}: 单元格 {index}: 源代码含有孤立的代理字符 (\\ud800-\\udfff)").format(
                path=path, index=index)) from None
        cell.source = source
    return nb


def release_language(nb: Notebook) -> str | None:
    """The language the notebook says it was released in (metadata ``numstab.language``), None when it says
    nothing we know: anything else there is ignored, never a problem of the submission."""
    if nb.metadata.numstab is UNSET:
        return None
    try:
        meta = msgspec.json.decode(nb.metadata.numstab, type=NumstabMeta)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None
    return i18n.known(meta.language, None) if meta.language is not UNSET else None


def to_node(nb: Notebook) -> nbformat.NotebookNode:
    """The typed notebook as nbformat's NotebookNode (what nbgrader's preprocessors take), outputs cleared."""
    cells, seen = [], set()
    for cell in nb.cells:
        out = msgspec.to_builtins(cell)
        out.setdefault("metadata", {})
        out.setdefault("source", "")
        if out.get("id") in seen or "id" not in out:  # nbformat 4.5: every cell has an id of its own
            out["id"] = random_cell_id()
        seen.add(out["id"])
        if cell.cell_type == "code":
            out.update(outputs=[], execution_count=None)
        cells.append(out)
    metadata = msgspec.to_builtins(msgspec.structs.replace(nb.metadata, numstab=UNSET))
    if (language := release_language(nb)) is not None:  # only what was read as valid goes on
        metadata[i18n.METADATA_KEY] = {"language": language}
    # already checked above, so no second validation: nbformat's own costs four times the parse
    return nbformat.from_dict({"cells": cells, "metadata": metadata, "nbformat": 4,
                               "nbformat_minor": max(nb.nbformat_minor, 5)})


def read_submission(path: Path, language: str = i18n.SOURCE_LANGUAGE) -> nbformat.NotebookNode:
    """A student's notebook through the door: NotebookNode, or ``NotebookError`` (in ``language``)."""
    return to_node(parse(read_bytes(Path(path), language), path, language))


def language_of(node: nbformat.NotebookNode) -> str | None:
    """The release language of a notebook ``read_submission`` made (it keeps only a valid one)."""
    return node.metadata.get(i18n.METADATA_KEY, {}).get("language")
