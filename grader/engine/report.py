"""Stage `report`: grades.csv (nbgrader's export), per-student feedback (nbgrader's), and the instructor report.

The instructor report shows, per assignment, a histogram of scores and the failure rate of every
check across the class, so the instructor sees where students struggle; then every problem line.
"""
from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from pathlib import Path

from grader.engine.gradebook import Gradebook
from nbgrader.plugins.export import CsvExportPlugin

from grader.layout import ASSIGNMENTS
from grader.engine.record import MARKER
from grader.engine.gradebook import nbgrader_api


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
        result = api.generate_feedback(assignment, student)
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


def failure_rates(markers: dict[str, dict]) -> dict[str, list[tuple[str, int, int]]]:
    """assignment -> [(check, failed, ran)], worst first."""
    ran: dict = defaultdict(Counter)
    failed: dict = defaultdict(Counter)
    for key, marker in markers.items():
        assignment = key.split("/")[1]
        for part in marker.get("parts", {}).values():
            for o in part.get("outcomes", []):
                name = o["nodeid"].split("::", 1)[-1]
                ran[assignment][name] += 1
                failed[assignment][name] += not o["passed"]
    return {a: sorted(((n, failed[a][n], ran[a][n]) for n in ran[a]), key=lambda t: (-t[1] / t[2], t[0]))
            for a in ran}


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


def write_instructor_report(course: Path, db_url: str, summary) -> Path:
    markers = load_markers(course)
    table = scores(db_url)
    rates = failure_rates(markers)
    e = html.escape
    parts = [f"<h1>Grading report</h1><p>Course <code>{e(str(course))}</code>; isolation level "
             f"<b>{e(summary.level)}</b>; graded on <b>{e(summary.where)}</b>; seed {summary.seed}; graded "
             f"{len(summary.graded)}, unchanged {len(summary.unchanged)}, engine failures {len(summary.engine_failures)}.</p>"]
    for a in ASSIGNMENTS:
        rows = table.get(a, {})
        fractions = [s / m for s, m in rows.values() if m]
        parts.append(f"<h2>{e(a)}</h2><p>{len(rows)} submissions; mean "
                     f"{(100 * sum(fractions) / len(fractions)) if fractions else 0:.0f}%</p>")
        parts.append(_histogram_svg(fractions))
        parts.append("<table><tr><th>check</th><th>failed</th><th>rate</th></tr>" + "".join(
            f"<tr><td><code>{e(n)}</code></td><td>{f}/{r}</td><td>{100 * f / r:.0f}%</td></tr>"
            for n, f, r in rates.get(a, [])) + "</table>")
    lines = (list(summary.skipped) + list(summary.engine_failures) + list(getattr(summary, "refused", []))
             + problem_lines(markers))
    parts.append("<h2>Problems</h2><ul>" + "".join(f"<li>{e(l)}</li>" for l in lines) + "</ul>")
    out = Path(course) / "report.html"
    out.write_text("<!doctype html><meta charset=utf-8><title>Grading report</title>"
                   "<style>body{font-family:sans-serif;max-width:60em;margin:auto}td,th{padding:2px 8px}</style>"
                   + "".join(parts), encoding="utf-8")
    return out
