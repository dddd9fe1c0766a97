"""Stage `report`: grades.csv (nbgrader's export), per-student feedback (nbgrader's), and the instructor report.

The instructor report shows the failure rate per section of the chapter (which parts the class did not
get), then per assignment a histogram of scores and the failure rate of every check with its section,
so the instructor sees where students struggle, and the pairs of submissions whose solution code is
suspiciously similar (grader/engine/similarity.py); then every problem line.
"""
from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from grader.engine.gradebook import Gradebook
from nbgrader.plugins.export import CsvExportPlugin

from grader.layout import ASSIGNMENTS
from grader.engine.escape import for_html
from grader.engine.record import MARKER
from grader.engine.gradebook import nbgrader_api
from grader.engine.sections import Check, instructor_book_url
from grader.engine.similarity import THRESHOLD, Pair, all_similar_pairs


def export_csv(course: Path, db_url: str) -> Path:
    out = Path(course) / "grades.csv"
    with Gradebook(db_url) as gb:
        CsvExportPlugin(to=str(out)).export(gb)
    return out


def generate_feedback(course: Path, keys: list[str]) -> list[str]:
    """nbgrader's own feedback HTML for the (re)graded submissions; returns problem lines."""
    api = nbgrader_api(course)
    problems = []
    for key in sorted(keys):
        student, assignment = key.split("/")
        if not (Path(course) / "autograded" / student / assignment / f"{assignment}.ipynb").is_file():
            continue
        try:
            result = api.generate_feedback(assignment, student)
        except Exception as exc:  # nbconvert on a student's notebook: its failure is that student's line
            result = {"success": False, "error": f"{type(exc).__name__}: {exc}"}
        if not result["success"]:
            detail = result.get("error") or result.get("log") or ""
            problems.append(f"{key}: feedback could not be generated: {detail[-300:]}")
    return problems


def load_markers(course: Path) -> dict[str, dict]:
    out = {}
    for marker in sorted((Path(course) / "autograded").glob(f"*/*/{MARKER}")):
        try:
            out[f"{marker.parent.parent.name}/{marker.parent.name}"] = json.loads(marker.read_text())
        except (OSError, ValueError):
            continue
    return out


def scores(db_url: str) -> dict[str, dict[str, tuple[float, float]]]:
    """assignment -> student -> (score, max score) from the gradebook."""
    out: dict = defaultdict(dict)
    with Gradebook(db_url) as gb:
        for a in gb.assignments:
            for sub in a.submissions:
                out[a.name][sub.student.id] = (sub.score, sub.max_score)
    return out


@dataclass(frozen=True)
class Total:
    """One submission's points, autograded apart from written (graded by hand in formgrader).

    ``pending`` is the points of answers still waiting for a manual grade; a manual grade, once given in
    the gradebook, counts in ``written``.  An untouched written answer is an automatic 0 (nbgrader's rule).
    """
    auto: float
    auto_max: float
    written: float
    written_max: float
    pending: float = 0.0
    pending_answers: int = 0
    penalty: float = 0.0

    @property
    def score(self) -> float:
        return self.auto + self.written - self.penalty

    @property
    def label(self) -> str:
        """``9/9 · 3 to grade by hand``, ``9/9 · written 2.5/3``; ``9/9`` with no written part."""
        out = f"{self.auto:g}/{self.auto_max:g}"
        graded_max = self.written_max - self.pending
        if graded_max > 0:
            out += f" · written {self.written:g}/{graded_max:g}"
        if self.pending:
            out += f" · {self.pending:g} to grade by hand"
        if self.penalty:
            out += f" · late −{self.penalty:g}"
        return out


def totals(db_url: str) -> dict[str, dict[str, Total]]:
    """assignment -> student -> Total, from the gradebook (code cells are autograded, markdown by hand)."""
    out: dict = defaultdict(dict)
    with Gradebook(db_url) as gb:
        for a in gb.assignments:
            for sub in a.submissions:
                waiting = [g for nb in sub.notebooks for g in nb.grades if g.needs_manual_grade] \
                    if sub.needs_manual_grade else []
                out[a.name][sub.student.id] = Total(
                    sub.code_score, sub.max_code_score, sub.written_score, sub.max_written_score,
                    sum(g.max_score for g in waiting), len(waiting), sub.late_submission_penalty or 0.0)
    return out


def waiting_line(grid: dict[str, dict[str, Total]]) -> str:
    """How many answers wait for formgrader, and whose (one line for the console and the report)."""
    waiting = sorted((a, s, t) for a, row in grid.items() for s, t in row.items() if t.pending_answers)
    if not waiting:
        return "no answer waits for a manual grade"
    count = sum(t.pending_answers for _, _, t in waiting)
    points = sum(t.pending for _, _, t in waiting)
    return (f"{count} answer{'s' * (count != 1)} ({points:g} points) wait for a manual grade in formgrader "
            f"(make formgrader): " + ", ".join(f"{s}/{a}" for a, s, _ in waiting))


