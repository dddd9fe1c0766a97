"""Command line: ``python -m grader grade COURSE`` (the `make grade` job), ``demo``, ``check NOTEBOOK``,
``export --to LMS COURSE``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


class RichProgress:
    def __init__(self, console):
        self.bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.description}"), console=console, transient=False)
        self.task = None

    def start(self, total):
        self.bar.start()
        self.task = self.bar.add_task("", total=total)

    def advance(self, key):
        self.bar.update(self.task, advance=1, description=key)

    def stop(self):
        if self.task is not None:
            self.bar.stop()


def cmd_grade(args) -> int:
    from grader.engine.pipeline import EngineError, course_language, grade_course, lock_course
    from grader.engine.cluster import ClusterError, DaskRunner
    from grader.engine.report import (export_csv, generate_feedback, load_markers, problem_lines, totals,
                               waiting_line, write_instructor_report)
    from grader.engine.gradebook import db_url_for
    from grader.engine.escape import for_terminal
    from grader.i18n import _in
    from rich.text import Text

    def say(line: str, style: str | None = None) -> None:  # a line that may hold a student's bytes
        console.print(for_terminal(line, one_line=True), markup=False, emoji=False, highlight=False, style=style,
                      soft_wrap=True)

    console = Console()
    progress = RichProgress(console)
    collected: list[str] = []
    if args.book_url:  # the feedback's links into the book; the workers inherit it
        os.environ["GRADER_BOOK_URL"] = args.book_url
    lock = None
    try:
        if args.zip:  # the course lock first: nothing is unpacked under a run that is still grading
            course = Path(args.course).resolve()
            language = course_language(course, args.language)
            lock = lock_course(course, language)
            collected = collect_archives(args.zip, course, args.zip_regexp, console, language)
            if collected is None:
                return 2
        summary = grade_course(Path(args.course), force=args.force, workers=args.workers,
                               allow_weak=args.allow_weak_isolation, demo=args.demo, seed=args.seed,
                               progress=progress, runner=DaskRunner(args.scheduler) if args.scheduler else None,
                               locked=lock is not None, language=args.language,
                               limits={k: v for k, v in (("cell_seconds", args.cell_seconds),
                                                         ("submission_seconds", args.submission_seconds)) if v} or None)
    except (EngineError, ClusterError) as exc:
        progress.stop()
        say(f"grade: {exc}", style="red")
        return 2
    finally:
        if lock is not None:
            os.close(lock)
    progress.stop()
    course = summary.course
    db_url = db_url_for(course)
    export_csv(course, db_url)
    summary.problems += generate_feedback(course, summary.graded, summary.language) if not args.no_feedback else []
    report = write_instructor_report(course, db_url, summary)

    language = summary.language  # the course's: this table, the report and the problem lines
    console.print(_in(language, "隔离 ({where}):").format(where=summary.where), markup=False)
    for line in summary.layers.describe(language):
        console.print("  " + line, markup=False)
    table = Table(title=_in(language, "成绩 ({course})").format(course=course.name),
                  caption=_in(language, "自动评分的得分 · 人工评分的书面答案 (未作答为 0) · 仍待在 formgrader 中人工评分的分数"))
    table.add_column(_in(language, "学生"))
    grid = totals(db_url)  # autograded points apart from the written answers formgrader grades
    assignments = sorted(grid)
    for a in assignments:
        table.add_column(a, justify="right")
    for student in sorted({s for a in grid.values() for s in a}):
        table.add_row(Text(for_terminal(student, one_line=True)),
                      *[grid[a][student].label(language) if student in grid[a] else "-" for a in assignments])
    console.print(table)
    say(waiting_line(grid, language))
    console.print(_in(language, "评分 {graded} 份, 未改动 {unchanged} 份, 跳过 {skipped} 份, 引擎故障 {failures} 次").format(
        graded=len(summary.graded), unchanged=len(summary.unchanged), skipped=len(summary.skipped),
        failures=len(summary.engine_failures)))
    problems = problem_lines(load_markers(course), set(summary.graded), language)
    for line in collected + summary.skipped + problems + summary.problems + summary.engine_failures + summary.refused:
        say("  " + line, style="yellow")
    console.print(_in(language, "成绩: {grades}\n报告: {report}\n反馈: {feedback}").format(
        grades=course / "grades.csv", report=report, feedback=course / "feedback"), markup=False)
    return 1 if summary.engine_failures else 0


def collect_archives(specs: list[str], course: Path, regexp: str | None, console, language: str) -> list[str] | None:
    """Each ``ASSIGNMENT=ARCHIVE`` into the course (the caller holds its lock); the lines to report, or
    None when an archive as a whole could not be used (it is said why)."""
    from grader.course.lms import ArchiveError, collect_archive, shown
    from grader.i18n import _in

    lines = []
    for spec in specs:
        assignment, _, archive = spec.partition("=")
        try:
            lines += collect_archive(course, assignment, Path(archive), regexp, language)
        except (ArchiveError, OSError) as exc:  # before anything of that archive was unpacked
            from grader.engine.escape import for_terminal
            console.print(for_terminal(_in(language, "{archive}: 无法收取 ({error})").format(
                archive=shown(archive), error=f"{type(exc).__name__}: {exc}"), one_line=True),
                style="red", markup=False, soft_wrap=True)
            return None
    return lines


def cmd_demo(args) -> int:
    from grader.course.demo import build_demo_class
    course = build_demo_class(Path(args.course))
    print(f"demo class in {course}")
    return 0


def cmd_check(args) -> int:
    """The students' self-check from a shell: public checks only, the same report as in the notebook."""
    from grader.layout import ASSIGNMENTS, checks_of
    from grader.student import selfcheck

    nb = Path(args.notebook).resolve()
    if not nb.is_file():
        print(selfcheck._("找不到笔记本 {path}").format(path=nb))
        return 2
    if nb.stem in ASSIGNMENTS:  # fall back to the repo's public checks where the release files are absent
        sys.path.append(str(checks_of(nb.stem)))
    from grader import i18n
    from grader.engine.boundary import language_of, read_submission
    from grader.engine.notebook import NotebookError

    try:  # the report in the notebook's own language, as in its release folder
        i18n.use_language(language_of(read_submission(nb)) or i18n.SOURCE_LANGUAGE)
    except NotebookError:
        pass
    share = selfcheck.check_notebook(str(nb))
    return 0 if share == 1.0 else 1


