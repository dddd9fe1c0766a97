"""`make mutants`: grade every machine-made mutant of the solutions through the real engine; print the scores.

Each mutant (``grader.course.mutate``) becomes one student of a generated class who hands in the release
notebook with the reference answers and that one region mutated; ``grade_course`` grades the class as
``make grade`` does (collect, sanitize, the sandboxed local pool, every part of the notebook, one seed) into
a gradebook of its own.  A mutant is killed when its own part loses points; a survivor is either listed in
``grader/checks/<a>/equivalent_mutants.py`` (reviewed: it computes the same function within the statement's
tolerance, which ``tests/test_equivalent_mutants.py`` checks) or is a gap in the checks.  The class is kept
under ``_build/mutants/``, so a rerun grades only the mutants whose notebook or checks changed.
"""
from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.course.demo import _answers, copy_public_files, solved
from grader.course.mutate import Mutant, all_mutants
from grader.engine.notebook import load_notebook
from grader.layout import ASSIGNMENTS, EQUIVALENT_MUTANTS, MUTANTS_BUILD, release_notebook, source_notebook

SEED = 11
TARGET = 0.95
REFERENCE = "reference"  # the student who hands in the solution itself: it must keep full marks
# Tighter than a real class's limits: a mutant that loops runs into them, and a correct notebook needs a few seconds
LIMITS = {"cell_seconds": 30, "submission_seconds": 120}


def reviewed(assignment: str) -> dict[str, object]:
    """id -> the reviewed entry of ``grader/checks/<a>/equivalent_mutants.py`` (empty where there is none)."""
    try:
        module = importlib.import_module(f"grader.checks.{assignment}.{EQUIVALENT_MUTANTS.removesuffix('.py')}")
    except ModuleNotFoundError:
        return {}
    return {e.id: e for e in module.EQUIVALENT}


def student_of(m: Mutant) -> str:
    return f"m-{m.id}"


def build_class(course: Path, mutants: dict[str, list[Mutant]]) -> None:
    """One student per mutant, plus the reference; notebooks rewritten byte for byte the same when unchanged,
    so the engine's fingerprints keep a rerun incremental."""
    submitted = course / "submitted"
    wanted = {REFERENCE} | {student_of(m) for ms in mutants.values() for m in ms}
    if submitted.is_dir():
        for stale in (p for p in submitted.iterdir() if p.name not in wanted):
            shutil.rmtree(stale)
    for a, ms in mutants.items():
        release_nb = load_notebook(release_notebook(a))
        answers = _answers(load_notebook(source_notebook(a)))
        for student, ans in [(REFERENCE, answers)] + [(student_of(m), {**answers, m.cell: m.answer}) for m in ms]:
            folder = submitted / student / a
            folder.mkdir(parents=True, exist_ok=True)
            text = nbformat.writes(solved(release_nb, ans))
            path = folder / f"{a}.ipynb"
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)
            copy_public_files(release_notebook(a).parent, folder)


def scores_of(course: Path) -> dict[tuple[str, str], dict[str, float]]:
    """(student, assignment) -> part -> the share of its points the student got."""
    from grader.engine.gradebook import Gradebook, db_url_for

    out = {}
    with Gradebook(db_url_for(course)) as gb:
        for a in ASSIGNMENTS:
            for sub in gb.find_assignment(a).submissions:
                out[(sub.student.id, a)] = {g.name: (g.score / g.max_score if g.max_score else 1.0)
                                            for g in sub.notebooks[0].grades if g.cell_type == "code"}
    return out


@dataclass
class Tally:
    generated: int = 0
    killed: int = 0
    equivalent: int = 0
    cuda_only: int = 0  # survivors that only leave a tensor off the device, on a host without CUDA
    survivors: list[Mutant] = field(default_factory=list)
    stale_reviews: list[str] = field(default_factory=list)  # reviewed as equivalent, yet killed

    @property
    def score(self) -> float:
        live = self.generated - self.equivalent - self.cuda_only
        return self.killed / live if live else 1.0


