"""The worker's bytecode cache: Python runs any .pyc it finds there, and it holds the compiled hidden checks.

A local user who made the cache folder first (it used to be a fixed name under /tmp) could plant a .pyc
that the grader then ran as its own user, root included, and read the compiled checks.  Each test runs
in a fresh interpreter: ``sys.pycache_prefix`` is the process's for life.
"""
import importlib._bootstrap_external as bootstrap
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.layout import ASSIGNMENTS, CHECKS, REPO

ROOT = os.geteuid() == 0
NOBODY = 65534


def python(script: str, **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(REPO), **env}
    environ.pop("PYTHONPYCACHEPREFIX", None)
    return subprocess.run([sys.executable, "-c", script], env=environ, capture_output=True, text=True,
                          timeout=300, cwd=REPO)


def plant(cache: Path, source: Path, payload: str) -> Path:
    """A .pyc for ``source`` that Python accepts (its header names the source's mtime and size)."""
    st = source.stat()
    pyc = cache / str(source.parent).lstrip(os.sep) / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
    pyc.parent.mkdir(parents=True, exist_ok=True)
    code = compile(payload, str(source), "exec")
    pyc.write_bytes(bootstrap._code_to_timestamp_pyc(code, int(st.st_mtime), st.st_size))
    return pyc


@pytest.fixture
def module(tmp_path):
    folder = tmp_path / "mods"
    folder.mkdir()
    source = folder / "numstab_victim_mod.py"
    source.write_text("VALUE = 'honest'\n")
    return source


def squatted(kind: str, tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    """(the folder handed to the cache, where a squatter's files under it really land, what to remove)."""
    if kind == "another user's folder":
        if ROOT:
            folder = tmp_path / "squat"
            folder.mkdir()
            os.chown(folder, NOBODY, NOBODY)
            folder.chmod(0o777)
            return folder, folder, [folder]
        # an ordinary user cannot give a folder away: the shared temp folder is root's, and anyone's to write
        folder = Path(tempfile.gettempdir())
        return folder, folder, [folder / str(tmp_path).lstrip(os.sep).split(os.sep)[0]]
    if kind == "a world-writable folder":
        folder = tmp_path / "squat"
        folder.mkdir()
        folder.chmod(0o777)
        return folder, folder, [folder]
    target = tmp_path / "elsewhere"  # "a symlink"
    target.mkdir(mode=0o700)
    link = tmp_path / "squat"
    link.symlink_to(target)
    return link, target, [target]


@pytest.mark.parametrize("kind", ["another user's folder", "a world-writable folder", "a symlink"])
def test_a_squatted_cache_folder_is_never_used_and_nothing_runs_from_it(tmp_path, module, kind):
    folder, lands, cleanup = squatted(kind, tmp_path)
    marker = tmp_path / "planted-code-ran"
    pyc = plant(lands, module, f"open({str(marker)!r}, 'w').write('ran')\nVALUE = 'planted'\n")
    if ROOT and kind == "another user's folder":
        for path in [pyc, *pyc.parents]:
            if path == lands:
                break
            os.chown(path, NOBODY, NOBODY)
    try:
        run = python("import sys; from pathlib import Path; from grader.engine.check import cache_bytecode\n"
                     f"prefix = cache_bytecode(Path({str(folder)!r}))\n"
                     f"sys.path.insert(0, {str(module.parent)!r})\nimport numstab_victim_mod\n"
                     "print('PREFIX', prefix); print('VALUE', numstab_victim_mod.VALUE)")
        assert run.returncode == 0, run.stderr[-2000:]
        assert not marker.exists() and "VALUE honest" in run.stdout, run.stdout
        prefix = Path(run.stdout.split("PREFIX ", 1)[1].splitlines()[0])
        assert prefix != folder and not prefix.exists()  # a fresh private folder, removed at exit
        assert "not a private folder" in run.stderr
    finally:
        for path in cleanup:
            shutil.rmtree(path, ignore_errors=True)


def test_the_default_cache_is_private_and_holds_the_compiled_checks(tmp_path):
    cache = tmp_path / "xdg-cache"
    run = python("from grader.engine.check import CheckSession, cache_bytecode\n"
                 f"print('PREFIX', cache_bytecode()); s = CheckSession({list(ASSIGNMENTS)!r}); s.start(); s.close()",
                 XDG_CACHE_HOME=str(cache))
    assert run.returncode == 0, run.stderr[-2000:]
    prefix = Path(run.stdout.split("PREFIX ", 1)[1].splitlines()[0])
    assert prefix == cache / "numstab-grader" / "pycache"
    assert not prefix.is_relative_to(tempfile.gettempdir()) or prefix.is_relative_to(tmp_path)
    st = prefix.stat()
    assert st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o700  # no one else reads the checks
    cached = {p.name.split(".")[0] for p in prefix.rglob("*.pyc") if CHECKS.name in p.parts}
    assert {p.stem for a in ASSIGNMENTS for p in (CHECKS / a).glob("test_*.py")} <= cached
    # a second worker finds the folder its own and uses it again
    again = python("from grader.engine.check import cache_bytecode; print('PREFIX', cache_bytecode())",
                   XDG_CACHE_HOME=str(cache))
    assert f"PREFIX {prefix}" in again.stdout and "not a private folder" not in again.stderr
