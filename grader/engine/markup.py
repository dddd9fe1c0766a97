"""Student markup made safe for the pages an instructor opens: formgrader, the feedback, any notebook viewer.

nbconvert renders a notebook's markdown cells and HTML outputs as they are: a written answer holding
``<img onerror>`` runs script in formgrader, in the instructor's own Jupyter origin.  nbconvert's
``HTMLExporter.sanitize_html`` option runs its ``clean_html`` filter (bleach, with a list of a dozen
tags) on them, which escapes ``<p>``, headings and tables, so every written answer would show as tag
soup; and nbgrader's formgrade and feedback templates render markdown cells without it anyway.
nbgrader_config.py turns the option on with :func:`clean_html` below as that filter, and puts
:func:`markdown2html` (nbconvert's, then nh3) in place of nbconvert's markdown filter, and
:func:`get_metadata` in place of the one that lets an image's size inject attributes.  And the
autograded notebook itself is cleaned before it is written (:func:`clean_notebook`), so that it is
safe in whatever opens it:

- a markdown cell whose rendering nh3 leaves as it is keeps its source (math, ``a < b``, lists,
  code, links); any other gets nh3's cleaning of its rendering, written as one HTML block that
  renders as itself;
- raw cells and HTML or markdown outputs are cleaned; JavaScript, SVG, widget and unknown outputs
  are reduced to a line of text, and output metadata (which nbconvert puts into unquoted attributes)
  dropped; nbgrader metadata with an id that is not a plain identifier (formgrader puts it into ids)
  dropped; the notebook's widget state dropped.

nh3 wraps ammonia, whose parser is html5ever, a browser's: the maintained successor of bleach.
"""
from __future__ import annotations

import base64
import binascii
import html
import re
from html.parser import HTMLParser

import nh3
from jinja2 import pass_context
from pygments.token import STANDARD_TYPES

from grader.i18n import SOURCE_LANGUAGE, _in

# what nbconvert's markdown renderer and pygments produce, beyond nh3's defaults
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
for _tag, _extra in {"img": {"title"}, "abbr": {"title"}, "details": {"open"}, "code": {"class"},
                     "a": {"title", "target"},
                     **{f"h{n}": {"id"} for n in range(1, 7)}}.items():
    _ATTRIBUTES.setdefault(_tag, set()).update(_extra)
_CLASSES = {"a": {"anchor-link"}, "div": {"highlight", "hl-ipython3", "hl-python", "grader-advice"},
            "span": {c for c in STANDARD_TYPES.values() if c}}
_SCHEMES = {"http", "https", "mailto", "data"}
_LANGUAGE = re.compile(r"^language-[A-Za-z0-9_+-]{1,40}$")  # a fenced block's class, when pygments has no lexer
_RASTER = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")
# html5ever's cleaning grows with the square of the nesting depth (100,000 nested <div>s: 36 s here,
# 5,000: 0.03 s) and mistune's rendering with the length, and a notebook may hold 20 MiB: markup past
# these sizes is shown as text, never parsed.
MAX_PIECE_TAGS = 5_000          # '<' in one cell's rendering or one output
MAX_PIECE_CHARS = 200_000       # one markdown source
MAX_NOTEBOOK_CHARS = 1_000_000  # all the markdown and HTML of one notebook
SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# nbformat output keys shown as they are (text, or base64 checked below); html and markdown are cleaned
_PLAIN = {"text/plain", "text/latex", "application/json"}
_IMAGES = {"image/png", "image/jpeg", "image/gif"}


def _filter(tag: str, attr: str, value: str) -> str | None:
    """data: URLs only as the source of a raster image (what an attachment becomes), never a link;
    a <code> class only naming a language; a link opens a new tab or none."""
    if tag == "code" and attr == "class":
        return value if _LANGUAGE.match(value) else None
    if attr == "target":
        return value if value == "_blank" else None
    bare = re.sub(r"[\x00-\x20]", "", value).lower()  # as a URL parser reads it: controls, tabs, spaces gone
    if bare.startswith("data:"):
        return value if tag == "img" and attr == "src" and _RASTER.match(value.strip()) else None
    return value


def _as_text(text: str) -> str:
    cut = text[:MAX_PIECE_CHARS]
    more = f"\n… ({len(text) - len(cut)} more characters)" if len(cut) < len(text) else ""
    return f"<pre>{html.escape(cut + more)}</pre>"


def clean_html(markup) -> str:
    """nh3 with the allow-list above; also nbconvert's ``clean_html`` filter (see nbgrader_config.py).
    Markup with more tags than MAX_PIECE_TAGS is shown as text, unparsed."""
    markup = markup.decode() if isinstance(markup, bytes) else str(markup)
    if markup.count("<") > MAX_PIECE_TAGS:
        return _as_text(markup)
    return nh3.clean(markup, attributes=_ATTRIBUTES, allowed_classes=_CLASSES, url_schemes=_SCHEMES,
                     attribute_filter=_filter, link_rel=None, strip_comments=True)


class _Events(HTMLParser):
    """What a parse of some HTML sees, to tell whether nh3 removed anything (start tags with their
    attributes, end tags, text; void elements' end tags and the split of text ignored)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.seen: list[tuple] = []

    def _text(self, kind, text):
        if self.seen and self.seen[-1][0] == kind == "text":
            self.seen[-1] = ("text", self.seen[-1][1] + text)
        else:
            self.seen.append((kind, text))

    def handle_starttag(self, tag, attrs):
        self.seen.append(("start", tag, tuple(sorted((k, v or "") for k, v in attrs))))

    def handle_endtag(self, tag):
        if tag not in self.VOID:
            self.seen.append(("end", tag))

    def handle_data(self, data):
        self._text("text", data)

    def handle_comment(self, data):
        self.seen.append(("comment", data))

    def handle_decl(self, decl):
        self.seen.append(("decl", decl))

    def handle_pi(self, data):
        self.seen.append(("pi", data))

    def unknown_decl(self, data):
        self.seen.append(("unknown", data))


def _events(markup: str) -> list[tuple]:
    parser = _Events()
    parser.feed(markup)
    parser.close()
    return parser.seen


def removed(markup: str, cleaned: str, language: str = SOURCE_LANGUAGE) -> list[str]:
    """What nh3 took out of ``markup`` (tags, attributes, comments), for the problem line; [] if nothing."""
    before, after = _events(markup), _events(cleaned)
    if before == after:
        return []
    kept = {(e[1], a[0]) for e in after if e[0] == "start" for a in e[2]} | {(e[1], None) for e in after
                                                                              if e[0] == "start"}
    out = []
    for e in before:
        if e[0] == "start":
            out += [f"<{e[1]}>"] if (e[1], None) not in kept else []
            out += [f"{a[0]}= on <{e[1]}>" for a in e[2] if (e[1], a[0]) not in kept]
        elif e[0] in ("comment", "decl", "pi", "unknown"):
            out.append(e[0])
    return list(dict.fromkeys(out)) or [_in(language, "改动过的标记")]


def render_markdown(source: str, attachments: dict | None = None) -> str:
    """A markdown cell's HTML as nbconvert's HTMLExporter renders it (its own renderer and parser)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    renderer = IPythonRenderer(escape=False, attachments=attachments or {}, embed_images=False, path="")
    return MarkdownWithMath(renderer=renderer).render(source)


@pass_context
def markdown2html(context, source: str) -> str:
    """nbconvert's ``markdown2html`` filter, cleaned: nbgrader's formgrade and feedback templates render
    markdown cells with it and never with ``clean_html`` (nbgrader_config.py installs this one)."""
    cell = context.get("cell", {}) or {}
    attachments = cell.get("attachments") if isinstance(cell.get("attachments"), dict) else {}
    return clean_html(render_markdown(source, attachments))


def get_metadata(output, key, mimetype=None):
    """nbconvert's ``get_metadata`` filter, where the templates put an image's width and height into
    unquoted attributes (``width=1 onerror=...``): a size only when it is a number."""
    from nbconvert.filters import get_metadata as nbconvert_get_metadata

    value = nbconvert_get_metadata(output, key, mimetype)
    if key in ("width", "height"):
        return value if type(value) in (int, float) or (isinstance(value, str) and value.isdigit()) else None
    return value


def as_html_block(cleaned: str) -> str:
    """Clean HTML as markdown source that renders as exactly that HTML: a single line starting with
    <div> is one CommonMark HTML block, passed through untouched; an entity keeps each newline (in a
    <pre>, or ending a TeX comment) without ending the block."""
    return "<div>" + cleaned.strip().replace("\r", "").replace("\n", "&#10;") + "</div>"


def clean_markdown(source: str, attachments: dict | None = None, budget: list[int] | None = None,
                   language: str = SOURCE_LANGUAGE) -> tuple[str, list[str]]:
    """(source to store, what was removed, in ``language``: the instructor's).  Unchanged when nh3 finds
    nothing to remove in its rendering.
    ``budget``: characters of markdown the notebook may still have rendered (one-item list, decremented)."""
    budget = budget if budget is not None else [MAX_NOTEBOOK_CHARS]
    if len(source) > min(MAX_PIECE_CHARS, budget[0]):
        over = (_in(language, "显示为纯文本 ({count} 个字符超过了单个单元格的上限)") if len(source) > MAX_PIECE_CHARS
                else _in(language, "显示为纯文本 ({count} 个字符超过了整个笔记本的上限)"))
        return as_html_block(_as_text(source)), [over.format(count=len(source))]
    budget[0] -= len(source)
    rendered = render_markdown(source, attachments)
    if rendered.count("<") > MAX_PIECE_TAGS:
        return as_html_block(_as_text(source)), [_in(language, "显示为纯文本 (超过 {tags} 个标签)").format(
            tags=MAX_PIECE_TAGS)]
    cleaned = clean_html(rendered)
    what = removed(rendered, cleaned, language)
    return (source, []) if not what else (as_html_block(cleaned), what)


def _clean_piece(markup: str, budget: list[int] | None, language: str = SOURCE_LANGUAGE) -> tuple[str, list[str]]:
    """An HTML output or a raw cell: (cleaned, what was removed), as text past the limits."""
    budget = budget if budget is not None else [MAX_NOTEBOOK_CHARS]
    if markup.count("<") > MAX_PIECE_TAGS or len(markup) > budget[0]:
        return _as_text(markup), [_in(language, "显示为纯文本 (超过 {tags} 个标签, 或超过整个笔记本 {chars} 个字符的标记上限)")
                                  .format(tags=MAX_PIECE_TAGS, chars=MAX_NOTEBOOK_CHARS)]
    budget[0] -= len(markup)
    cleaned = clean_html(markup)
    return cleaned, removed(markup, cleaned, language)


def _text(value) -> str:
    return "".join(map(str, value)) if isinstance(value, list) else str(value)


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value.replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def clean_output(output, budget: list[int] | None = None, language: str = SOURCE_LANGUAGE) -> list[str]:
    """Clean one output in place; returns what was removed (mime types, markup), in ``language``."""
    notes = []
    kind = output.get("output_type")
    for key in [k for k in output if k not in ("output_type", "name", "text", "ename", "evalue", "traceback",
                                                "data", "metadata", "execution_count")]:
        del output[key]  # e.g. svg_filename, which nbconvert makes an <img src> of
    if "execution_count" in output and not (output["execution_count"] is None
                                            or type(output["execution_count"]) is int):
        output["execution_count"] = None
    for key in ("text", "ename", "evalue"):
        if key in output:
            output[key] = _text(output[key])
    if "traceback" in output:
        output["traceback"] = [_text(line) for line in output["traceback"]] \
            if isinstance(output["traceback"], list) else [_text(output["traceback"])]
    if kind not in ("display_data", "execute_result", "update_display_data"):
        return notes
    output["metadata"] = {}  # width/height/alt go into attributes, some unquoted
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    kept = {}
    for mime, value in data.items():
        value = _text(value)
        if mime in _PLAIN or (mime in _IMAGES and _is_base64(value)):
            kept[mime] = data[mime] if mime == "application/json" else value  # JSON stays JSON
        elif mime == "text/html":
            kept[mime], what = _clean_piece(value, budget, language)
            notes += what
        elif mime == "text/markdown":
            kept[mime], what = clean_markdown(value, budget=budget, language=language)
            notes += what
        else:
            notes.append(_in(language, "{mime} 输出").format(mime=mime))
    if not kept:
        kept["text/plain"] = _in(language, "[讲师页面中不显示此输出: {mimes}]").format(
            mimes=", ".join(sorted(data)) or _in(language, "空"))
    output["data"] = kept
    return notes