def tally(mutants: dict[str, list[Mutant]], scores, cuda: bool) -> dict[tuple[str, str], Tally]:
    """A device-only survivor counts only where CUDA is present (without it the mutant *is* the solution, as
    the tables' ``CPU_ONLY`` entries are); with CUDA it must be killed like any other."""
    out: dict[tuple[str, str], Tally] = {}
    for a, ms in mutants.items():
        known = reviewed(a)
        for m in ms:
            t = out.setdefault((a, m.part), Tally())
            t.generated += 1
            got = scores.get((student_of(m), a), {})
            killed = got.get(m.part, 1.0) < 1.0
            device_only = m.device_only or (m.id in known and known[m.id].cuda_only)
            if m.id in known and not known[m.id].cuda_only:
                t.equivalent += 1
                if killed:
                    t.stale_reviews.append(m.id)
            elif killed:
                t.killed += 1
            elif device_only and not cuda:
                t.cuda_only += 1
            else:
                t.survivors.append(m)
    return out


def report(tallies: dict[tuple[str, str], Tally]) -> str:
    rows = [f"{'assignment':<14} {'part':<20} {'generated':>9} {'killed':>7} {'survived':>8} {'equivalent':>10} {'cuda-only':>9} {'score':>7}"]
    for (a, part), t in tallies.items():
        rows.append(f"{a:<14} {part:<20} {t.generated:>9} {t.killed:>7} {len(t.survivors):>8} {t.equivalent:>10} {t.cuda_only:>9} "
                    f"{100 * t.score:>6.1f}%")
    total = Tally(*(sum(getattr(t, k) for t in tallies.values()) for k in ("generated", "killed", "equivalent", "cuda_only")))
    rows.append(f"{'all':<14} {'':<20} {total.generated:>9} {total.killed:>7} "
                f"{sum(len(t.survivors) for t in tallies.values()):>8} {total.equivalent:>10} {total.cuda_only:>9} "
                f"{100 * total.score:>6.1f}%")
    return "\n".join(rows)


def write_survivors(path: Path, tallies) -> None:
    lines = []
    for (a, part), t in tallies.items():
        for m in t.survivors:
            lines.append(f"## {a} {part} {m.id} ({m.operator}, line {m.line} of cell {m.cell})\n{m.diff}\n")
        for mid in t.stale_reviews:
            lines.append(f"## {a} {part} {mid}: reviewed as equivalent, but the checks now catch it: drop it from the list\n")
    path.write_text("\n".join(lines) or "no survivors\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.course.mutants", description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", action="append", choices=ASSIGNMENTS, help="only these (repeatable)")
    parser.add_argument("--course", type=Path, default=MUTANTS_BUILD, help="where the class of mutants is graded")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--limit", type=int, default=None, help="only the first N mutants of each assignment (a quick look)")
    parser.add_argument("--force", action="store_true", help="regrade every mutant, not only the changed ones")
    args = parser.parse_args(argv)

    from grader.engine.pipeline import grade_course

    started = time.perf_counter()
    mutants = {a: ms[: args.limit] for a, ms in all_mutants(args.assignment or ASSIGNMENTS).items()}
    course = args.course.resolve()
    build_class(course, mutants)
    made = time.perf_counter()
    print(f"mutants: {sum(map(len, mutants.values()))} generated in {made - started:.1f} s; grading {course}", flush=True)
    summary = grade_course(course, seed=args.seed, workers=args.workers, force=args.force, limits=LIMITS)
    graded = time.perf_counter()
    if summary.engine_failures:
        print("engine failures:\n  " + "\n  ".join(summary.engine_failures[:20]), file=sys.stderr)
    scores = scores_of(course)
    broken_reference = [a for a in mutants if any(s < 1.0 for s in scores.get((REFERENCE, a), {"?": 0.0}).values())]
    import torch  # only to ask whether CUDA is present

    tallies = tally(mutants, scores, torch.cuda.is_available())
    print(report(tallies))
    write_survivors(course / "survivors.txt", tallies)
    (course / "scores.json").write_text(json.dumps(
        {f"{a}/{p}": {"generated": t.generated, "killed": t.killed, "equivalent": t.equivalent, "cuda_only": t.cuda_only,
                      "survived": [m.id for m in t.survivors], "score": t.score} for (a, p), t in tallies.items()}, indent=1))
    print(f"graded {len(summary.graded)} notebooks ({len(summary.unchanged)} unchanged) in {graded - made:.1f} s "
          f"on {summary.where}, seed {summary.seed}; survivors and their diffs: {course / 'survivors.txt'}")
    if broken_reference:
        print(f"the reference solution loses points on {broken_reference}: the scores above mean nothing", file=sys.stderr)
        return 2
    low = [f"{a}/{p}" for (a, p), t in tallies.items() if t.score < TARGET]
    if low or summary.engine_failures:
        print(f"below {100 * TARGET:.0f}%: {', '.join(low) or 'none'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
