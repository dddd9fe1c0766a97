"""Public self-checks, runnable with nothing but torch (this file ships to students as ``selfcheck.py``).

``check(part)`` runs the public checks of one part of the assignment in the current folder against the
notebook's own functions and prints a report in the exercise's language: Chinese, or the language named by
``language.txt`` beside this file, whose messages come from ``locale/<language>/LC_MESSAGES/numstab.mo``
(standard gettext).  The grader reuses ``LocalStudent`` and ``call_with_fixtures`` so that students and
graders drive submissions the same way, and swaps in its own catalogs (grader/i18n.py).
"""
from __future__ import annotations

import gettext
import importlib
import inspect
import os
import random
import sys
import traceback
import urllib.parse

import torch

PUBLIC_MODULE = "public_checks"
SECTIONS_MODULE = "book_sections"  # where the book teaches each part, and the public checks' hints (ships too)
BOOK_PAGE = "numerical-stability.html"
# The release's own book, seen from an exercise folder unpacked where its archive lies
# (dist/student/exercises/<a>/ -> dist/student/book/).  GRADER_BOOK_URL points elsewhere, e.g. at the
# published book; `python -m grader grade --book-url` sets it for the feedback.
DEFAULT_BOOK_URL = "../../book/"

# -- language ------------------------------------------------------------------------------------------------
# The locked cells are the same in every language, so the folder says which language it was released in:
# LANGUAGE_FILE beside this file (absent: the source language).  Messages are marked _() in the source
# language; N_() marks a table entry that is translated where it is shown.
SOURCE_LANGUAGE = "zh_CN"
LANGUAGE_FILE = "language.txt"
DOMAIN = "numstab"
HERE = os.path.dirname(os.path.abspath(__file__))


def _folder_language() -> str:
    """The language LANGUAGE_FILE names, when this folder carries its catalog; the source language otherwise."""
    try:
        with open(os.path.join(HERE, LANGUAGE_FILE), encoding="utf-8") as f:
            named = f.read(100).strip()
    except OSError:
        return SOURCE_LANGUAGE
    catalog = os.path.join(HERE, "locale", named, "LC_MESSAGES", DOMAIN + ".mo")
    return named if named and "/" not in named and os.path.isfile(catalog) else SOURCE_LANGUAGE


def _load_catalog(language: str) -> gettext.NullTranslations:
    """The compiled catalog shipped beside this file; none (the source text) for the source language."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, os.path.join(HERE, "locale"), languages=[language], fallback=True)


load_catalog = _load_catalog  # the grader installs its own loader (grader.i18n), reading the .po files
_catalogs: dict[str, gettext.NullTranslations] = {}
_language: list[str] = []  # set once read, or by the grader for each submission (use_language)


def language() -> str:
    """The language this process speaks to the student in."""
    if not _language:
        _language.append(_folder_language())
    return _language[0]


def use_language(lang: str) -> None:
    """From now on, messages in ``lang`` (the grader: the language of the submission it checks)."""
    _language[:] = [lang]


def translation(lang: str | None = None) -> gettext.NullTranslations:
    lang = lang or language()
    if lang not in _catalogs:
        _catalogs[lang] = load_catalog(lang)
    return _catalogs[lang]


def _(message: str) -> str:
    """``message`` (source language) in the current language."""
    return translation().gettext(message)


def _in(lang: str | None, message: str) -> str:
    """``message`` in ``lang`` (None: the current language)."""
    return translation(lang).gettext(message)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog; it is translated where it is shown (``_(value)``)."""
    return message


# The chapter's sections by their language-neutral labels (the book's MyST targets), with their titles.
SECTION_TITLES = {
    "numerical-stability": N_("数值稳定性和模型初始化"),
    "vanishing-and-exploding-gradients": N_("梯度消失和梯度爆炸"),
    "vanishing-gradients": N_("梯度消失"),
    "exploding-gradients": N_("梯度爆炸"),
    "breaking-the-symmetry": N_("打破对称性"),
    "stabilizing-training": N_("让训练更加稳定"),
    "parameter-initialization": N_("参数初始化"),
    "default-initialization": N_("默认初始化"),
    "xavier-initialization": N_("Xavier初始化"),
    "further-reading": N_("额外阅读"),
    "summary": N_("小结"),
    "exercises": N_("练习"),
    "references": N_("参考文献"),
}


def section_title(label: str, lang: str | None = None) -> str:
    """The heading of a section of the chapter, in ``lang`` (default: the current language)."""
    return translation(lang).gettext(SECTION_TITLES.get(label, label))


