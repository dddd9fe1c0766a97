"""collect: nbgrader's layout in, submissions and clear problem lines out; nothing odd is followed."""
import os

import nbformat

from grader.engine.collect import MAX_NOTEBOOK_BYTES, collect


def _notebook(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(), path)


def test_layout_and_bad_entries(tmp_path):
    sub = tmp_path / "submitted"
    _notebook(sub / "alice" / "symmetry" / "symmetry.ipynb")
    (sub / "alice" / "symmetry" / "timestamp.txt").write_text("2026-11-20 12:00:00 UTC")
    _notebook(sub / "alice" / "symmetry" / "copy.ipynb")
    (sub / "bob" / "divergence").mkdir(parents=True)                      # no notebook
    _notebook(sub / "bad id!" / "symmetry" / "symmetry.ipynb")            # invalid student id
    os.symlink("/etc", sub / "linked")                                     # symlinked student
    _notebook(sub / "carol" / "nope" / "nope.ipynb")                       # unknown assignment
    os.symlink("/etc/passwd", sub / "alice" / "symmetry" / "passwd")      # symlink inside a submission
    os.mkdir(os.fsencode(sub) + b"/\xff\xfe")                              # not UTF-8
    big = sub / "dave" / "eigen_bounds" / "eigen_bounds.ipynb"
    big.parent.mkdir(parents=True)
    big.write_bytes(b" " * (MAX_NOTEBOOK_BYTES + 1))

    found = collect(tmp_path)
    subs = {s.key: s for s in found.submissions}
    assert set(subs) == {"alice/symmetry", "bob/divergence", "dave/eigen_bounds"}
    alice = subs["alice/symmetry"]
    assert alice.notebook.name == "symmetry.ipynb" and alice.timestamp.year == 2026
    assert any("多余的笔记本" in p for p in alice.problems) and any("符号链接" in p for p in alice.problems)
    assert subs["bob/divergence"].notebook is None and "没有 divergence.ipynb" in subs["bob/divergence"].problems[0]
    assert subs["dave/eigen_bounds"].notebook is None and "上限" in subs["dave/eigen_bounds"].problems[0]
    text = "\n".join(found.skipped)
    assert "不是有效的学生 id" in text and "是符号链接" in text
    assert "未知的作业" in text and "不是 UTF-8" in text
    # the same lines for a course whose language is English
    english = collect(tmp_path, language="en")
    subs = {s.key: s for s in english.submissions}
    assert set(subs) == {"alice/symmetry", "bob/divergence", "dave/eigen_bounds"}
    alice = subs["alice/symmetry"]
    assert any("extra notebook" in p for p in alice.problems) and any("symlink" in p for p in alice.problems)
    assert subs["bob/divergence"].notebook is None and "no divergence.ipynb" in subs["bob/divergence"].problems[0]
    assert subs["dave/eigen_bounds"].notebook is None and "limit" in subs["dave/eigen_bounds"].problems[0]
    text = "\n".join(english.skipped)
    assert "not a valid student id" in text and "is a symlink" in text
    assert "unknown assignment" in text and "not UTF-8" in text


def test_fingerprint_changes_with_the_notebook_and_the_checks(tmp_path):
    _notebook(tmp_path / "submitted" / "alice" / "symmetry" / "symmetry.ipynb")
    sub = collect(tmp_path).submissions[0]
    before = sub.fingerprint("v1")
    assert before == sub.fingerprint("v1") and before != sub.fingerprint("v2")
    sub.notebook.write_text(sub.notebook.read_text() + " ")
    assert sub.fingerprint("v1") != before
