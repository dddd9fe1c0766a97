"""The bundled demo class: a few students per assignment, built from the assignments themselves.

alice is correct (the reference solution), bob partly wrong (first answer left blank), carol hands in
the untouched release, dave copies alice (variables renamed, comments rewritten), grace writes a
different correct answer of her own and the written answers (which then need a manual grade), mallory
is correct but hostile (patches torch, reads the gradebook, exits the process, floods output), eve's
notebook for one assignment is not valid JSON, henry works in the English release (exercises/en/) and
hands in the reference code.  bob, mallory, eve and henry hand in the reference code too, so the
similarity report flags them with alice and dave, never grace.  Built fresh so it never drifts from
solutions/.
"""
from __future__ import annotations

import ast
import io
import shutil
import tokenize
from pathlib import Path

import nbformat

from grader.course.demo_answers import CODE as GRACE_CODE, WRITTEN as GRACE_WRITTEN
from grader.layout import ASSIGNMENTS, EXERCISES, source_notebook
from grader.engine.notebook import is_autograded_test, load_notebook, nbgrader_meta

HOSTILE_CELLS = [
    # tampering with the checker's tools, as seen from the student's process
    "import torch, builtins\ntorch.isclose = lambda *a, **k: torch.tensor(True)\n"
    "torch.allclose = lambda *a, **k: True\ntorch.testing.assert_close = lambda *a, **k: None",
    # looking for the hidden checks, the solutions and the gradebook
    "import glob, os\nfor p in ['gradebook.db', '../gradebook.db', '/work', os.path.expanduser('~')]:\n"
    "    try:\n        print(p, os.listdir(p) if os.path.isdir(p) else open(p, 'rb').read(16))\n"
    "    except Exception as e:\n        print(p, type(e).__name__)",
    # endless output
    "for i in range(200000):\n    print('spam', i)",
    # leaving the process early
    "import sys\nsys.exit(0)",
    "import os\nos._exit(0)",
]


def _answers(source_nb) -> dict[str, str]:
    """grade_id -> solution source without the BEGIN/END markers."""
    out = {}
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            out[meta["grade_id"]] = "\n".join(l for l in cell.source.splitlines()
                                              if "### BEGIN SOLUTION" not in l and "### END SOLUTION" not in l)
    return out


def _locals(tree) -> set[str]:
    """Names bound inside function bodies, less every parameter (callers may pass those by keyword)."""
    params, bound = set(), set()
    for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        params |= {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs}
        params |= {a.arg for a in (fn.args.vararg, fn.args.kwarg) if a}
        for stmt in fn.body:
            bound |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return bound - params - {"_"}


def disguised(source: str) -> str:
    """What a student who copies does to hide it: local variables renamed, comments rewritten."""
    try:
        rename = _locals(ast.parse(source))
    except SyntaxError:
        return source
    out, depth, tokens = [], 0, list(tokenize.generate_tokens(io.StringIO(source).readline))
    for i, tok in enumerate(tokens):
        text = tok.string
        if tok.type == tokenize.OP and text in "([{":
            depth += 1
        elif tok.type == tokenize.OP and text in ")]}":
            depth -= 1
        elif tok.type == tokenize.NAME and text in rename:
            attribute = i > 0 and tokens[i - 1].string == "."
            keyword = depth > 0 and i + 1 < len(tokens) and tokens[i + 1].string == "="
            if not (attribute or keyword):
                text = f"my_{text}"
        elif tok.type == tokenize.COMMENT:
            text = "# 这里照书上的公式算"
        out.append(tok._replace(string=text))
    return tokenize.untokenize(out)


def solved(release_nb, answers: dict[str, str], leave_blank: int = 0):
    nb = nbformat.from_dict(release_nb)
    blanked = 0
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in answers:
            if blanked < leave_blank:
                blanked += 1
                continue
            cell.source = answers[gid]
    return nb


def copy_public_files(release_folder: Path, folder: Path) -> None:
    """Students submit the whole folder they downloaded: the notebook and the public-check files."""
    for f in release_folder.iterdir():
        if f.suffix == ".py":
            shutil.copyfile(f, folder / f.name)


def drop_stale_grading(course: Path, release: Path = EXERCISES) -> bool:
    """Start the demo's grading over when its gradebook was generated from another release (other
    checksums: an untouched written answer would count as answered); True when it did."""
    from grader.engine.gradebook import Gradebook, MissingEntry, db_url_for

    if not (course / "gradebook.db").is_file():
        return False
    stale = False
    with Gradebook(db_url_for(course)) as gb:
        for a in ASSIGNMENTS:
            # test cells are left out: the gradebook's checksum covers their hidden tests, the release's does not
            cells = [c for c in load_notebook(release / a / f"{a}.ipynb").cells if not is_autograded_test(c)]
            want = {m["grade_id"]: m["checksum"] for m in map(nbgrader_meta, cells) if m.get("checksum")}
            try:
                have = {c.name: c.checksum for c in gb.find_notebook(a, a).source_cells if c.name in want}
            except MissingEntry:
                continue  # generated on the next grade
            stale = stale or have != want
    if stale:
        (course / "gradebook.db").unlink()
        for folder in ("release", "autograded", "feedback"):
            shutil.rmtree(course / folder, ignore_errors=True)
    return stale


def build_demo_class(course: Path, release: Path = EXERCISES) -> Path:
    """``release``: the source language's release folder; the English one is ``<release>/en/`` (make exercises)."""
    course = Path(course).resolve()
    drop_stale_grading(course, Path(release))
    submitted = course / "submitted"
    if submitted.exists():
        shutil.rmtree(submitted)
    for a in ASSIGNMENTS:
        release_nb = load_notebook(release / a / f"{a}.ipynb")
        answers = _answers(load_notebook(source_notebook(a)))
        hostile = solved(release_nb, answers)
        hostile.cells += [nbformat.v4.new_code_cell(src) for src in HOSTILE_CELLS]
        students = {"alice": solved(release_nb, answers), "bob": solved(release_nb, answers, leave_blank=1),
                    "carol": release_nb, "mallory": hostile,
                    "dave": solved(release_nb, {gid: disguised(src) for gid, src in answers.items()}),
                    "grace": solved(release_nb, {**GRACE_CODE[a], **GRACE_WRITTEN[a]})}
        english = Path(release) / "en" / a
        students["henry"] = solved(load_notebook(english / f"{a}.ipynb"), answers)
        for student, nb in students.items():
            folder = submitted / student / a
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{a}.ipynb")
            copy_public_files(english if student == "henry" else release / a, folder)
            (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")
        eve = submitted / "eve" / a
        eve.mkdir(parents=True)
        if a == ASSIGNMENTS[0]:
            (eve / f"{a}.ipynb").write_text('{"cells": [ this is not json', encoding="utf-8")
        else:
            nbformat.write(solved(release_nb, answers), eve / f"{a}.ipynb")
    return course
