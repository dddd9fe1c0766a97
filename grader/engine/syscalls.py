"""The seccomp filter of a sandbox child: syscalls a grading child never needs answer EPERM.

Built with libseccomp (through ``pyseccomp``, ctypes bindings with libseccomp's own Python API), the
library bubblewrap, Docker and systemd use: it resolves names per architecture and makes syscalls of
any other architecture (the i386 and x32 entry points) kill the process.  A deny-list, not an
allow-list: PyTorch's syscall surface is large and moves between versions, while this list names what
would let a submission reach beyond its sandbox.
"""
from __future__ import annotations

import errno
import socket

import pyseccomp as seccomp

CLONE_NEWUSER = 0x10000000
# debugging other processes, the kernel's keyring, eBPF and perf, page-fault handling from userspace,
# mounts and namespaces, kernel images and modules, the system clock and power
DENIED = [
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "unshare", "setns",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "acct", "quotactl", "syslog", "iopl", "ioperm", "personality",
]


def install() -> None:
    """Load the filter into this process (and every child it will have); irreversible."""
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        f.add_rule(deny, name)
    # new user namespaces: clone's flags are a register, clone3's sit behind a pointer seccomp cannot
    # read, so clone3 says "not implemented" and glibc falls back to clone (as Docker's profile does)
    f.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER))
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    # sockets: local (AF_UNIX) only
    f.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    f.add_rule(deny, "socketpair", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    f.load()


def available() -> bool:
    try:
        seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        return True
    except Exception:  # libseccomp missing or too old: reported as a missing layer
        return False
