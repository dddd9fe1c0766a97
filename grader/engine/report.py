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

from grader.i18n import SOURCE_LANGUAGE, _in, section_title
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


def generate_feedback(course: Path, keys: list[str], language: str = SOURCE_LANGUAGE) -> list[str]:
    """nbgrader's own feedback HTML for the (re)graded submissions; returns problem lines (in ``language``)."""
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
            problems.append(_in(language, "{key}: 无法生成反馈: {error}").format(key=key, error=detail[-300:]))
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

    def label(self, language: str = SOURCE_LANGUAGE) -> str:
        """``9/9 · 3 to grade by hand``, ``9/9 · written 2.5/3``; ``9/9`` with no written part (in ``language``)."""
        out = f"{self.auto:g}/{self.auto_max:g}"
        graded_max = self.written_max - self.pending
        if graded_max > 0:
            out += " · " + _in(language, "书面 {score}/{max}").format(score=f"{self.written:g}", max=f"{graded_max:g}")
        if self.pending:
            out += " · " + _in(language, "{points} 分待人工评分").format(points=f"{self.pending:g}")
        if self.penalty:
            out += " · " + _in(language, "迟交 −{points}").format(points=f"{self.penalty:g}")
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


def waiting_line(grid: dict[str, dict[str, Total]], language: str = SOURCE_LANGUAGE) -> str:
    """How many answers wait for formgrader, and whose (one line for the console and the report)."""
    waiting = sorted((a, s, t) for a, row in grid.items() for s, t in row.items() if t.pending_answers)
    if not waiting:
        return _in(language, "没有等待人工评分的答案")
    count = sum(t.pending_answers for _a, _s, t in waiting)
    points = sum(t.pending for _a, _s, t in waiting)
    message = (_in(language, "{count} 个答案 ({points} 分) 等待在 formgrader 中人工评分 (make formgrader): {whose}")
               if count != 1 else
               _in(language, "1 个答案 ({points} 分) 等待在 formgrader 中人工评分 (make formgrader): {whose}"))
    return message.format(count=count, points=f"{points:g}", whose=", ".join(f"{s}/{a}" for a, s, _t in waiting))


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
    """Per section of the chapter (its label, "" for none): how many of its checks failed across the class,
    worst first."""
    out: dict[str, SectionSummary] = {}
    for student, assignment, check, _label, passed in _outcomes(markers):
        section = check.advice[0] or ""
        row = out.setdefault(section, SectionSummary(section))
        row.parts.add(f"{assignment}/{check.part}")
        row.ran += 1
        row.failed += not passed
        row.students.add(student)
        if not passed:
            row.struggling.add(student)
    return sorted(out.values(), key=lambda r: (-r.rate, r.section))


def problem_lines(markers: dict[str, dict], keys=None, language: str = SOURCE_LANGUAGE) -> list[str]:
    """Bad input and cells that hung or ended the process, one line each, for ``keys`` (default all)."""
    lines = []
    status = {"timeout": _in(language, "超时"), "died": _in(language, "进程结束")}
    for key, marker in sorted(markers.items()):
        if keys is not None and key not in keys:
            continue
        lines += [f"{key}: {p}" for p in marker.get("problems", [])]
        lines += [f"{key}: " + _in(language, "单元格 {index} {status}: {error}").format(
                      index=r["index"], status=status[r["status"]], error=r["error"][:200])
                  for r in marker.get("runs", {}).values() if r["status"] in status]
    return lines


def _histogram_svg(values: list[float], bins: int = 10, language: str = SOURCE_LANGUAGE) -> str:
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
    label = html.escape(_in(language, "得分分布"))
    return f'<svg width="380" height="130" role="img" aria-label="{label}">{bars}{ticks}</svg>'


def _section_link(section: str | None, language: str = SOURCE_LANGUAGE) -> str:
    if not section:
        return html.escape(_in(language, "(没有对应的小节)")) if section == "" else ""
    return (f'<a href="{html.escape(instructor_book_url(section, language))}">'
            f'{html.escape(section_title(section, language))}</a>')


def _sections_html(rows: list[SectionSummary], language: str = SOURCE_LANGUAGE) -> str:
    """Which parts of the chapter the class did not get: failed checks per section, worst first."""
    e = for_html  # anything may hold a student's bytes
    body = "".join(
        f"<tr><td>{_section_link(r.section, language)}</td><td>{r.failed}/{r.ran}</td><td>{100 * r.rate:.0f}%</td>"
        f"<td>{len(r.struggling)}/{len(r.students)}</td><td>{e(', '.join(sorted(r.parts)))}</td></tr>" for r in rows)
    title = _in(language, "按书中的小节")
    head = [_in(language, "小节"), _in(language, "未通过的检查"), _in(language, "比例"),
            _in(language, "有未通过检查的学生"), _in(language, "所在部分")]
    return f"<h2>{e(title)}</h2><table><tr>{_header(head)}</tr>{body}</table>"


def _header(names: list[str]) -> str:
    return "".join(f"<th>{for_html(n)}</th>" for n in names)


def _groups(pairs: list[Pair]) -> list[list[str]]:
    """Students linked by flagged pairs (connected components), so a ring of copies reads as one line."""
    group: dict[str, set] = {}
    for pair in pairs:
        merged = group.get(pair.first, {pair.first}) | group.get(pair.second, {pair.second})
        for student in merged:
            group[student] = merged
    return sorted({tuple(sorted(g)) for g in group.values()})


