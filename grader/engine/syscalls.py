"""The seccomp filter of a sandbox child: syscalls a grading child never needs answer EPERM.

Built with libseccomp (through ``pyseccomp``, ctypes bindings with libseccomp's own Python API), the
library bubblewrap, Docker and systemd use: it resolves names per architecture and makes syscalls of
any other architecture (the i386 and x32 entry points) kill the process.  A deny-list, not an
allow-list: PyTorch's syscall surface is large and moves between versions, while this list names what
would let a submission reach beyond its sandbox.  It covers what Docker's default profile
(moby ``profiles/seccomp/default.json``) refuses a container without capabilities, io_uring included
(Docker dropped it in 2023), except the NUMA calls on the process's own memory (``mbind``,
``set_mempolicy``, ``get_mempolicy``), which CUDA's driver and OpenMP runtimes may use.
"""
from __future__ import annotations

import errno
import socket

import pyseccomp as seccomp

CLONE_NEWUSER = 0x10000000
DENIED = [
    # other processes: debugging, reading and writing their memory, their descriptors, their pages
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
    "migrate_pages", "move_pages",
    # the kernel's keyring, eBPF and perf, page-fault handling from userspace
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "lookup_dcookie",
    # io_uring: a second syscall interface, its requests (IORING_OP_SOCKET, IORING_OP_OPENAT, ...) are
    # never seen by this filter; the kernel surface most used in recent exploits
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # files by handle, past every path check: the "shocker" container escape
    "open_by_handle_at", "name_to_handle_at",
    # mounts and namespaces, the file-system watcher of the whole mount
    "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "unshare", "setns", "fanotify_init", "quotactl", "quotactl_fd",
    # kernel images and modules, obsolete module and sysctl interfaces
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
    "get_kernel_syms", "query_module", "uselib", "_sysctl", "sysfs", "ustat", "nfsservctl",
    # the host's identity, clock, power, terminals and hardware
    "sethostname", "setdomainname", "reboot", "swapon", "swapoff", "settimeofday", "stime", "clock_settime",
    "clock_settime64", "clock_adjtime", "clock_adjtime64", "adjtimex", "acct", "syslog", "vhangup",
    "iopl", "ioperm", "vm86", "vm86old", "personality",
]


def _known(name: str) -> bool:
    """libseccomp knows the name (on some architecture); an older libseccomp may not know the newest."""
    try:
        return seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) != -1
    except Exception:
        return False


def build() -> seccomp.SyscallFilter:
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        if _known(name):
            f.add_rule(deny, name)
    # new user namespaces: clone's flags are a register, clone3's sit behind a pointer seccomp cannot
    # read, so clone3 says "not implemented" and glibc falls back to clone (as Docker's profile does)
    f.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER))
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    # sockets: local (AF_UNIX) only
    f.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    f.add_rule(deny, "socketpair", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    return f


def install() -> None:
    """Load the filter into this process (and every child it will have); irreversible."""
    build().load()


def available() -> bool:
    try:
        seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        return True
    except Exception:  # libseccomp missing or too old: reported as a missing layer
        return False