def _outcomes(markers: dict[str, dict]):
    """(student, assignment, Check, check label, passed) for every check run recorded in the markers."""
    for key, marker in markers.items():
        student, assignment = key.split("/")
        for part_name, part in marker.get("parts", {}).items():
            for o in part.get("outcomes", []):
                yield (student, assignment, Check.from_nodeid(part_name, o["nodeid"]),
                       f"{part_name}/{o['nodeid'].split('::', 1)[-1]}", o["passed"])


def failure_rates(markers: dict[str, dict]) -> dict[str, list[tuple[str, int, int, str | None]]]:
    """assignment -> [(part/check, failed, ran, section of the book)], worst first."""
    ran: dict = defaultdict(Counter)
    failed: dict = defaultdict(Counter)
    sections: dict = {}
    for _, assignment, check, label, passed in _outcomes(markers):
        ran[assignment][label] += 1
        failed[assignment][label] += not passed
        sections[assignment, label] = check.advice[0]
    return {a: sorted(((n, failed[a][n], ran[a][n], sections[a, n]) for n in ran[a]),
                      key=lambda t: (-t[1] / t[2], t[0])) for a in ran}


@dataclass
class SectionSummary:
    section: str
    parts: set = field(default_factory=set)      # assignment/part graded against this section
    failed: int = 0
    ran: int = 0
    students: set = field(default_factory=set)   # who graded against it
    struggling: set = field(default_factory=set)  # who failed at least one of its checks

    @property
    def rate(self) -> float:
        return self.failed / self.ran if self.ran else 0.0


def section_summary(markers: dict[str, dict]) -> list[SectionSummary]:
    """Per section of the chapter: how many of its checks failed across the class, worst first."""
    out: dict[str, SectionSummary] = {}
    for student, assignment, check, _, passed in _outcomes(markers):
        section = check.advice[0] or "(no section)"
        row = out.setdefault(section, SectionSummary(section))
        row.parts.add(f"{assignment}/{check.part}")
        row.ran += 1
        row.failed += not passed
        row.students.add(student)
        if not passed:
            row.struggling.add(student)
    return sorted(out.values(), key=lambda r: (-r.rate, r.section))


def problem_lines(markers: dict[str, dict], keys=None) -> list[str]:
    """Bad input and cells that hung or ended the process, one line each, for ``keys`` (default all)."""
    lines = []
    for key, marker in sorted(markers.items()):
        if keys is not None and key not in keys:
            continue
        lines += [f"{key}: {p}" for p in marker.get("problems", [])]
        lines += [f"{key}: cell {r['index']} {r['status']}: {r['error'][:200]}"
                  for r in marker.get("runs", {}).values() if r["status"] in ("timeout", "died")]
    return lines


def _histogram_svg(values: list[float], bins: int = 10) -> str:
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int(v * bins))] += 1
    top = max(counts) or 1
    bars = "".join(
        f'<rect x="{30 + i * 34}" y="{110 - 100 * c / top:.1f}" width="30" height="{100 * c / top:.1f}" fill="#4a7ab5">'
        f"<title>{i * 10}–{(i + 1) * 10}%: {c}</title></rect>"
        f'<text x="{45 + i * 34}" y="{105 - 100 * c / top:.1f}" font-size="10" text-anchor="middle">{c or ""}</text>'
        for i, c in enumerate(counts))
    ticks = "".join(f'<text x="{30 + i * 34}" y="124" font-size="9">{i * 10}</text>' for i in range(bins + 1))
    return f'<svg width="380" height="130" role="img" aria-label="score histogram">{bars}{ticks}</svg>'


def _section_link(section: str | None) -> str:
    if not section:
        return ""
    return f'<a href="{html.escape(instructor_book_url(section))}">{html.escape(section)}</a>'


def _sections_html(rows: list[SectionSummary]) -> str:
    """Which parts of the chapter the class did not get: failed checks per section, worst first."""
    e = for_html  # anything may hold a student's bytes
    body = "".join(
        f"<tr><td>{_section_link(r.section)}</td><td>{r.failed}/{r.ran}</td><td>{100 * r.rate:.0f}%</td>"
        f"<td>{len(r.struggling)}/{len(r.students)}</td><td>{e(', '.join(sorted(r.parts)))}</td></tr>" for r in rows)
    return ("<h2>By section of the chapter</h2><table><tr><th>section</th><th>checks failed</th><th>rate</th>"
            "<th>students with a failure</th><th>graded in</th></tr>" + body + "</table>")


