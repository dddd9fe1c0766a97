"""``nbgrader autograde`` and formgrader's Autograde button, graded by the engine.

nbgrader 0.9 lets a course name the exporter its Autograde converter reads each submission with
(``Autograde.exporter_class``) and empty its two preprocessor lists; nbgrader_config.py does both, so
both of nbgrader's grading entry points (the command, and ``NbGraderAPI.autograde`` behind formgrader's
button) come here.  For each submission nbgrader hands over, ``SandboxedAutograde`` runs the engine's
own pipeline (``grade_course`` limited to that one submission): collect's checks on the files,
sanitize, the student's cells in the sandbox, the checks in a worker outside it, record into the
gradebook.  nbgrader then writes the notebook the engine recorded; nothing of nbgrader's in-kernel
``Execute``/``SaveAutoGrades`` runs.

A setting that would bring nbgrader's own grading back (``--no-execute``, preprocessors put back in
the lists) is refused with a line naming ``python -m grader grade``, never run in the student's kernel.
"""
from __future__ import annotations

import atexit
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from traitlets import Bool, Dict

from grader.engine import isolation, worker
from grader.engine.execute import bare_main
from grader.layout import ASSIGNMENTS

ENGINE_COMMAND = "python -m grader grade COURSE"


class EngineRefusal(RuntimeError):
    """nbgrader was asked for something only its in-kernel grading would do: refused, with what to run."""


class SubmissionNotGraded(RuntimeError):
    """The engine recorded this submission without a notebook to write (unreadable, too large, missing)."""


def refusal(reason: str) -> EngineRefusal:
    return EngineRefusal(f"{reason}; this course grades only in the sandbox: run `{ENGINE_COMMAND}` "
                         "(or nbgrader autograde with the repository's nbgrader_config.py)")


def stock_steps_in(converter) -> list[str]:
    """The nbgrader settings that would grade in the student's kernel on top of (or instead of) the engine."""
    found = []
    for name in ("sanitize_preprocessors", "autograde_preprocessors"):
        steps = getattr(converter, name, [])
        if steps:
            found.append(f"Autograde.{name} = [{', '.join(getattr(s, '__name__', str(s)) for s in steps)}]")
    execute = converter.config.get("Execute", {})
    if "enabled" in execute and not execute["enabled"]:
        found.append("--no-execute (it scores the outputs saved in the student's notebook)")
    return found


class WarmWorker:
    """One engine worker kept for this process's life: nbgrader hands over one submission at a time, so
    the zygote, the sandbox slots and the checks' pytest session are paid for once, not per notebook
    (and formgrader's next click finds it warm).  The same ``run`` interface as the pipeline's LocalPool."""

    def __init__(self, course: Path, limits: dict | None, layers: isolation.Layers):
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=worker.init,
                                        initargs=(str(course), limits, layers))
        self.where = "nbgrader autograde (1 warm engine worker)"

    def run(self, jobs):
        for job in jobs:
            with bare_main():  # the spawned worker must not re-import nbgrader's or jupyter's __main__
                future = self.pool.submit(worker.grade_one, job)
            try:
                yield job, future.result()
            except Exception as exc:
                yield job, exc

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_warm: dict[tuple, WarmWorker] = {}
_warm_lock = threading.Lock()


def warm_worker(course: Path, limits: dict | None, layers: isolation.Layers) -> WarmWorker:
    """The warm worker for this course and these checks; a changed check file starts a fresh one."""
    from grader.engine.pipeline import checks_version

    key = (str(course), tuple(sorted((limits or {}).items())), layers,
           tuple(checks_version(a) for a in ASSIGNMENTS))
    with _warm_lock:
        if key not in _warm:
            for stale in [k for k in _warm if k[0] == key[0]]:
                _warm.pop(stale).close()
            _warm[key] = WarmWorker(course, limits, layers)
        return _warm[key]


def forget_worker(runner: WarmWorker) -> None:
    """A worker that failed is not reused: the next submission starts a fresh one."""
    with _warm_lock:
        for key in [k for k, v in _warm.items() if v is runner]:
            _warm.pop(key)
    runner.close()


@atexit.register
def _close_all() -> None:
    for runner in list(_warm.values()):
        runner.close()
    _warm.clear()