class StudentError(Exception):
    """The student's code raised, or a name the check needs is missing."""


def cuda_present() -> bool:
    """The one place that decides whether cuda is used (the notebooks, the checks and the engine ask here)."""
    return torch.cuda.is_available()


def pick_device() -> torch.device:
    """Where the notebooks put their tensors: cuda when present, cpu otherwise."""
    return torch.device("cuda" if cuda_present() else "cpu")


def grading_devices() -> list[str]:
    """Devices every device-dependent check runs on: cpu always, cuda where present."""
    return ["cpu", "cuda"] if cuda_present() else ["cpu"]


def make_rng(seed: int) -> torch.Generator:
    """A CPU generator; checks draw on it and move the result to the device they test."""
    return torch.Generator().manual_seed(int(seed) % (2**63))


def plain(value, depth: int = 0):
    """Copy a student's result into plain data: base-class tensors, numbers, str, lists, dicts.

    Subclasses and exotic objects are refused, so an object whose ``__eq__`` lies never reaches a check.
    """
    if depth > 20:
        raise StudentError(_("返回值嵌套过深 (超过 20 层)"))
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.Tensor):
        if type(value) is not torch.Tensor and not isinstance(value, torch.nn.Parameter):
            raise StudentError(_("返回了 torch.Tensor 的子类 {name}; 请返回普通张量").format(name=type(value).__name__))
        return torch.Tensor.detach(value).clone().as_subclass(torch.Tensor)
    if type(value) in (list, tuple):
        return type(value)(plain(v, depth + 1) for v in value)
    if type(value) is dict:
        return {plain(k, depth + 1): plain(v, depth + 1) for k, v in value.items()}
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    raise StudentError(_("返回值类型 {name} 不是普通数据 (张量、数字、列表、字典)").format(name=type(value).__name__))


class LocalStudent:
    """The student's notebook namespace, seen only through plain data."""

    def __init__(self, namespace: dict):
        self.ns = namespace

    def has(self, name: str) -> bool:
        return name in self.ns

    def _lookup(self, name: str):
        if name not in self.ns:
            raise StudentError(_("笔记本中没有定义 `{name}`").format(name=name))
        return self.ns[name]

    def get(self, name: str):
        """The value of a global variable of the notebook."""
        return plain(self._lookup(name))

    def call(self, name: str, *args, **kwargs):
        """Call a function (or class) of the notebook on the check's inputs and return plain data."""
        fn = self._lookup(name)
        try:
            result = fn(*args, **kwargs)
        except NotImplementedError:
            raise StudentError(_("`{name}` 还没有实现 (仍然抛出 NotImplementedError)").format(name=name)) from None
        except Exception as exc:  # a student's bug is a failed check, reported with its own message
            raise StudentError(_("`{name}` 抛出异常: {error}").format(name=name, error=f"{type(exc).__name__}: {exc}")) from None
        return plain(result)

    def optimizer_steps(self, cls_name: str, params: list, grads: list[list], return_state: bool = False,
                        groups: list[dict] | None = None, **hyper):
        """Build the notebook's optimizer class on copies of ``params`` and apply ``grads`` step by step.

        Returns the parameters after every step (a list of lists of tensors); with ``return_state=True``
        the pair ``(history, state)``, where ``state[i]`` is the optimizer's ``state`` of parameter ``i``
        after the last step, as a dict of plain values (tensors keep their dtype, shape and device).
        ``groups``: parameter groups, each a dict of its own hyperparameters and ``"count"``, how many of
        ``params`` (taken in order) it holds; ``hyper`` are then the constructor's defaults.
        """
        cls = self._lookup(cls_name)
        leaves = [torch.nn.Parameter(p.detach().clone()) for p in params]
        spec, start = leaves, 0
        if groups:  # the checker's own request: a mistake here is not the student's
            spec = []
            for group in groups:
                group = dict(group)
                count = int(group.pop("count"))
                spec.append({"params": leaves[start:start + count], **group})
                start += count
            assert start == len(leaves), f"the groups hold {start} parameters, not {len(leaves)}"
        try:
            opt = cls(spec, **hyper)
            history = []
            for step_grads in grads:
                for p, g in zip(leaves, step_grads):
                    p.grad = None if g is None else g.detach().clone()  # None: a parameter without a gradient
                opt.step()
                history.append([p.detach().clone() for p in leaves])
            state = [dict(opt.state[p]) if p in getattr(opt, "state", {}) else {} for p in leaves]
        except Exception as exc:
            raise StudentError(_("`{name}` 抛出异常: {error}").format(name=cls_name, error=f"{type(exc).__name__}: {exc}")) from None
        if not return_state:
            return plain(history)
        return plain(history), [{str(k): _plain_or_type(v) for k, v in s.items()} for s in state]

    # -- side effects and contexts: what a check may ask beyond a plain call -------------------------------
    def call_returning_inputs(self, name: str, *args, **kwargs):
        """Call ``name`` on private copies of the inputs; return ``(result, args_after)``.

        ``args_after`` are those copies as the call left them, so a check compares them with the
        inputs it sent: "inputs are not modified" is tested on the checker's side, in-kernel and in
        the sandbox alike (the sandbox child always works on copies, so an in-place edit is visible
        only this way).
        """
        copies = _copied(list(args))
        result = self.call(name, *copies, **kwargs)
        return result, plain(copies)

    def call_under(self, context: str, name: str, *args, **kwargs):
        """``call`` inside one of the grad-mode contexts of ``CONTEXTS`` ("no_grad", "enable_grad",
        "inference_mode"), entered on the student's side: where the function actually runs."""
        if context not in CONTEXTS:
            raise ValueError(f"unknown context {context!r}; one of {sorted(CONTEXTS)}")
        with CONTEXTS[context]():
            return self.call(name, *args, **kwargs)


