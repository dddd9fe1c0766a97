"""What the sandbox can take away from a student process on this host, strongest first.

Levels: ``namespaces`` (root: own uid per worker slot, no network, hidden course files, private
tmpfs, rlimits), ``rlimits`` (not root: a separate process with resource limits only).  The level in
force is printed in the report; real classes below ``namespaces`` need ``--allow-weak-isolation``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import signal
from dataclasses import dataclass

CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC = 0x00020000, 0x40000000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG = 38, 1
SHARED_WRITABLE = ["/dev/shm", "/var/tmp", "/run/lock"]
SANDBOX_UID_BASE = 61000  # one uid per worker slot, so a sweep by uid never touches another slot

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


@dataclass(frozen=True)
class Limits:
    cell_seconds: float = 60.0       # wall clock per cell, enforced by the parent
    submission_seconds: float = 300.0
    cpu_seconds: int = 600           # RLIMIT_CPU for the whole sandbox process
    memory_bytes: int = 6 * 2**30    # RLIMIT_AS (cpu only: CUDA maps huge address ranges)
    processes: int = 256             # RLIMIT_NPROC counts threads too
    file_bytes: int = 16 * 2**20
    open_files: int = 256
    tmp_bytes: int = 64 * 2**20      # size of the private tmpfs working directory
    output_bytes: int = 64 * 2**10   # captured stdout per cell


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def can_use_namespaces() -> bool:
    return os.geteuid() == 0


def level() -> str:
    return "namespaces" if can_use_namespaces() else "rlimits"


def _mount(src: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(src.encode() if src else None, target.encode(), fstype.encode() if fstype else None,
                       flags, data.encode() if data else None), f"mount {target}")


def enter_namespaces(hide: list[str], keep: list[str], limits: Limits) -> str:
    """Root only: new mount, network and IPC namespaces; hide course paths; private tmpfs over the
    world-writable folders; return a private tmpfs cwd.

    ``keep`` are paths that must stay readable even under a hidden one or under /tmp (the venv the
    process runs from, which may well live in /tmp).  They are held open before anything is covered
    and bound back last.
    """
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare")  # IPC: SysV and POSIX queues
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    held = {p: os.open(p, os.O_PATH) for p in keep if os.path.exists(p)}
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={limits.tmp_bytes},mode=1777")
    # The host's other world-writable folders would let one student leave files for the next one.
    for shared in SHARED_WRITABLE:
        if os.path.isdir(shared):
            _mount("tmpfs", shared, "tmpfs", MS_NOSUID | MS_NODEV, f"size={limits.tmp_bytes},mode=1777")
    for path in hide:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
        elif os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND)
    for path, fd in held.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    work = "/tmp/work"
    os.makedirs(work, mode=0o1777, exist_ok=True)
    os.chmod(work, 0o1777)
    return work


def drop_privileges(slot: int) -> int:
    uid = SANDBOX_UID_BASE + slot
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    return uid


def apply_rlimits(limits: Limits, cuda: bool) -> None:
    def cap(which, value):
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_CPU, limits.cpu_seconds)
    cap(resource.RLIMIT_FSIZE, limits.file_bytes)
    cap(resource.RLIMIT_NOFILE, limits.open_files)
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_NPROC, limits.processes)
    if not cuda:
        cap(resource.RLIMIT_AS, limits.memory_bytes)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _live_pids(uid: int) -> list[int]:
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            uids = fields["Uid"].split()
            if fields["State"].split()[0] not in ("Z", "X") and uid in (int(uids[0]), int(uids[1])):
                pids.append(int(pid))
        except (OSError, KeyError, ValueError):
            continue
    return pids


def kill_uid(uid: int, rounds: int = 20) -> int:
    """Kill every live process owned by ``uid`` (daemons a submission left behind); returns how many.

    Sweeps until none is left, since a fork bomb may fork while we sweep.
    """
    killed = 0
    for _ in range(rounds):
        pids = _live_pids(uid)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed
