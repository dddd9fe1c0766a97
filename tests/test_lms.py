"""An LMS download archive grades with `make grade` (nbgrader's zip_collect conventions)."""
import os
import stat
import zipfile

import nbformat

from grader.__main__ import main
from grader.engine.notebook import graded_parts, load_notebook
from grader.course.demo import _answers, solved
from grader.layout import REPO
from grader.engine.gradebook import Gradebook, db_url_for


def test_archive_is_collected_and_graded(tmp_path):
    a = "eigen_bounds"
    release = load_notebook(REPO / "exercises" / a / f"{a}.ipynb")
    good = solved(release, _answers(load_notebook(REPO / "solutions" / a / f"{a}.ipynb")))
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"numstab_alice_attempt_2026-11-20-12-00-00_{a}.ipynb", nbformat.writes(good))
        z.writestr(f"numstab_carol_attempt_2026-11-21-08-30-00_{a}.ipynb", nbformat.writes(release))
        z.writestr("numstab_readme.txt", "not a submission")
    course = tmp_path / "course"
    assert main(["grade", str(course), "--demo", "--no-feedback", "--workers", "1", "--zip", f"{a}={archive}"]) == 0
    assert (course / "submitted" / "alice" / a / f"{a}.ipynb").is_file()
    with Gradebook(db_url_for(course)) as gb:
        scores = {s.student.id: s.code_score for s in gb.find_assignment(a).submissions}
    full = sum(points for _, points in graded_parts(load_notebook(REPO / "solutions" / a / f"{a}.ipynb")))
    assert scores == {"alice": full, "carol": 0}


def test_a_missing_archive_is_a_clear_error_not_a_crash(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "c"), "--demo", "--zip", f"symmetry={tmp_path / 'nope.zip'}"]) == 2
    assert "nope.zip" in capsys.readouterr().out


# -- the archive is data: one student's upload never becomes another's -------------------------------------
A = "symmetry"


def notebooks():
    release = load_notebook(REPO / "exercises" / A / f"{A}.ipynb")
    good = solved(release, _answers(load_notebook(REPO / "solutions" / A / f"{A}.ipynb")))
    return nbformat.writes(good), nbformat.writes(release)


def entry(z, name, text, mode=0o644):
    info = zipfile.ZipInfo(name, date_time=(2026, 11, 20, 12, 0, 0))
    info.external_attr = (0o100000 | mode) << 16
    z.writestr(info, text)


def code_scores(course):
    with Gradebook(db_url_for(course)) as gb:
        return {s.student.id: s.code_score for s in gb.find_assignment(A).submissions}


HONEST = {"victim": f"numstab_victim_attempt_2026-11-20-12-00-00_{A}.ipynb",
          "attacker": f"numstab_attacker_attempt_2026-11-20-13-00-00_{A}.ipynb"}


