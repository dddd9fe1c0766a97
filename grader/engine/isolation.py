"""What a sandbox child may see and do, built the way bubblewrap and nsjail build it, root or not.

A child forked from the zygote calls ``enter(policy)``.  It unshares its own PID, mount, network and IPC
namespaces (an ordinary user adds a user namespace, which is what lets it do so without root), forks
the namespace's init, which is the student's process, and itself stays behind as the *keeper*: when
the keeper dies, the init dies (parent-death signal) and the kernel kills everything in the namespace
with it, so teardown is one kill and nothing outlives it.  In the init:

- descriptors: every one inherited from the zygote is closed but the socket to the checker (the zygote
  holds multiprocessing's resource-tracker pipe, which a root process outside reads);
- mounts: private tmpfs over /tmp, /dev/shm, /var/tmp, /run/lock; a fresh /proc showing only the
  sandbox's processes; the course, the repository and $HOME behind empty tmpfs;
- Landlock: read-only system folders and the interpreter's own folders, read-write only the private
  working folder, no TCP, no signals or abstract sockets beyond its own domain: an allow-list, so a
  world-readable file anywhere else on the host stays out of reach, whoever owns it;
- as root, the worker slot's own uid (host-wide unique, see ``claim_uid``); otherwise every capability
  the user namespace gave is dropped;
- rlimits (CPU, address space on CPU, processes, file size, open files, no core dumps);
- seccomp (``grader.engine.syscalls``) last, since it forbids the mounts above.

``detect()`` says which layers this host gives; the report lists them.
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from grader.engine import landlock, syscalls
from grader.i18n import SOURCE_LANGUAGE, _in

CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC = 0x00020000, 0x40000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID = 0x10000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
SHARED_WRITABLE = ["/dev/shm", "/var/tmp", "/run/lock"]
SYSTEM_READ_ONLY = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/sys/devices/system/cpu"]
DEVICES = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]
CUDA_READ_ONLY = ["/proc/driver/nvidia", "/sys/bus/pci", "/sys/devices", "/sys/module/nvidia"]
SANDBOX_UID_BASE = 62000  # earlier releases swept 61000 + slot with SIGKILL: stay clear of them
UID_RANGE = 4096
UID_LOCKS = "/run/numstab-grader-uids"
WORK = "/tmp/work"

_libc = ctypes.CDLL(None, use_errno=True)


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


@dataclass(frozen=True)
class Layers:
    """The isolation this host gives a sandbox child, strongest layers first."""
    root: bool
    namespaces: bool      # own user (unless root), PID, mount, network and IPC namespaces
    landlock_abi: int     # 0: no Landlock
    seccomp: bool
    cgroup: str = "none"  # cgroup v2 limits need a delegated subtree; rlimits bound memory and processes

    @property
    def strong(self) -> bool:
        """Enough to grade a real class: the allow-list filesystem holds."""
        return self.namespaces or self.landlock_abi > 0

    def describe(self, language: str = SOURCE_LANGUAGE) -> list[str]:
        """One line per layer, in ``language`` (the course's: the console and the report)."""
        if self.namespaces:
            namespaces = (_in(language, "PID, mount, network, IPC") if self.root
                          else _in(language, "user (你的 uid, 已映射), PID, mount, network, IPC"))
        else:
            namespaces = _in(language, "无 (这台主机不提供)")
        if self.landlock_abi:
            scope = [_in(language, "文件系统白名单")] + ([_in(language, "禁止 TCP")] if self.landlock_abi >= 4 else []) \
                + ([_in(language, "限定信号和抽象套接字的范围")] if self.landlock_abi >= 6 else [])
            landlock_line = _in(language, "Landlock: ABI {abi} ({scope})").format(abi=self.landlock_abi,
                                                                                 scope=", ".join(scope))
        else:
            landlock_line = _in(language, "Landlock: 不可用 (文件系统的其余部分仍然可读)")
        return [
            _in(language, "uid: 每个 worker 槽位一个沙箱 uid (整台主机唯一)") if self.root
            else _in(language, "uid: 你的 uid, 在 user namespace 中, 丢弃全部 capability"),
            _in(language, "命名空间: {namespaces}").format(namespaces=namespaces),
            landlock_line,
            _in(language, "seccomp: 拒绝 {count} 个系统调用的黑名单, 套接字只允许 AF_UNIX").format(
                count=len(syscalls.DENIED) + 4) if self.seccomp else _in(language, "seccomp: 不可用"),
            _in(language, "cgroup: {cgroup}").format(cgroup=self.cgroup),
            _in(language, "rlimits: CPU 时间, 地址空间 (仅 CPU), 进程数, 文件大小, 打开的文件数, 不生成 core"),
        ]

    def summary(self) -> str:
        parts = (["uid"] if self.root else ["userns"]) if self.namespaces else []
        parts += ["pid+mount+net+ipc ns"] if self.namespaces else []
        parts += [f"landlock{self.landlock_abi}"] if self.landlock_abi else []
        parts += ["seccomp"] if self.seccomp else []
        return " + ".join(parts + ["rlimits"])


def _user_namespaces_work() -> bool:
    """Try it in a throw-away process: some kernels and containers forbid unprivileged user namespaces."""
    probe = ("import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
             f"os._exit(0 if libc.unshare({CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC}) == 0 else 1)")
    try:
        return subprocess.run([sys.executable, "-I", "-c", probe], timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _cgroup() -> str:
    try:
        with open("/proc/self/cgroup") as f:
            unified = [l.split("::", 1)[1].strip() for l in f if l.startswith("0::")]
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            controllers = f.read().split()
    except OSError:
        return "none here (no cgroup v2 hierarchy at /sys/fs/cgroup); rlimits bound memory and processes"
    own = "/sys/fs/cgroup" + (unified[0] if unified else "/")
    if {"memory", "pids"} <= set(controllers) and os.access(own, os.W_OK):
        return "a delegated cgroup v2 subtree exists, not used yet; rlimits bound memory and processes"
    return "none here (no delegated cgroup v2 subtree); rlimits bound memory and processes"


def detect(namespaces: bool = True) -> Layers:
    """What this host gives; ``namespaces=False`` leaves them out (to test the layers without them)."""
    root = os.geteuid() == 0
    return Layers(root=root, namespaces=namespaces and (root or _user_namespaces_work()),
                  landlock_abi=landlock.abi(), seccomp=syscalls.available(), cgroup=_cgroup())


def claim_uid(first: int = SANDBOX_UID_BASE) -> tuple[int, int]:
    """Root only: a sandbox uid no other grading run on this host holds, with the lock that holds it.

    The lock is an flock on a file per uid: the kernel drops it when the holder dies, however it dies,
    so a killed run never keeps a uid.  Keep the returned descriptor open for as long as the uid is used.
    """
    os.makedirs(UID_LOCKS, mode=0o700, exist_ok=True)
    for uid in range(first, first + UID_RANGE):
        fd = os.open(os.path.join(UID_LOCKS, str(uid)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return uid, fd
        except BlockingIOError:
            os.close(fd)
    raise RuntimeError(f"no free sandbox uid in {first}..{first + UID_RANGE - 1} (see {UID_LOCKS})")


@dataclass(frozen=True)
class Policy:
    """One sandbox child's world; plain data, sent to the zygote's child."""
    layers: Layers
    uid: int | None          # root: the slot's claimed uid; None: the caller's own uid
    hide: list[str]          # covered by empty tmpfs (the course, the repository, $HOME)
    keep: list[str]          # must stay readable, even under a hidden path or /tmp (the interpreter, the venv)
    workdir: str             # used as the working folder where no mount namespace is available
    limits: Limits = field(default_factory=Limits)
    cuda: bool = False


def interpreter_paths() -> list[str]:
    """What the sandboxed interpreter needs to keep reading under a hidden folder (or under /tmp): its
    prefixes and every site-packages on ``sys.path`` (a venv whose .pth names another venv's, as the
    README's recipe for ordinary users does)."""
    sites = [p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages") and os.path.isdir(p)]
    return sorted({sys.prefix, sys.base_prefix, *sites})


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(src.encode() if src else None, target.encode(), fstype.encode() if fstype else None,
                       flags, data.encode() if data else None), f"mount {target}")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def readable_paths(policy: Policy) -> list[str]:
    """The read-only allow-list: system folders and the interpreter's own, none that reveals a hidden path."""
    python = {sys.prefix, sys.base_prefix, sys.exec_prefix, *policy.keep}
    python |= {p for p in sys.path if p and os.path.isdir(p)}
    hidden = [os.path.realpath(h) for h in policy.hide]
    kept = [os.path.realpath(k) for k in policy.keep]

    def allowed(path: str) -> bool:
        real = os.path.realpath(path)
        if any(_inside(h, real) for h in hidden):  # the folder itself or an ancestor of a hidden path
            return False
        return not any(_inside(real, h) for h in hidden) or any(_inside(real, k) for k in kept)

    # with a mount namespace, a hidden path under a system folder (a clone in /usr/local/src) is covered
    # by its empty tmpfs already; without one, the whole system folder would reveal it
    system = [p for p in SYSTEM_READ_ONLY if policy.layers.namespaces or allowed(p)]
    return system + [p for p in sorted(python) if allowed(p)]


def enter(policy: Policy, close_in_keeper: list[int]) -> str:
    """Isolate the calling (freshly forked) process; returns the working folder, in the sandbox's init.

    ``close_in_keeper``: the init's own descriptors (the socket to the checker): the init keeps them, and
    stdin, stdout and stderr, and closes every other; the keeper closes them.  The calling process
    becomes the keeper and never returns from here.
    """
    layers = policy.layers
    parent = os.getppid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the keeper dies with the zygote (and its worker)
    if os.getppid() != parent:
        os._exit(1)
    if layers.namespaces:
        uid, gid = os.getuid(), os.getgid()
        flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID | (0 if layers.root else CLONE_NEWUSER)
        _check(_libc.unshare(flags), "unshare")
        if not layers.root:
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid:
        _keep(pid, alive_w, layers.namespaces)
    os.close(alive_w)
    close_inherited({0, 1, 2, alive_r, *close_in_keeper})
    _die_with_keeper(alive_r)
    if not layers.namespaces:
        os.setsid()  # no PID namespace: the keeper kills this process group (a submission can leave it)
    work = _mounts(policy) if layers.namespaces else policy.workdir
    rules = _rules(policy, work) if layers.landlock_abi else None
    if layers.root and policy.uid is not None:
        os.setgroups([])
        os.setresgid(policy.uid, policy.uid, policy.uid)
        os.setresuid(policy.uid, policy.uid, policy.uid)  # from root to another uid: every capability goes
        _die_with_keeper(alive_r)  # a change of uid clears the parent-death signal: set it again
    os.close(alive_r)
    os.environ.update(HOME=work, TMPDIR=work, USER="student", LOGNAME="student")
    tempfile.tempdir = None
    if rules is not None:
        rules.restrict_self()
    if layers.namespaces and not layers.root:
        _drop_capabilities()
    _apply_rlimits(policy.limits, policy.cuda)
    if layers.seccomp:
        syscalls.install()
    return work


def _die_with_keeper(alive_r: int) -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if select.select([alive_r], [], [], 0)[0]:  # the keeper died before the line above: so do we
        os._exit(1)


def close_inherited(keep: set[int]) -> None:
    """Close every descriptor but ``keep`` (close_range(2) underneath, as bubblewrap and nsjail do).

    multiprocessing's handles then name closed descriptors: they are forgotten, so that a student's
    ``SharedMemory`` starts a resource tracker of its own, inside the sandbox.
    """
    low = 0
    for fd in sorted(keep):
        if fd > low:  # never an empty range: closerange(n, n) would ask close_range(2) for n..UINT_MAX
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 2**31 - 1)
    from multiprocessing import forkserver, resource_tracker

    resource_tracker._resource_tracker._fd = resource_tracker._resource_tracker._pid = None
    forkserver._forkserver._forkserver_alive_fd = None
    forkserver._forkserver._inherited_fds = None


def _keep(pid: int, alive_w: int, namespaces: bool) -> None:
    """The keeper: holds the namespace's init; asked to stop (SIGTERM), it kills and reaps it first.

    It keeps only ``alive_w`` (the init dies when it closes) and the standard streams: the init alone
    talks to the checker, so its death closes the socket.
    """
    close_inherited({0, 1, 2, alive_w})

    def stop(signum, frame):
        try:
            os.kill(-pid, signal.SIGKILL) if not namespaces else None
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)  # when the init is reaped, the kernel has killed the whole namespace
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    finally:
        os._exit(1)


def _mounts(policy: Policy) -> str:
    limits = policy.limits
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    held = {p: os.open(p, os.O_PATH) for p in policy.keep if os.path.exists(p)}
    tmpfs = f"size={limits.tmp_bytes},mode=1777"
    for folder in ["/tmp"] + [d for d in SHARED_WRITABLE if os.path.isdir(d)]:
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, tmpfs)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this namespace's processes only
    for path in policy.hide:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
        elif os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND)
    for path, fd in held.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    os.makedirs(WORK, mode=0o1777, exist_ok=True)
    os.chmod(WORK, 0o1777)
    return WORK