# The contexts a check may run a student's call under (a fixed list: nothing else crosses the wire).
CONTEXTS = {"no_grad": torch.no_grad, "enable_grad": torch.enable_grad, "inference_mode": torch.inference_mode}


def _copied(value):
    """Fresh copies of the tensors in a (nested) list/tuple/dict, so a student's in-place edit stays private."""
    if isinstance(value, torch.Tensor):
        return torch.Tensor.detach(value).clone()
    if type(value) in (list, tuple):
        return type(value)(_copied(v) for v in value)
    if type(value) is dict:
        return {k: _copied(v) for k, v in value.items()}
    return value


def _plain_or_type(value):
    """An optimizer's state entry as plain data, or its type's name when it is something else."""
    try:
        return plain(value)
    except StudentError:
        return f"<{type(value).__name__}>"


def call_with_fixtures(fn, fixtures: dict):
    """Call a check, handing it the fixtures its parameters name (as pytest would)."""
    names = inspect.signature(fn).parameters
    return fn(**{n: fixtures[n] for n in names})


def public_checks_for(module, part: str) -> list:
    """The public checks of one part: functions named ``check_<part>__<what>``."""
    prefix = f"check_{part}__"
    return [getattr(module, n) for n in sorted(vars(module)) if n.startswith(prefix) and callable(getattr(module, n))]


def is_autograded_test(cell) -> bool:
    """An nbgrader test cell: graded code that is not a solution."""
    meta = (cell.get("metadata", {}).get("nbgrader") or {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def runnable_source(source) -> str:
    """Plain Python for a cell: IPython magics and shell escapes are commented out, not run."""
    source = "".join(source) if isinstance(source, list) else source
    return "\n".join("# " + l if l.lstrip().startswith(("%", "!")) else l for l in source.splitlines())


def lookup(table: dict, part: str, function: str):
    """The entry of ``table`` for check ``function`` of ``part``: the longest key naming it (``part::`` plus a
    prefix of the function's name, or a prefix of a ``check_``/``test_`` name), else the part's own entry."""
    qualified = f"{part}::{function}"
    keys = [k for k in table if ("::" in k and qualified.startswith(k))
            or (k.startswith(("check_", "test_")) and function.startswith(k))]
    return table[max(keys, key=len)] if keys else table.get(part)


def book_url(section: str, base: str | None = None, lang: str | None = None) -> str:
    """Link to a section (its label) of the chapter in ``lang`` (default: the current language), under
    ``base``, GRADER_BOOK_URL or the release's own book: ``<book root>/<lang>/numerical-stability.html#<label>``."""
    base = base or os.environ.get("GRADER_BOOK_URL") or DEFAULT_BOOK_URL
    return f"{base.rstrip('/')}/{lang or language()}/{BOOK_PAGE}#{urllib.parse.quote(section)}"


def advice(tables, part: str, function: str) -> tuple[str | None, str | None]:
    """(section label, hint in the source language) for a check, from the first of ``tables`` (modules with
    SECTIONS and HINTS) that has one."""
    section = next((s for t in tables if (s := lookup(getattr(t, "SECTIONS", {}), part, function))), None)
    hint = next((h for t in tables if (h := lookup(getattr(t, "HINTS", {}), part, function))), None)
    return section, hint


def advice_lines(section: str | None, hint: str | None, indent: str = "    ", lang: str | None = None) -> list[str]:
    """What a failed check adds to a report, in ``lang``: the hint, then where the book teaches it."""
    lines = [indent + _in(lang, "提示: {hint}").format(hint=_in(lang, hint))] if hint else []
    if section:
        lines.append(indent + _in(lang, "参见: 《{title}》 {url}").format(title=section_title(section, lang),
                                                                     url=book_url(section, lang=lang)))
    return lines


def _sections_module():
    try:
        return importlib.import_module(SECTIONS_MODULE)
    except ImportError:  # an older download without the file: the checks still run, without hints
        return None


def check(part: str, namespace: dict | None = None) -> float:
    """Run the public checks of ``part`` on this notebook; print a report; return the share passed."""
    if namespace is None:
        namespace = vars(sys.modules["__main__"])
    module = importlib.import_module(PUBLIC_MODULE)
    sections = [m for m in [_sections_module()] if m is not None]
    checks = public_checks_for(module, part)
    if not checks:
        print(_("[{part}] 没有找到这一部分的公开检查").format(part=part))
        return 0.0
    student = LocalStudent(namespace)
    seed = random.SystemRandom().randrange(2**31)
    passed = total = 0
    links: dict[str, str] = {}
    print(_("== 自检 [{part}] ==").format(part=part))
    for fn in checks:
        for device in grading_devices() if "device" in inspect.signature(fn).parameters else ["cpu"]:
            total += 1
            label = fn.__name__.split("__", 1)[1] + (f" [{device}]" if device != "cpu" else "")
            try:
                call_with_fixtures(fn, {"student": student, "device": torch.device(device), "rng": make_rng(seed)})
            except StudentError as exc:
                print(f"  ✗ {label}: {exc}")
            except AssertionError as exc:
                print(f"  ✗ {label}: " + (str(exc) or _("结果不符合要求")))
            except Exception as exc:
                where = traceback.extract_tb(exc.__traceback__)[-1]
                print(f"  ✗ {label}: " + _("检查出错 {error} (第 {line} 行)").format(error=f"{type(exc).__name__}: {exc}",
                                                                            line=where.lineno))
            else:
                passed += 1
                print(f"  ✓ {label}")
                continue
            section, hint = advice(sections, part, fn.__name__)
            for line in advice_lines(section, hint):
                print(line)
            if section:
                links[section] = book_url(section)
    print(_("公开检查通过 {passed}/{total}。评分时还会运行更多隐藏检查 (随机输入), 通过公开检查不代表满分。")
          .format(passed=passed, total=total))
    _show_links(links)
    return passed / total


def _show_links(links: dict[str, str]) -> None:
    """In Jupyter, the sections to reread as clickable links (a shell shows the URLs printed above)."""
    ipython = sys.modules.get("IPython")
    if not links or ipython is None or getattr(ipython, "get_ipython", lambda: None)() is None:
        return
    from html import escape
    from IPython.display import HTML, display

    items = "".join(f'<li><a href="{escape(url)}" target="_blank">{escape(section_title(section))}</a></li>'
                    for section, url in links.items())
    title = escape(_("复习书中的这些小节:"))
    display(HTML(f"<p>{title}</p><ul>{items}</ul>"))


def check_notebook(path: str) -> float:
    """Run a notebook's own cells, then the public checks of each of its parts (``python selfcheck.py NB``)."""
    import json

    folder = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as f:
        cells = json.load(f)["cells"]
    sys.path.insert(0, folder)
    os.chdir(folder)
    sys.modules.setdefault("selfcheck", sys.modules[__name__])
    ns = {"__name__": "__main__"}
    parts = []
    for i, cell in enumerate(cells):
        if is_autograded_test(cell):
            parts.append(cell["metadata"]["nbgrader"]["grade_id"])
        elif cell.get("cell_type") == "code":
            try:
                exec(compile(runnable_source(cell["source"]), f"{path} cell {i}", "exec"), ns)
            except Exception as exc:
                print(_("单元格 {index} 出错: {error}").format(index=i, error=f"{type(exc).__name__}: {exc}"))
    shares = [check(part, ns) for part in parts]
    return sum(shares) / len(shares) if shares else 0.0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(_("用法: python selfcheck.py 笔记本.ipynb"))
    check_notebook(sys.argv[1])
