"""Landlock (kernel LSM, no root needed): "from now on, only these paths, and no TCP".

Written against the syscalls directly (about 60 lines of ctypes): the ``landlock`` package on PyPI is a
development release that stops at ABI 3, and the sandbox needs ABI 4 (TCP rules) and 6 (scoping of
abstract UNIX sockets and signals).  Each feature is used when the running kernel's ABI has it, and
the ABI in force is reported.  x86_64 and aarch64 share these syscall numbers.
"""
from __future__ import annotations

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_CREATE, _ADD_RULE, _RESTRICT = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
TRUNCATE, IOCTL_DEV = 1 << 14, 1 << 15
_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = EXECUTE | READ_FILE | READ_DIR
DEVICE = READ_FILE | WRITE_FILE | IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi() -> int:
    """The kernel's Landlock ABI version; 0 where Landlock is absent or disabled."""
    version = _libc.syscall(_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(version, 0)


def _all_fs(version: int) -> int:
    return (1 << 16) - 1 if version >= 5 else (1 << 15) - 1 if version >= 3 else (1 << 14) - 1 if version >= 2 else (1 << 13) - 1


class Ruleset:
    """Build the rules first (as the privileged process, paths still reachable), restrict later."""

    def __init__(self, version: int):
        self.version = version
        self.handled = _all_fs(version)
        attr = _RulesetAttr(self.handled, (_NET_BIND_TCP | _NET_CONNECT_TCP) if version >= 4 else 0,
                            (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if version >= 6 else 0)
        size = ctypes.sizeof(_RulesetAttr) if version >= 6 else 16 if version >= 4 else 8
        self.fd = _libc.syscall(_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "landlock_create_ruleset")

    def allow(self, path: str, access: int) -> bool:
        """Grant ``access`` beneath ``path``; False when the path does not exist."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            rights = access & self.handled
            if not os.path.isdir(path):
                rights &= _FILE_ONLY
            rule = _PathBeneath(rights, fd)
            if _libc.syscall(_ADD_RULE, self.fd, _RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
        finally:
            os.close(fd)
        return True

    def restrict_self(self) -> None:
        """Irreversible for this process and every child it ever has (needs no_new_privs)."""
        _libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
        if _libc.syscall(_RESTRICT, self.fd, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
        os.close(self.fd)