def _rules(policy: Policy, work: str) -> landlock.Ruleset:
    rules = landlock.Ruleset(policy.layers.landlock_abi)
    for path in readable_paths(policy):
        rules.allow(path, landlock.READ)
    # without a PID namespace /proc shows the host's processes: then only this process's own entries
    for path in (["/proc"] if policy.layers.namespaces else ["/proc/self", "/proc/thread-self"]) + ["/proc/cpuinfo"]:
        rules.allow(path, landlock.READ)
    for dev in DEVICES:
        rules.allow(dev, landlock.READ_FILE | landlock.WRITE_FILE)
    if policy.cuda:
        for path in CUDA_READ_ONLY:
            rules.allow(path, landlock.READ)
        for dev in (f"/dev/{d}" for d in os.listdir("/dev") if d.startswith("nvidia")):
            rules.allow(dev, landlock.DEVICE | landlock.READ)
    full = rules.handled
    rules.allow(work, full)
    if policy.layers.namespaces:  # private tmpfs here; on the host these are shared between students
        for folder in SHARED_WRITABLE:
            rules.allow(folder, full)
    return rules


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    """A new user namespace hands its creator every capability inside it; the student needs none."""
    for cap in range(64):
        _libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP; fails harmlessly past the last capability
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def _apply_rlimits(limits: Limits, cuda: bool) -> None:
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