def _groups(pairs: list[Pair]) -> list[list[str]]:
    """Students linked by flagged pairs (connected components), so a ring of copies reads as one line."""
    group: dict[str, set] = {}
    for pair in pairs:
        merged = group.get(pair.first, {pair.first}) | group.get(pair.second, {pair.second})
        for student in merged:
            group[student] = merged
    return sorted({tuple(sorted(g)) for g in group.values()})


def _similarity_html(course: Path, pairs: list[Pair]) -> str:
    e = for_html  # anything may hold a student's bytes
    head = (f"<h3>Similar solution code</h3><p>copydetect (winnowing) on the solution cells, the release's starter "
            f"code excluded; flagged when at least {100 * THRESHOLD:.0f}% of one side is found in the other.</p>")
    if not pairs:
        return head + "<p>No pair flagged.</p>"
    rows = "".join(
        f"<tr><td>{e(p.first)}</td><td>{e(p.second)}</td><td>{100 * p.share_first:.0f}% / {100 * p.share_second:.0f}%</td>"
        f'<td><a href="{e(p.page.relative_to(course).as_posix())}">side by side</a></td></tr>' for p in pairs)
    groups = "; ".join(", ".join(g) for g in _groups(pairs))
    return (head + f"<p>Groups: {e(groups)}</p><table><tr><th>student</th><th>student</th>"
            "<th>shared (each side)</th><th></th></tr>" + rows + "</table>")


def _grades_html(grid: dict[str, dict[str, Total]]) -> str:
    e = for_html
    assignments = sorted(grid)
    students = sorted({s for row in grid.values() for s in row})
    head = "".join(f"<th>{e(a)}</th>" for a in assignments)
    body = "".join(f"<tr><td>{e(s)}</td>" + "".join(
        f"<td>{e(grid[a][s].label) if s in grid[a] else '-'}</td>" for a in assignments) + "</tr>" for s in students)
    return ("<h2>Grades</h2><p>Autograded points, then the written answers graded by hand (formgrader), "
            f"then the points still waiting for a manual grade.</p><table><tr><th>student</th>{head}</tr>{body}</table>")


def write_instructor_report(course: Path, db_url: str, summary) -> Path:
    markers = load_markers(course)
    grid = totals(db_url)
    rates = failure_rates(markers)
    e = for_html  # anything may hold a student's bytes
    parts = [f"<h1>Grading report</h1><p>Course <code>{e(str(course))}</code>; graded on <b>{e(summary.where)}</b>; "
             f"seed {summary.seed}; graded {len(summary.graded)}, unchanged "
             f"{len(summary.unchanged)}, engine failures {len(summary.engine_failures)}.</p>",
             f'<p id="manual-grading"><b>{e(waiting_line(grid))}</b></p>', _grades_html(grid),
             "<h2>Isolation in force</h2><ul>" + "".join(f"<li>{e(l)}</li>" for l in summary.layers.describe())
             + "</ul>"]
    parts.append(_sections_html(section_summary(markers)))
    problems = list(getattr(summary, "problems", []))
    pairs = all_similar_pairs(course, problems=problems)
    for a in ASSIGNMENTS:
        rows = grid.get(a, {})
        fractions = [t.auto / t.auto_max for t in rows.values() if t.auto_max]  # what the engine graded
        parts.append(f"<h2>{e(a)}</h2><p>{len(rows)} submissions; mean autograded score "
                     f"{(100 * sum(fractions) / len(fractions)) if fractions else 0:.0f}%; "
                     f"{sum(t.pending_answers for t in rows.values())} answers to grade by hand</p>")
        parts.append(_histogram_svg(fractions))
        parts.append("<table><tr><th>check</th><th>failed</th><th>rate</th><th>section of the book</th></tr>" + "".join(
            f"<tr><td><code>{e(n)}</code></td><td>{f}/{r}</td><td>{100 * f / r:.0f}%</td><td>{_section_link(s)}</td></tr>"
            for n, f, r, s in rates.get(a, [])) + "</table>")
        parts.append(_similarity_html(Path(course), pairs.get(a, [])))
    lines = (list(summary.skipped) + list(summary.engine_failures) + list(getattr(summary, "refused", []))
             + problems + problem_lines(markers))
    parts.append("<h2>Problems</h2><ul>" + "".join(f"<li>{e(l)}</li>" for l in lines) + "</ul>")
    out = Path(course) / "report.html"
    out.write_text("<!doctype html><meta charset=utf-8><title>Grading report</title>"
                   "<style>body{font-family:sans-serif;max-width:60em;margin:auto}td,th{padding:2px 8px}</style>"
                   + "".join(parts), encoding="utf-8")
    return out
