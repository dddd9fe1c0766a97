"""Pairs of submissions whose solution code is suspiciously similar, per assignment (for the instructor report).

The solution cells of each submission are fingerprinted with copydetect (winnowing, as MOSS does:
names, comments and strings are normalised away before k-grams are hashed), with the starter code of
the release notebook as boilerplate, so two students who only kept the stubs never match.  Each flagged
pair gets a side-by-side page with the shared code highlighted.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.engine.escape import for_html
from grader.engine.markup import clean_highlighted_code
from grader.engine.boundary import read_submission
from grader.engine.collect import STUDENT_ID
from grader.engine.notebook import NotebookError
from grader.i18n import SOURCE_LANGUAGE, _in
from grader.layout import ASSIGNMENTS, release_notebook

# A pair is flagged when this share of either side's fingerprinted code is found in the other.  The
# honest pair of the demo class (two different correct answers) stays far below it, and a copy with
# renamed variables and rewritten comments far above.
THRESHOLD = 0.6
# copydetect's k-gram length (noise) and guaranteed match length, in filtered characters: shorter than
# its defaults (25, 30) because an exercise's answer is a few short functions.
NOISE, GUARANTEE = 20, 25


@dataclass(frozen=True)
class Pair:
    assignment: str
    first: str
    second: str
    share_first: float   # share of first's solution code that is found in second's
    share_second: float
    page: Path           # the side-by-side page

    @property
    def similarity(self) -> float:
        return max(self.share_first, self.share_second)


def solution_code(notebook: dict) -> str:
    """The code of a notebook's solution cells (nbgrader's ``solution`` metadata), one after the other."""
    cells = []
    for cell in notebook.get("cells", []):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if cell.get("cell_type") == "code" and meta.get("solution"):
            source = cell.get("source", "")
            cells.append("".join(source) if isinstance(source, list) else str(source))
    return "\n\n".join(cells) + "\n"


def _read(path: Path) -> dict | None:
    """A submitted notebook as grading saw it (grader/engine/boundary.py), None where grading refused it."""
    try:
        return read_submission(path)
    except NotebookError:
        return None  # not a notebook: collect and sanitize already report it


def _starter(course: Path, assignment: str) -> Path:
    """The release notebook the students started from: the course's own release, else exercises/."""
    own = Path(course) / "release" / assignment / f"{assignment}.ipynb"
    return own if own.is_file() else release_notebook(assignment)


def _side_by_side(pair: Pair, left: str, right: str) -> str:
    e, left, right = for_html, clean_highlighted_code(left), clean_highlighted_code(right)
    return ("<!doctype html><meta charset=utf-8>"
            f"<title>{e(pair.assignment)}: {e(pair.first)} / {e(pair.second)}</title>"
            "<style>body{font-family:sans-serif;margin:1em}.cols{display:flex;gap:1em}"
            ".cols>div{flex:1;min-width:0}pre{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:85%}"
            ".highlight-red{background:#fcc}.highlight-green{background:#cfc}</style>"
            f"<h1>{e(pair.assignment)}: {e(pair.first)} / {e(pair.second)}</h1>"
            "<p>Solution cells only; the starter code of the release is excluded.  Highlighted: code found in "
            "the other submission (after copydetect's normalisation of names, comments and strings).</p>"
            f"<div class=cols><div><h2>{e(pair.first)} ({100 * pair.share_first:.0f}% shared)</h2><pre>{left}</pre></div>"
            f"<div><h2>{e(pair.second)} ({100 * pair.share_second:.0f}% shared)</h2><pre>{right}</pre></div></div>")


def similar_pairs(course: Path, assignment: str, threshold: float = THRESHOLD) -> list[Pair]:
    """Flagged pairs of one assignment, most similar first; writes their pages under
    ``COURSE/similarity/<assignment>/``."""
    from copydetect import CopyDetector

    course = Path(course)
    out = course / "similarity" / assignment
    if out.exists():
        shutil.rmtree(out)
    code_dir, starter_dir = out / "code", out / "starter"
    code_dir.mkdir(parents=True)
    starter_dir.mkdir()
    starter = _read(_starter(course, assignment))  # the instructor's, but one reader for every notebook
    (starter_dir / f"{assignment}.py").write_text(solution_code(starter or {}), encoding="utf-8")
    for path in sorted((course / "submitted").glob(f"*/{assignment}/{assignment}.ipynb")):
        if not STUDENT_ID.match(path.parent.parent.name) or path.parent.is_symlink() or path.parent.parent.is_symlink():
            continue  # collect skips these folders: no grade, and no place in the report either
        nb = _read(path)
        if nb is not None:
            (code_dir / f"{path.parent.parent.name}.py").write_text(solution_code(nb), encoding="utf-8")
    if len(list(code_dir.iterdir())) < 2:
        return []
    detector = CopyDetector(test_dirs=[str(code_dir)], ref_dirs=[str(code_dir)], boilerplate_dirs=[str(starter_dir)],
                            extensions=["py"], noise_t=NOISE, guarantee_t=GUARANTEE, display_t=0.0, silent=True,
                            autoopen=False, out_file=str(out / "copydetect.html"))
    detector.run()
    pairs = []
    for share_a, share_b, file_a, file_b, code_a, code_b, _ in detector.get_copied_code_list():
        (a, code_a, share_a), (b, code_b, share_b) = sorted([(Path(file_a).stem, code_a, float(share_a)),
                                                             (Path(file_b).stem, code_b, float(share_b))])
        if max(share_a, share_b) < threshold:
            continue
        pair = Pair(assignment, a, b, share_a, share_b, out / f"{a}--{b}.html")
        pair.page.write_text(_side_by_side(pair, code_a, code_b), encoding="utf-8")
        pairs.append(pair)
    return sorted(pairs, key=lambda p: (-p.similarity, p.first, p.second))


def all_similar_pairs(course: Path, threshold: float = THRESHOLD, problems: list[str] | None = None,
                      language: str = SOURCE_LANGUAGE) -> dict[str, list[Pair]]:
    """Every assignment's pairs; one that cannot be compared is a line in ``problems`` (in ``language``), never
    the run's end."""
    out = {}
    for a in ASSIGNMENTS:
        try:
            out[a] = similar_pairs(course, a, threshold)
        except Exception as exc:  # copydetect on what a student wrote: its failure is a line in the report
            out[a] = []
            if problems is not None:
                problems.append(_in(language, "{assignment} 的相似度: 未计算 ({error})").format(
                    assignment=a, error=f"{type(exc).__name__}: {str(exc)[:200]}"))
    return out