def _clean_metadata(cell) -> None:
    meta = cell.get("metadata")
    if not isinstance(meta, dict):
        cell["metadata"] = {}
        return
    nbgrader = meta.get("nbgrader")
    if "nbgrader" in meta and not (isinstance(nbgrader, dict) and isinstance(nbgrader.get("grade_id"), str)
                                   and SAFE_ID.match(nbgrader["grade_id"])):
        del meta["nbgrader"]
    if "tags" in meta and not (isinstance(meta["tags"], list) and all(isinstance(t, str) for t in meta["tags"])):
        del meta["tags"]
    for key in ("raw_mimetype", "alt"):
        if key in meta and not isinstance(meta[key], str):
            del meta[key]


def clean_notebook(nb, language: str = SOURCE_LANGUAGE) -> list[str]:
    """Make a notebook safe to render for the instructor, in place.  Returns one note per cell that
    had something removed ("cell 7: <script>, onerror= on <img>"), for the submission's problem lines,
    in ``language`` (the course's)."""
    notes, budget = [], [MAX_NOTEBOOK_CHARS]
    meta = nb.get("metadata")
    if isinstance(meta, dict):
        for key in [k for k in meta if k not in ("kernelspec", "language_info")]:
            del meta[key]  # widget state (rendered by a widget manager), title, anything else
    cells = nb.get("cells")
    for index, cell in enumerate(cells if isinstance(cells, list) else []):
        what = []
        if not isinstance(cell, dict):
            continue
        _clean_metadata(cell)
        source = _text(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            attachments = cell.get("attachments")
            attachments = {name: {m: v for m, v in (files or {}).items() if m in _IMAGES and _is_base64(_text(v))}
                           for name, files in attachments.items() if isinstance(files, dict)} \
                if isinstance(attachments, dict) else {}
            if "attachments" in cell:
                cell["attachments"] = attachments
            cell["source"], what = clean_markdown(source, attachments, budget, language)
        elif cell.get("cell_type") == "raw":
            cell["source"], what = _clean_piece(source, budget, language)
        elif cell.get("cell_type") == "code":
            cell["source"] = source
            if not (cell.get("execution_count") is None or type(cell.get("execution_count")) is int):
                cell["execution_count"] = None
            outputs = cell.get("outputs")
            cell["outputs"] = [o for o in outputs if isinstance(o, dict)] if isinstance(outputs, list) else []
            for output in cell["outputs"]:
                what += clean_output(output, budget, language)
        if what:
            notes.append(_in(language, "单元格 {index}: 已从讲师页面中移除: {what}").format(
                index=index, what=", ".join(dict.fromkeys(what))[:300]))
    return notes


def clean_highlighted_code(markup: str) -> str:
    """copydetect's highlighted code for the side-by-side page: only its highlight spans survive.
    copydetect escapes the code, except when a pair shares nothing, where it returns it raw."""
    from grader.engine.escape import visible_controls

    return visible_controls(nh3.clean(str(markup), tags={"span"}, attributes={}, link_rel=None,
                                      allowed_classes={"span": {"highlight-red", "highlight-green"}}))
