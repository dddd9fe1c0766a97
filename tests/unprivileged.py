"""Run a command as an ordinary user, the way most instructors run the grader.

The suite runs as root in CI; the second pass of the threat model drops to an unprivileged account.
That account cannot use this checkout's interpreter (it lives under root's home) nor, perhaps, reach
the checkout itself, so the pass gets: a venv made from the system's own ``python3.11`` (the same minor
version) whose ``.pth`` names the checkout's site-packages, and the checkout bound at a path it can
reach, in a private mount namespace (``unshare -m``), before ``setpriv`` drops to the account.
"""
from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from grader.layout import REPO

ACCOUNT = "numstab-instructor"
SYSTEM_PYTHON = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"


class Unavailable(RuntimeError):
    """What the unprivileged pass needs is missing: the message says what to install."""


def account() -> pwd.struct_passwd:
    """The ordinary user (created once, as `useradd` would for a new instructor)."""
    try:
        return pwd.getpwnam(ACCOUNT)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", ACCOUNT], check=True)
        return pwd.getpwnam(ACCOUNT)


def stage() -> Path:
    """A folder the account can reach: ``repo/`` (bound there at run time) and ``venv/``."""
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            raise Unavailable(f"`{tool}` (util-linux) is missing")
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        raise Unavailable(f"{SYSTEM_PYTHON} is missing: `apt-get install python3.11-venv` (the same minor version)")
    root = Path(tempfile.mkdtemp(prefix="numstab-unprivileged-"))
    root.chmod(0o755)
    (root / "repo").mkdir(mode=0o755)
    venv = root / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    ours = Path(sysconfig.get_paths()["purelib"])  # this interpreter's site-packages, inside the checkout's .venv
    inside = (root / "repo" / ours.relative_to(REPO)) if ours.is_relative_to(REPO) else ours
    (site / "numstab.pth").write_text(f"{inside}\n")
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o755 if path.is_dir() else path.stat().st_mode | 0o644)
    return root


def run_as_user(root: Path, argv: list[str], env: dict, timeout: float,
                hide: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``argv`` (``python`` meaning the account's venv) in ``root/repo``, as the account.  Each
    existing folder in ``hide`` is covered by an empty tmpfs first (``/usr/share/fonts``: a
    machine without the system's fonts), for this command only."""
    user = account()
    python = str(root / "venv" / "bin" / "python")
    argv = [python if a == "python" else a for a in argv]
    env = dict(env, HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name,
               PATH=f"{root / 'venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin")
    covers = "".join(f"mount -t tmpfs -o size=1m,mode=755 tmpfs {shlex.quote(p)} && "
                     for p in hide if Path(p).is_dir())
    script = (covers + 'mount --bind "$0" "$1" && cd "$1" && '
              'exec setpriv --reuid="$2" --regid="$3" --clear-groups -- "${@:4}"')
    cmd = ["unshare", "--mount", "--propagation", "private", "bash", "-c", script,
           str(REPO), str(root / "repo"), str(user.pw_uid), str(user.pw_gid), *argv]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