def grade_submission(course: Path, student: str, assignment: str, *, allow_weak: bool = False,
                     limits: dict | None = None):
    """Grade one submission with the engine, into the course's gradebook; returns the autograded notebook."""
    from grader.engine.pipeline import EngineError, grade_course, isolation_layers
    from grader.engine.record import autograded_dir, read_marker
    from grader.engine.collect import Submission

    course = Path(course).resolve()
    key = f"{student}/{assignment}"
    try:
        runner = warm_worker(course, limits, isolation_layers(allow_weak))
        summary = grade_course(course, force=True, allow_weak=allow_weak, limits=limits, runner=runner, only={key})
    except EngineError as exc:
        raise refusal(str(exc)) from None
    if summary.engine_failures:
        forget_worker(runner)
        raise RuntimeError("the engine failed (not the student): " + "; ".join(summary.engine_failures))
    if key not in summary.graded:
        why = [line for line in summary.skipped if f"/{student}" in line] or ["not found by the engine's collect"]
        raise SubmissionNotGraded(f"{key}: " + "; ".join(why))
    sub = Submission(student, assignment, course / "submitted" / student / assignment, None)
    notebook = autograded_dir(course, sub) / f"{assignment}.ipynb"
    if not notebook.is_file():  # nothing could run: the engine recorded every grade as 0 and said why
        problems = (read_marker(course, sub) or {}).get("problems") or ["no notebook"]
        raise SubmissionNotGraded(f"{key}: recorded as 0 by the engine: " + "; ".join(problems))
    return nbformat.read(notebook, as_version=nbformat.NO_CONVERT)


def engine_limits(given: dict) -> dict | None:
    """``limits`` as the sandbox takes them: a command line gives strings (``--SandboxedAutograde.limits
    cell_seconds=8``), each is cast to its field's type."""
    defaults = isolation.Limits()
    out = {}
    for name, value in given.items():
        if not hasattr(defaults, name):
            raise ValueError(f"SandboxedAutograde.limits: no sandbox limit '{name}' (see grader/engine/isolation.py)")
        kind = type(getattr(defaults, name))
        out[name] = kind(float(value)) if kind is int else kind(value)
    return out or None


class SandboxedAutograde(NotebookExporter):
    """The exporter of nbgrader's Autograde converter (``c.Autograde.exporter_class``).

    nbgrader reads each submission twice through it: from ``submitted/`` (its sanitize step), where
    the engine grades and records the submission and this returns the notebook it recorded, then from
    ``autograded/`` (its autograde step), where that notebook passes through unchanged.
    """

    allow_weak_isolation = Bool(False, help="grade even where this host gives the sandbox neither namespaces "
                                "nor Landlock (python -m grader grade's --allow-weak-isolation)").tag(config=True)
    limits = Dict({}, help="the sandbox's limits (grader.engine.isolation.Limits fields, e.g. cell_seconds); "
                  "default: the engine's").tag(config=True)

    def from_filename(self, filename, resources=None, **kw):
        converter = self.parent
        coursedir = converter.coursedir
        root = Path(coursedir.root).resolve()
        if Path(filename).resolve().is_relative_to(root / coursedir.autograded_directory):
            if self._preprocessors:
                raise refusal("preprocessors were registered for nbgrader's autograde step")
            return super().from_filename(filename, resources, **kw)  # the engine's notebook, as recorded
        info = resources["nbgrader"]
        weak = stock_steps_in(converter)
        if weak:
            raise refusal("nbgrader would grade in the student's kernel: " + "; ".join(weak))
        if (coursedir.submitted_directory, coursedir.autograded_directory) != ("submitted", "autograded"):
            raise refusal("the engine reads submitted/ and writes autograded/ (nbgrader's default folders)")
        if info["notebook"] != info["assignment"]:
            raise SubmissionNotGraded(f"{filename}: extra notebook; only {info['assignment']}.ipynb is graded")
        nb = grade_submission(root, info["student"], info["assignment"], allow_weak=self.allow_weak_isolation,
                              limits=engine_limits(self.limits))
        converter.log.info("%s/%s graded in the sandbox (engine's pipeline); checks ran outside it",
                           info["student"], info["assignment"])
        return self.from_notebook_node(nb, resources, **kw)


def plain_nbgrader_api(root: Path, release_dir: Path | None = None):
    """An NbGraderAPI whose autograde is stock nbgrader's (cells and hidden checks in the student's own
    kernel): only for measuring plain nbgrader against the engine, under ``inkernel.trusting_the_kernel()``."""
    from nbgrader.converters import Autograde
    from traitlets.config import Config

    from grader.engine.gradebook import nbgrader_api

    api = nbgrader_api(root, release_dir)
    stock = Config()
    traits = Autograde.class_traits()
    stock.Autograde.exporter_class = traits["exporter_class"].default_value
    stock.Autograde.sanitize_preprocessors = traits["sanitize_preprocessors"].default()
    stock.Autograde.autograde_preprocessors = traits["autograde_preprocessors"].default()
    api.update_config(stock)
    return api