def test_one_students_upload_never_becomes_anothers(tmp_path, capsys):
    good, release = notebooks()
    honest = tmp_path / "honest.zip"  # the two students' real notebooks, nothing else
    with zipfile.ZipFile(honest, "w") as z:
        entry(z, HONEST["victim"], good)
        entry(z, HONEST["attacker"], release)
    assert main(["grade", str(tmp_path / "alone"), "--demo", "--no-feedback", "--workers", "1", "--zip", f"{A}={honest}"]) == 0
    alone = code_scores(tmp_path / "alone")
    assert alone["victim"] > 0 == alone["attacker"]  # the forged notebook below would score the victim 0
    capsys.readouterr()

    inner = tmp_path / "upload.zip"
    with zipfile.ZipFile(inner, "w") as z:  # what the attacker uploads, for nbgrader to unpack and misfile
        entry(z, f"B_victim_attempt_2030-12-31-12-00-00_{A}.ipynb", release)
    escape = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"
    hostile = tmp_path / "download.zip"
    with zipfile.ZipFile(hostile, "w") as z:
        entry(z, HONEST["victim"], good)
        entry(z, HONEST["attacker"], release, mode=0o6777)  # setuid, setgid, world-writable
        entry(z, f"numstab_attacker_attempt_2026-11-19-09-00-00_{A}.ipynb", good)  # an older attempt: outranked
        entry(z, "numstab_attacker_attempt_2026-11-20-13-00-00_upload.zip", inner.read_bytes())
        entry(z, f"numstab_attacker_attempt_2026-11-20-13-00-00_notes.txt", inner.read_bytes())  # an archive by content
        # the student's own file name, after the LMS's part, naming someone else
        entry(z, f"numstab_attacker_attempt_2026-11-20-13-00-00_x_victim_attempt_2030-12-31-12-00-00_{A}.ipynb", release)
        entry(z, f"numstab_attacker_attempt_2026-11-20-13-00-00_d/numstab_victim_attempt_2030-12-31-12-00-00_{A}.ipynb", release)
        entry(z, f"numstab_attacker_attempt_2026-11-20-13-00-00_{escape}.ipynb", release)
        entry(z, f"numstab_{escape}_attempt_2026-11-20-13-00-00_{A}.ipynb", release)
    course = tmp_path / "course"
    assert main(["grade", str(course), "--demo", "--no-feedback", "--workers", "1", "--zip", f"{A}={hostile}",
                 "--language", "en"]) == 0
    out = capsys.readouterr().out
    assert code_scores(course) == alone

    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["attacker", "victim"]
    assert sorted(p.name for p in (submitted / "victim" / A).iterdir()) == [f"{A}.ipynb", "timestamp.txt"]
    assert (submitted / "victim" / A / "timestamp.txt").read_text().startswith("2026-11-20 12:00:00")
    assert (submitted / "attacker" / A / f"{A}.ipynb").read_text() == release
    for path in submitted.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert not path.is_symlink() and mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))

    flat = " ".join(out.split())
    assert "upload.zip': an archive inside the archive; refused" in flat
    assert "notes.txt': an archive inside the archive; refused" in flat
    assert "in a folder of the archive" in flat
    assert (f"attacker/{A}: 2 entries for '{A}.ipynb'; kept '{HONEST['attacker']}' (the latest LMS time, "
            "2026-11-20 13:00:00") in flat
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31m" in flat and "is not a notebook name" in flat
    assert "download.zip': 1 of its entries match no submission name; ignored" in flat  # the escaped id
    assert "\x1b" not in out and "\x07" not in out


def test_a_second_run_during_a_run_is_refused_before_anything_is_unpacked(tmp_path, capsys):
    from grader.engine.pipeline import lock_course

    good, _ = notebooks()
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as z:
        entry(z, HONEST["victim"], good)
    course = tmp_path / "course"
    held = lock_course(course)  # a run that is still grading
    try:
        assert main(["grade", str(course), "--demo", "--no-feedback", "--zip", f"{A}={archive}"]) == 2
    finally:
        os.close(held)
    assert "正在被另一次运行评分" in "".join(capsys.readouterr().out.split())  # the course's language
    assert not (course / "submitted").exists() and not (course / "downloaded").exists()


def test_entries_with_the_same_time_keep_the_later_one_and_say_so(tmp_path):
    from grader.course.lms import collect_archive

    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as z:
        entry(z, f"first_alice_attempt_2026-11-20-12-00-00_{A}.ipynb", "first")
        entry(z, f"second_alice_attempt_2026-11-20-12-00-00_{A}.ipynb", "second")
    lines = collect_archive(tmp_path / "course", A, archive, language="en")
    assert (tmp_path / "course" / "submitted" / "alice" / A / f"{A}.ipynb").read_text() == "second"
    assert any("kept 'second_alice" in l and "the same LMS time as another, and the later in the archive" in l
               for l in lines), lines
    # the course's language by default: the source language's line says the same
    assert any("保留 'second_alice" in l and "与另一个的 LMS 时间相同" in l
               for l in collect_archive(tmp_path / "course", A, archive)), lines