def cmd_export(args) -> int:
    """Grades to the LMS: its own gradebook-import CSV, one file per assignment (grader/course/export.py)."""
    from grader.course.export import ExportError, export_grades

    columns = dict(spec.partition("=")[::2] for spec in args.column or [])
    try:
        done = export_grades(Path(args.course), args.to, Path(args.lms_export), Path(args.roster) if args.roster else None,
                             args.match_on, columns, Path(args.out) if args.out else None, args.language)
    except (ExportError, OSError) as exc:
        print(f"export: {exc}")
        return 2
    for line in done.warnings:
        print("  " + line)
    for path in done.files:
        print(f"{args.to}: {path}")
    return 0 if done.files else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade every submission of a course directory into its gradebook")
    g.add_argument("course", help="nbgrader course directory (with submitted/)")
    g.add_argument("--force", action="store_true", help="regrade everything, changed or not")
    g.add_argument("--workers", type=int, default=None, help="parallel workers (default: one per core or GPU)")
    g.add_argument("--allow-weak-isolation", action="store_true",
                   help="grade a real class even where namespaces are not available")
    g.add_argument("--demo", action="store_true", help="this is the bundled demo class (any isolation level)")
    g.add_argument("--seed", type=int, default=None, help="input seed for the checks (default: random, recorded)")
    g.add_argument("--zip", action="append", metavar="ASSIGNMENT=ARCHIVE",
                   help="first collect an LMS download archive with nbgrader's zip_collect (repeatable)")
    g.add_argument("--zip-regexp", default=None, help="file name pattern of the archive's notebooks "
                   "(named groups student_id, file_id, optional timestamp)")
    g.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="grade on the workers of this Dask scheduler (see README: Grading on a cluster)")
    g.add_argument("--no-feedback", action="store_true", help="skip nbgrader's feedback HTML")
    g.add_argument("--cell-seconds", type=float, default=None, help="wall clock limit of one cell or one check's "
                   "call into the submission (default 60)")
    g.add_argument("--submission-seconds", type=float, default=None,
                   help="wall clock limit of one submission's cells and calls together (default 300)")
    g.add_argument("--book-url", default=None, help="where the feedback's links point: the published book's base URL "
                   "(default: GRADER_BOOK_URL, else the release's own book, ../../book/ from an exercise folder)")
    g.add_argument("--language", choices=("zh_CN", "en"), default=None,
                   help="the course's language: this table, report.html, problem lines, and the feedback of a "
                   "notebook that does not say its own (default: c.Numstab.language in the course's "
                   "nbgrader_config.py, else zh_CN); scores never depend on it")
    g.set_defaults(func=cmd_grade)
    d = sub.add_parser("demo", help="(re)build the bundled demo class into a course directory")
    d.add_argument("course")
    d.set_defaults(func=cmd_demo)
    c = sub.add_parser("check", help="run a notebook and its public self-checks (what students can run)")
    c.add_argument("notebook")
    c.set_defaults(func=cmd_check)
    x = sub.add_parser("export", help="write the LMS's gradebook-import CSV (Canvas, Moodle, Blackboard)")
    x.add_argument("course", help="nbgrader course directory (with gradebook.db)")
    x.add_argument("--to", required=True, choices=("canvas", "moodle", "blackboard"))
    x.add_argument("--lms-export", required=True, metavar="CSV",
                   help="the gradebook export you just downloaded from the LMS: its columns and students")
    x.add_argument("--roster", metavar="CSV", help="student_id,lms_id per student (default: the gradebook's "
                   "lms_user_id or email, else the nbgrader id)")
    x.add_argument("--match-on", metavar="COLUMN", help="the export's column the lms_id must equal (default: Canvas "
                   "'SIS Login ID', Moodle 'Email address', Blackboard 'Username')")
    x.add_argument("--column", action="append", metavar="ASSIGNMENT=HEADER",
                   help="the export's column for an assignment, where the names differ (repeatable)")
    x.add_argument("--out", metavar="DIR", help="where the files go (default: COURSE/lms/<lms>/)")
    x.add_argument("--language", choices=("zh_CN", "en"), default=None,
                   help="the language of the warnings and of Moodle's feedback column (default: the course's, "
                   "c.Numstab.language in its nbgrader_config.py, else zh_CN)")
    x.set_defaults(func=cmd_export)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
