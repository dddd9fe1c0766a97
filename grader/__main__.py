"""Command line: ``python -m grader grade COURSE`` (the `make grade` job), ``demo``, ``check NOTEBOOK``."""
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
    from grader.engine.pipeline import EngineError, grade_course
    from grader.engine.cluster import ClusterError, DaskRunner
    from grader.engine.report import (export_csv, generate_feedback, load_markers, problem_lines, scores,
                               write_instructor_report)
    from grader.engine.gradebook import db_url_for

    console = Console()
    progress = RichProgress(console)
    if args.book_url:  # the feedback's links into the book; the workers inherit it
        os.environ["GRADER_BOOK_URL"] = args.book_url
    for spec in args.zip or []:
        from grader.course.lms import collect_archive
        assignment, _, archive = spec.partition("=")
        try:
            collect_archive(Path(args.course), assignment, Path(archive), args.zip_regexp)
        except Exception as exc:  # a bad archive stops nothing already graded; it is reported
            console.print(f"[red]{archive}: could not collect ({type(exc).__name__}: {exc})[/red]")
            return 2
    try:
        summary = grade_course(Path(args.course), force=args.force, workers=args.workers,
                               allow_weak=args.allow_weak_isolation, demo=args.demo, seed=args.seed,
                               progress=progress, runner=DaskRunner(args.scheduler) if args.scheduler else None,
                               limits={k: v for k, v in (("cell_seconds", args.cell_seconds),
                                                         ("submission_seconds", args.submission_seconds)) if v} or None)
    except (EngineError, ClusterError) as exc:
        progress.stop()
        console.print(f"[red]grade: {exc}[/red]", soft_wrap=True)
        return 2
    progress.stop()
    course = summary.course
    db_url = db_url_for(course)
    export_csv(course, db_url)
    summary.problems += generate_feedback(course, summary.graded) if not args.no_feedback else []
    report = write_instructor_report(course, db_url, summary)

    console.print(f"isolation ({summary.where}):")
    for line in summary.layers.describe():
        console.print("  " + line, markup=False)
    table = Table(title=f"Grades ({course.name})")
    table.add_column("student")
    grid = scores(db_url)
    assignments = sorted(grid)
    for a in assignments:
        table.add_column(a, justify="right")
    for student in sorted({s for a in grid.values() for s in a}):
        table.add_row(student, *[f"{grid[a][student][0]:g}/{grid[a][student][1]:g}" if student in grid[a] else "-"
                                 for a in assignments])
    console.print(table)
    console.print(f"graded {len(summary.graded)}, unchanged {len(summary.unchanged)}, "
                  f"skipped {len(summary.skipped)}, engine failures {len(summary.engine_failures)}")
    problems = problem_lines(load_markers(course), set(summary.graded))
    for line in summary.skipped + problems + summary.problems + summary.engine_failures + summary.refused:
        console.print("  " + line, markup=False, style="yellow")
    console.print(f"grades: {course / 'grades.csv'}\nreport: {report}\nfeedback: {course / 'feedback'}")
    return 1 if summary.engine_failures else 0


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
        print(f"找不到笔记本 {nb}")
        return 2
    if nb.stem in ASSIGNMENTS:  # fall back to the repo's public checks where the release files are absent
        sys.path.append(str(checks_of(nb.stem)))
    share = selfcheck.check_notebook(str(nb))
    return 0 if share == 1.0 else 1


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
    g.set_defaults(func=cmd_grade)
    d = sub.add_parser("demo", help="(re)build the bundled demo class into a course directory")
    d.add_argument("course")
    d.set_defaults(func=cmd_demo)
    c = sub.add_parser("check", help="run a notebook and its public self-checks (what students can run)")
    c.add_argument("notebook")
    c.set_defaults(func=cmd_check)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