def _similarity_html(course: Path, pairs: list[Pair], language: str = SOURCE_LANGUAGE) -> str:
    e = for_html  # anything may hold a student's bytes
    title = _in(language, "相似的解答代码")
    method = _in(language, "用 copydetect (winnowing) 比较解答单元格, 不计发布时给出的起始代码; "
                           "一方至少有 {share}% 出现在另一方中时标出。").format(share=f"{100 * THRESHOLD:.0f}")
    head = f"<h3>{e(title)}</h3><p>{e(method)}</p>"
    if not pairs:
        return head + "<p>" + e(_in(language, "没有标出任何一对。")) + "</p>"
    side_by_side = e(_in(language, "并排对照"))
    rows = "".join(
        f"<tr><td>{e(p.first)}</td><td>{e(p.second)}</td><td>{100 * p.share_first:.0f}% / {100 * p.share_second:.0f}%</td>"
        f'<td><a href="{e(p.page.relative_to(course).as_posix())}">{side_by_side}</a></td></tr>' for p in pairs)
    groups = _in(language, "分组: {groups}").format(groups="; ".join(", ".join(g) for g in _groups(pairs)))
    head_row = _header([_in(language, "学生"), _in(language, "学生"), _in(language, "共有部分 (各自所占)"), ""])
    return head + f"<p>{e(groups)}</p><table><tr>{head_row}</tr>" + rows + "</table>"


def _grades_html(grid: dict[str, dict[str, Total]], language: str = SOURCE_LANGUAGE) -> str:
    e = for_html
    assignments = sorted(grid)
    students = sorted({s for row in grid.values() for s in row})
    head = "".join(f"<th>{e(a)}</th>" for a in assignments)
    body = "".join(f"<tr><td>{e(s)}</td>" + "".join(
        f"<td>{e(grid[a][s].label(language)) if s in grid[a] else '-'}</td>" for a in assignments) + "</tr>"
        for s in students)
    title, note = _in(language, "成绩"), _in(language, "自动评分的得分, 然后是人工评分 (formgrader) 的书面答案, "
                                                    "最后是仍在等待人工评分的分数。")
    student = _header([_in(language, "学生")])
    return f"<h2>{e(title)}</h2><p>{e(note)}</p><table><tr>{student}{head}</tr>{body}</table>"


def write_instructor_report(course: Path, db_url: str, summary) -> Path:
    """report.html, in the course's language (``summary.language``)."""
    language = getattr(summary, "language", SOURCE_LANGUAGE)
    markers = load_markers(course)
    grid = totals(db_url)
    rates = failure_rates(markers)
    e = for_html  # anything may hold a student's bytes
    title = _in(language, "评分报告")
    header = _in(language, "课程 {course}; 评分于 {where}; 种子 {seed}; 评分 {graded} 份, 未改动 {unchanged} 份, "
                           "引擎故障 {failures} 次。").format(
        course=f"<code>{e(str(course))}</code>", where=f"<b>{e(summary.where)}</b>", seed=summary.seed,
        graded=len(summary.graded), unchanged=len(summary.unchanged), failures=len(summary.engine_failures))
    parts = [f"<h1>{e(title)}</h1><p>{header}</p>",
             f'<p id="manual-grading"><b>{e(waiting_line(grid, language))}</b></p>', _grades_html(grid, language),
             "<h2>" + e(_in(language, "生效的隔离")) + "</h2><ul>"
             + "".join(f"<li>{e(l)}</li>" for l in summary.layers.describe(language)) + "</ul>"]
    parts.append(_sections_html(section_summary(markers), language))
    problems = list(getattr(summary, "problems", []))
    pairs = all_similar_pairs(course, problems=problems, language=language)
    checks_head = _header([_in(language, "检查"), _in(language, "未通过"), _in(language, "比例"),
                           _in(language, "书中的小节")])
    for a in ASSIGNMENTS:
        rows = grid.get(a, {})
        fractions = [t.auto / t.auto_max for t in rows.values() if t.auto_max]  # what the engine graded
        line = _in(language, "{submissions} 份提交; 自动评分的平均得分 {mean}%; {by_hand} 个答案待人工评分").format(
            submissions=len(rows), mean=f"{(100 * sum(fractions) / len(fractions)) if fractions else 0:.0f}",
            by_hand=sum(t.pending_answers for t in rows.values()))
        parts.append(f"<h2>{e(a)}</h2><p>{e(line)}</p>")
        parts.append(_histogram_svg(fractions, language=language))
        parts.append(f"<table><tr>{checks_head}</tr>" + "".join(
            f"<tr><td><code>{e(n)}</code></td><td>{f}/{r}</td><td>{100 * f / r:.0f}%</td>"
            f"<td>{_section_link(s, language)}</td></tr>" for n, f, r, s in rates.get(a, [])) + "</table>")
        parts.append(_similarity_html(Path(course), pairs.get(a, []), language))
    lines = (list(summary.skipped) + list(summary.engine_failures) + list(getattr(summary, "refused", []))
             + problems + problem_lines(markers, language=language))
    parts.append("<h2>" + e(_in(language, "问题")) + "</h2><ul>" + "".join(f"<li>{e(l)}</li>" for l in lines) + "</ul>")
    out = Path(course) / "report.html"
    lang = "zh-CN" if language == SOURCE_LANGUAGE else language
    out.write_text(f"<!doctype html><html lang={lang}><meta charset=utf-8><title>{e(title)}</title>"
                   "<style>body{font-family:sans-serif;max-width:60em;margin:auto}td,th{padding:2px 8px}</style>"
                   + "".join(parts), encoding="utf-8")
    return out
