"""LMS download archives into nbgrader's layout, with nbgrader's own `zip_collect`.

The archive goes to ``downloaded/<assignment>/archive/``; nbgrader extracts it and files every
notebook whose name matches ``named_regexp`` under ``submitted/<student_id>/<assignment>/``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from grader.engine.gradebook import repo_config

# Blackboard-style names, the example nbgrader documents: <anything>_<student>_attempt_<time>_<file>
DEFAULT_REGEXP = r".*_(?P<student_id>[A-Za-z0-9]\w*)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>\w+\.ipynb)"


def collect_archive(course: Path, assignment: str, archive: Path, regexp: str | None = None) -> None:
    from nbgrader.apps import ZipCollectApp

    course, archive = Path(course).resolve(), Path(archive).resolve()
    if not archive.is_file():
        raise FileNotFoundError(f"{archive}: no such archive")
    target = course / "downloaded" / assignment / "archive"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(archive, target / archive.name)
    cfg = repo_config()
    cfg.CourseDirectory.root = str(course)
    cfg.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    cfg.FileNameCollectorPlugin.named_regexp = regexp or DEFAULT_REGEXP
    cfg.ZipCollectApp.force = True
    cfg.ExtractorPlugin.force = True
    app = ZipCollectApp(config=cfg)
    app.initialize([assignment])
    app.coursedir.assignment_id = assignment
    app.start()
