"""execute: the threat model, one hostile cell at a time, against the real sandbox and zygote.

Each test runs honest cells around a hostile one and checks that the honest ones still answer, the
hostile one is recorded, and the host is unharmed.  `make test` runs this module twice: as whoever runs
the suite, and (when that is root) again as an ordinary user (tests/test_unprivileged.py).
"""
import dataclasses
import errno
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

from grader.engine import isolation
from grader.engine.execute import Sandbox, SandboxStudent, spawn_child, zygote_context, zygote_pid
from grader.layout import REPO
from grader.student.selfcheck import StudentError

HONEST_BEFORE = "import torch\ndef double(x):\n    return 2 * x"
HONEST_AFTER = "ANSWER = 42"
LAYERS = isolation.detect()
NAMESPACES = LAYERS.namespaces
ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def ctx():
    return zygote_context()


@pytest.fixture(scope="module")
def sandbox_uid():
    if not (ROOT and NAMESPACES):
        yield None
        return
    uid, lock = isolation.claim_uid()
    yield uid
    os.close(lock)


@pytest.fixture
def place(tmp_path, sandbox_uid):
    secret = tmp_path / "course" / "gradebook.db"
    secret.parent.mkdir()
    secret.write_text("scores")
    work = tmp_path / "work"
    work.mkdir()
    work.chmod(0o777)
    return isolation.Policy(layers=LAYERS, uid=sandbox_uid, hide=[str(REPO), str(tmp_path / "course"), os.path.expanduser("~")],
                            keep=isolation.interpreter_paths(), workdir=str(work),
                            limits=isolation.Limits(cell_seconds=3, submission_seconds=40, memory_bytes=4 * 2**30,
                                                    tmp_bytes=8 * 2**20, file_bytes=4 * 2**20))


def run(ctx, place, hostile):
    box = Sandbox(ctx, [(0, HONEST_BEFORE), (1, hostile), (2, HONEST_AFTER)], place)
    runs = box.start()
    return box, runs, SandboxStudent(box)


def honest_parts_answer(student):
    assert torch.equal(student.call("double", torch.arange(3.0)), torch.tensor([0.0, 2.0, 4.0]))
    assert student.get("ANSWER") == 42


@pytest.mark.parametrize("hostile,status", [
    ("while True:\n    pass", "timeout"),
    ("import os\nos._exit(0)", "died"),
    # the student's process is its PID namespace's init: the kernel drops a signal it sends itself
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "ok" if NAMESPACES else "died"),
    ("import os\nos.abort()", "died"),
    ("import sys\nsys.exit(0)", "error"),
    ("raise KeyboardInterrupt", "error"),
    ("x = bytearray(8 * 2**30)", "error"),
])
def test_a_cell_that_hangs_exits_or_explodes_is_recorded_and_the_rest_still_graded(ctx, place, hostile, status):
    box, runs, student = run(ctx, place, hostile)
    try:
        assert runs[1].status == status
        assert runs[0].status == runs[2].status == "ok"
        honest_parts_answer(student)
    finally:
        box.close()


def test_monkeypatching_in_the_sandbox_does_not_reach_the_checker(ctx, place):
    box, runs, student = run(ctx, place, "import torch\ntorch.equal = lambda *a: True\ntorch.Tensor.__eq__ = lambda *a: True")
    try:
        honest_parts_answer(student)
        assert not torch.equal(torch.zeros(1), torch.ones(1))  # the checker's torch is untouched
    finally:
        box.close()


def test_endless_output_is_capped(ctx, place):
    box, runs, _ = run(ctx, place, "for i in range(100000):\n    print('spam' * 10)")
    box.close()
    assert len(runs[1].stdout) < place.limits.output_bytes + 200 and "丢弃" in runs[1].stdout  # "[... dropped]"


def test_functions_that_hang_when_checked_time_out_and_the_next_call_still_works(ctx, place):
    box, runs, student = run(ctx, place, "def spin():\n    while True:\n        pass")
    try:
        with pytest.raises(StudentError, match="超时"):
            student.call("spin")
        honest_parts_answer(student)  # a fresh child re-ran the cells
    finally:
        box.close()




def test_course_files_hidden_checks_and_network_are_out_of_reach(ctx, place, tmp_path):
    probe = ("import os, socket\nseen = {}\n"
             f"for p in [{str(REPO / 'grader')!r}, {str(tmp_path / 'course')!r}]:\n"
             "    try:\n        seen[p] = sorted(os.listdir(p))\n    except OSError as e:\n        seen[p] = e.errno\n"
             "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=1); net = 'open'\n"
             "except OSError as e:\n    net = e.errno\nUID = os.getuid()\nimport getpass\nWHO = getpass.getuser()")
    box = Sandbox(ctx, [(0, probe)], place)
    box.start()
    student = SandboxStudent(box)
    try:
        seen, net, uid = student.get("seen"), student.get("net"), student.get("UID")
        assert student.get("WHO")  # a uid without a passwd entry must not break getpass (torch._dynamo uses it)
    finally:
        box.close()
    # an empty tmpfs over the folder, no such folder inside the sandbox's /tmp, or Landlock's refusal
    assert all(v in ([], errno.ENOENT, errno.EACCES) for v in seen.values()), seen
    assert net != "open"
    assert uid == (place.uid if ROOT else os.getuid())


@pytest.mark.parametrize("hostile", [
    # fork bomb: bounded by RLIMIT_NPROC
    "import os\npids = []\ntry:\n    for _ in range(10000):\n        pid = os.fork()\n        if pid == 0:\n            import time; time.sleep(30); os._exit(0)\n        pids.append(pid)\nexcept OSError:\n    pass",
    # disk filling: bounded by RLIMIT_FSIZE and the private tmpfs
    "try:\n    with open('big.bin', 'wb') as f:\n        for _ in range(1000):\n            f.write(b'x' * 2**20)\nexcept OSError:\n    pass",
])
def test_resource_bombs_are_contained(ctx, place, hostile):
    box, runs, student = run(ctx, place, hostile)
    try:
        honest_parts_answer(student)
    finally:
        box.close()
    assert not any(p.name == "big.bin" for p in Path(place.workdir).rglob("*")) or \
        max(p.stat().st_size for p in Path(place.workdir).rglob("big.bin")) <= place.limits.file_bytes


def pid_namespace_members(init_ns: str) -> list[int]:
    """Host pids of the live processes in the PID namespace ``init_ns`` (a /proc/<pid>/ns/pid link)."""
    members = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") == init_ns:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] not in "ZX":
                        members.append(int(pid))
        except OSError:
            continue
    return members


def sandbox_pid_namespace(box) -> str:
    return os.readlink(f"/proc/{box.init_pid()}/ns/pid")


def test_a_daemon_left_behind_dies_with_the_sandbox(ctx, place):
    daemon = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
              "        time.sleep(600)\n    os._exit(0)\ntime.sleep(0.2)")
    box, runs, student = run(ctx, place, daemon)
    honest_parts_answer(student)
    assert NAMESPACES, "this host gives no PID namespace: a daemon could outlive its sandbox"
    ns = sandbox_pid_namespace(box)
    assert len(pid_namespace_members(ns)) >= 2  # the init and the daemon it left
    box.close()
    assert pid_namespace_members(ns) == [], "a process of the sandbox survived close()"


def test_the_zygote_never_runs_a_torch_op(ctx, place):
    box, runs, student = run(ctx, place, "y = (torch.randn(256, 256) @ torch.randn(256, 256)).sum()")
    student.get("y")
    box.close()
    with open(f"/proc/{zygote_pid()}/status") as f:
        threads = int(next(l for l in f if l.startswith("Threads:")).split()[1])
    assert threads == 1, "the zygote started threads: something ran a torch op in it"


def test_kept_paths_stay_readable_even_under_tmp(ctx, place, tmp_path):
    # CI clones the repo, venv included, under /tmp: the private /tmp must not swallow it
    kept = tmp_path / "venv-like"
    kept.mkdir()
    (kept / "marker.txt").write_text("still here")
    kept.chmod(0o755)
    box = Sandbox(ctx, [(0, f"TEXT = open({str(kept / 'marker.txt')!r}).read()")],
                  dataclasses.replace(place, keep=place.keep + [str(kept)]))
    box.start()
    try:
        assert SandboxStudent(box).get("TEXT") == "still here"
    finally:
        box.close()


def test_a_child_forked_ahead_runs_the_cells_it_is_sent_and_stays_isolated(ctx, place):
    spare = spawn_child(ctx, place)
    box = Sandbox(ctx, [(0, HONEST_BEFORE), (1, "import os\nUID = os.getuid()\nPID = os.getpid()"), (2, HONEST_AFTER)],
                  place, spare)
    box.start()
    student = SandboxStudent(box)
    try:
        honest_parts_answer(student)
        assert student.get("UID") == (place.uid if ROOT else os.getuid())
        assert student.get("PID") == 1  # the init of its own PID namespace
        assert box.proc is spare[0]
    finally:
        box.close()


def test_a_child_forked_ahead_that_died_waiting_is_replaced(ctx, place):
    proc, sock = spawn_child(ctx, place)
    proc.kill()
    proc.join(5)
    box = Sandbox(ctx, [(0, HONEST_BEFORE), (1, HONEST_AFTER)], place, (proc, sock))
    runs = box.start()
    try:
        assert all(r.status == "ok" for r in runs.values()) and set(runs) == {0, 1}
        honest_parts_answer(SandboxStudent(box))
    finally:
        box.close()


def test_cells_the_child_cannot_decode_are_an_engine_failure_not_a_silent_death(ctx, place):
    from grader.engine.execute import SandboxError
    box = Sandbox(ctx, [(0, HONEST_BEFORE)], place)
    box.skip.add(-1)  # outside the wire's CellIndex: the child refuses the Work message
    try:
        with pytest.raises(SandboxError, match="did not decode"):
            box.start()
    finally:
        box.kill()


def test_nothing_written_to_shared_places_reaches_the_next_student_or_the_host(ctx, place):
    leave = ("import os\n"
             "LEFT = []\n"
             "for d in ['/dev/shm', '/var/tmp', '/run/lock', os.environ['TMPDIR']]:\n"
             "    try:\n"
             "        open(os.path.join(d, 'numstab-note'), 'w').write('answer')\n"
             "        LEFT.append(d)\n"
             "    except OSError:\n"
             "        pass\n"
             "from multiprocessing import shared_memory\n"
             "shm = shared_memory.SharedMemory(name='numstab-shm', create=True, size=16)\n")
    box, runs, student = run(ctx, place, leave)
    assert runs[1].status == "ok", runs[1].error
    assert len(student.get("LEFT")) == 4  # every folder was writable: the notes were really written
    box.close()
    look = ("import os\nFOUND = [d for d in ['/dev/shm', '/var/tmp', '/run/lock', os.environ['TMPDIR']]"
            " if os.path.exists(os.path.join(d, 'numstab-note'))]\n"
            "from multiprocessing import shared_memory\n"
            "try:\n    shared_memory.SharedMemory(name='numstab-shm'); SHM = True\nexcept FileNotFoundError:\n    SHM = False")
    box, runs, student = run(ctx, place, look)
    try:
        found, shm = student.get("FOUND"), student.get("SHM")
    finally:
        box.close()
    on_host = [d for d in ["/dev/shm", "/var/tmp", "/run/lock"] if os.path.exists(os.path.join(d, "numstab-note"))]
    assert found == [] and shm is False and on_host == []


# -- the allow-list: what a submission finds on the host ---------------------------------------------------
PLANTED = "SECRET_SOLUTION = 'numstab planted copy'\n"


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """World-readable copies of a solution in places a submission might look.

    As root: another user's home, /srv, /opt and a folder beside the course; as an ordinary user the
    root pass planted the first three and hands them down (NUMSTAB_PLANTED), this pass adds its own.
    """
    beside = Path(tempfile.mkdtemp(prefix="numstab-planted-beside-"))  # world-traversable, unlike pytest's tmp
    beside.chmod(0o755)
    paths = [beside / "solutions" / "divergence.ipynb"]
    if ROOT:
        tag = f"numstab-planted-{os.getpid()}"
        paths += [Path("/srv") / tag / "divergence.ipynb", Path("/opt") / tag / "test_lars_step.py",
                  Path("/home") / tag / "solutions" / "divergence.ipynb"]  # as another user's home would be
    paths += [Path(p) for p in os.environ.get("NUMSTAB_PLANTED", "").split(os.pathsep) if p]
    made = []
    for path in paths:
        if path.exists():  # planted by the root pass
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PLANTED)
        made.append(path)
        for folder in path.parents:  # world-readable all the way down, as a careless host would have it
            if str(folder) in ("/", "/tmp", "/srv", "/opt", "/home"):
                break
            folder.chmod(folder.stat().st_mode | 0o755)
        path.chmod(0o644)
    yield paths
    for path in made:
        top = next(f for f in path.parents if f.name.startswith("numstab-planted-"))
        shutil.rmtree(top, ignore_errors=True)


def test_world_readable_copies_of_the_solutions_anywhere_on_the_host_stay_out_of_reach(ctx, place, planted):
    assert all(p.read_text() == PLANTED for p in planted)  # readable by this user, outside the sandbox
    search = ("import os\nFOUND = {}\n"
              f"for p in {[str(p) for p in planted]!r}:\n"
              "    try:\n        FOUND[p] = open(p).read()\n    except OSError as e:\n        FOUND[p] = e.errno\n"
              "WALK = []\nfor top in ['/srv', '/opt', '/home', os.path.dirname(os.path.dirname(" f"{str(planted[0])!r}" "))]:\n"
              "    try:\n        for d, _, files in os.walk(top):\n            WALK += [os.path.join(d, f) for f in files]\n"
              "    except OSError:\n        pass")
    box, runs, student = run(ctx, place, search)
    try:
        assert runs[1].status == "ok", runs[1].error
        found, walked = student.get("FOUND"), student.get("WALK")
        honest_parts_answer(student)
    finally:
        box.close()
    assert all(v in (errno.EACCES, errno.ENOENT) for v in found.values()), found
    assert walked == []


def test_the_gradebook_cannot_be_written(ctx, place, tmp_path):
    book = tmp_path / "course" / "gradebook.db"
    hostile = (f"import sqlite3\ntry:\n    c = sqlite3.connect({str(book)!r}); c.execute('create table t(x)'); c.commit(); DONE = True\n"
               "except Exception as e:\n    DONE = type(e).__name__\n"
               f"try:\n    open({str(book)!r}, 'a').write('4000 points'); APPENDED = True\nexcept OSError as e:\n    APPENDED = e.errno")
    box, runs, student = run(ctx, place, hostile)
    try:
        assert student.get("DONE") is not True and student.get("APPENDED") is not True
        honest_parts_answer(student)
    finally:
        box.close()
    assert book.read_text() == "scores"


def test_a_loopback_listener_on_the_host_hears_nothing(ctx, place):
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    hostile = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2); NET = 'connected'\n"
               "except OSError as e:\n    NET = e.errno")
    box, runs, student = run(ctx, place, hostile)
    try:
        assert student.get("NET") != "connected"
        honest_parts_answer(student)
    finally:
        box.close()
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()


def test_no_signal_or_ptrace_reaches_the_grader_or_another_sandbox(ctx, place, tmp_path):
    other = Sandbox(ctx, [(0, "import time\nX = 1")], place)
    other.start()
    targets = [os.getpid(), other.proc.pid, other.init_pid(), zygote_pid()]
    hostile = ("import os, signal, ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nHIT = []\n"
               f"for pid in {targets!r}:\n"
               "    try:\n        os.kill(pid, signal.SIGKILL); HIT.append(('kill', pid))\n    except OSError:\n        pass\n"
               "    if libc.ptrace(16, pid, 0, 0) == 0:\n        HIT.append(('ptrace', pid))\n")
    box, runs, student = run(ctx, place, hostile)
    try:
        assert student.get("HIT") == []
        honest_parts_answer(student)
        assert SandboxStudent(other).get("X") == 1  # the other run's sandbox still answers
    finally:
        box.close()
        other.close()


def test_a_user_namespace_cannot_be_created(ctx, place):
    hostile = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
               "NS = libc.unshare(0x10000000)\n"
               "try:\n    import subprocess\n    FORKED = subprocess.run(['unshare', '-U', 'true']).returncode\n"
               "except OSError as e:\n    FORKED = e.errno")
    box, runs, student = run(ctx, place, hostile)
    try:
        assert student.get("NS") == -1 and student.get("FORKED") != 0
        honest_parts_answer(student)
    finally:
        box.close()


def test_a_locked_cell_that_dies_is_retried_once_then_an_engine_failure(ctx, place):
    from grader.engine.execute import SandboxError

    box = Sandbox(ctx, [(0, HONEST_BEFORE), (1, "import os\nos._exit(1)"), (2, HONEST_AFTER)], place,
                  locked=frozenset({1}))
    with pytest.raises(SandboxError, match="locked cell 1 failed twice"):
        box.start()
    box.close()


def test_a_locked_cell_killed_once_is_rerun_in_a_fresh_sandbox_not_skipped(ctx, place):
    import threading

    box = Sandbox(ctx, [(0, HONEST_BEFORE), (1, "import time\ntime.sleep(1.5)\nSETUP = 'done'"), (2, HONEST_AFTER)],
                  place, locked=frozenset({1}))
    first = []

    def kill_the_first_sandbox():  # the host kills it mid-cell (OOM killer, an admin): not the student's doing
        while box.proc is None:
            time.sleep(0.01)
        first.append(box.proc)
        time.sleep(0.5)
        first[0].kill()

    killer = threading.Thread(target=kill_the_first_sandbox)
    killer.start()
    runs = box.start()
    killer.join()
    try:
        assert box.proc is not first[0] and runs[1].status == "ok" and 1 not in box.skip
        assert SandboxStudent(box).get("SETUP") == "done"
        honest_parts_answer(SandboxStudent(box))
    finally:
        box.close()


def test_the_allow_list_never_names_a_hidden_folder_or_one_above_it(place, tmp_path):
    course = str(tmp_path / "course")
    paths = isolation.readable_paths(place)
    assert "/usr" in paths and "/etc" in paths and sys.prefix in paths
    for hidden in place.hide:
        for allowed in paths:
            assert not isolation._inside(os.path.realpath(allowed), os.path.realpath(hidden)) or \
                any(isolation._inside(os.path.realpath(allowed), os.path.realpath(k)) for k in place.keep), allowed
            if allowed not in isolation.SYSTEM_READ_ONLY:
                assert not isolation._inside(os.path.realpath(hidden), os.path.realpath(allowed)), allowed
    assert str(REPO) not in paths and course not in paths


# -- descriptors: nothing the zygote held reaches student code -------------------------------------------
def test_the_sandbox_holds_only_its_standard_streams_and_the_socket(ctx, place):
    probe = ("import os\nFDS = {}\nfor fd in os.listdir('/proc/self/fd'):\n"
             "    try:\n        FDS[int(fd)] = os.readlink(f'/proc/self/fd/{fd}')\n"
             "    except OSError:\n        pass  # the listing's own descriptor, closed by now\n")
    box, runs, student = run(ctx, place, probe)
    try:
        assert runs[1].status == "ok", runs[1].error
        fds = student.get("FDS")
        honest_parts_answer(student)
    finally:
        box.close()
    assert {fd: fds[fd] for fd in (0, 1, 2)} == {0: "/dev/null", 1: "/dev/null", 2: "/dev/null"}, fds
    # child.isolate keeps the /dev/null it copied onto 0, 1 and 2: harmless, and nothing else may be there
    others = {fd: target for fd, target in fds.items() if fd > 2 and target != "/dev/null"}
    assert len(others) == 1 and next(iter(others.values())).startswith("socket:"), fds


REGISTER_ATTACK = """
import dataclasses, os, sys
from grader.engine import isolation
from grader.engine.execute import Sandbox, SandboxStudent, zygote_context
victim, work, uid = sys.argv[1], sys.argv[2], (None if sys.argv[3] == "-" else int(sys.argv[3]))
hostile = ("import os, stat\\nHIT = []\\n"
           "for fd in range(3, 1024):\\n"
           "    try:\\n        if not stat.S_ISFIFO(os.fstat(fd).st_mode):\\n            continue\\n"
           f"        os.write(fd, b'REGISTER:/{victim}:shared_memory\\\\n' + b''.join(b'REGISTER:/numstab-fake-%d:shared_memory\\\\n' % i for i in range(2000)))\\n"
           "        HIT.append(fd)\\n    except OSError:\\n        pass\\n")
layers = isolation.detect()
policy = isolation.Policy(layers=layers, uid=uid, hide=[os.path.expanduser("~")], keep=isolation.interpreter_paths(),
                          workdir=work, limits=isolation.Limits(cell_seconds=20, submission_seconds=60))
box = Sandbox(zygote_context(), [(0, hostile)], policy)
runs = box.start()
print("STATUS", runs[0].status, "HIT", SandboxStudent(box).get("HIT"), flush=True)
box.close()
"""


def test_the_resource_tracker_of_the_grader_is_out_of_reach(tmp_path, sandbox_uid):
    """A child that wrote REGISTER lines to multiprocessing's tracker pipe made the tracker (outside, as
    the grader's user) unlink the host's /dev/shm/<name> when the run ended, with a warning per name."""
    victim = f"numstab-victim-{os.getpid()}"
    shm = Path("/dev/shm") / victim
    shm.write_text("another program's shared memory")
    work = tmp_path / "work"
    work.mkdir()
    work.chmod(0o777)
    try:
        # its own process: the tracker acts when the grader that started it exits
        done = __import__("subprocess").run(
            [sys.executable, "-c", REGISTER_ATTACK, victim, str(work), "-" if sandbox_uid is None else str(sandbox_uid)],
            cwd=REPO, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "STATUS ok HIT []" in done.stdout, done.stdout + done.stderr[-2000:]
        assert shm.read_text() == "another program's shared memory"
        assert "leaked shared_memory" not in done.stderr and "numstab-fake" not in done.stderr, done.stderr[-2000:]
    finally:
        shm.unlink(missing_ok=True)


# -- seccomp: what Docker's default profile refuses, refused here too ------------------------------------
def test_every_denied_syscall_is_refused_inside_the_sandbox(ctx, place):
    from grader.engine import syscalls

    if not LAYERS.seccomp:
        pytest.fail("this host gives no seccomp: " + "; ".join(LAYERS.describe()))
    probe = ("import ctypes, errno, pyseccomp\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\n"
             "ANSWERS = {}\n"
             f"for name in {syscalls.DENIED!r}:\n"
             "    try:\n        nr = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)\n    except Exception:\n        continue\n"
             "    if nr < 0:\n        continue  # not a syscall of this architecture\n"
             "    ctypes.set_errno(0)\n"
             "    ret = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(0)] * 6)\n"
             "    ANSWERS[name] = (ret, ctypes.get_errno())\n"
             # with real arguments, as an exploit would call them: both work for an ordinary user elsewhere
             "params = ctypes.create_string_buffer(120)\n"
             "ctypes.set_errno(0)\nURING = (libc.syscall(ctypes.c_long(425), 8, params), ctypes.get_errno())\n"
             "handle = ctypes.create_string_buffer(136); handle[0:4] = (128).to_bytes(4, 'little')\n"
             "mount_id = ctypes.c_int()\n"
             "ctypes.set_errno(0)\nHANDLE = (libc.name_to_handle_at(-100, b'/usr', handle, ctypes.byref(mount_id), 0), ctypes.get_errno())\n")
    box, runs, student = run(ctx, place, probe)
    try:
        assert runs[1].status == "ok", runs[1].error
        answers, uring, handle = student.get("ANSWERS"), student.get("URING"), student.get("HANDLE")
        honest_parts_answer(student)
    finally:
        box.close()
    assert {"io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at", "name_to_handle_at"} <= set(answers)
    refused = {name: tuple(a) for name, a in answers.items() if a[0] == -1 and a[1] in (errno.EPERM, errno.ENOSYS)}
    assert refused == {name: tuple(a) for name, a in answers.items()}, set(answers) - set(refused)
    assert tuple(uring) == (-1, errno.EPERM) and tuple(handle) == (-1, errno.EPERM)


def test_the_filter_itself_names_every_denied_syscall():
    """Without capabilities many of these fail anyway: the filter must refuse them whatever the host."""
    import io
    import tempfile as tf

    from grader.engine import syscalls

    with tf.TemporaryFile() as f:
        syscalls.build().export_pfc(f)
        f.seek(0)
        pfc = f.read().decode()
    for name in ["io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at", "name_to_handle_at",
                 "fanotify_init", "lookup_dcookie", "quotactl_fd", "process_madvise", "move_pages", "migrate_pages",
                 "sethostname", "setdomainname", "vhangup", "uselib", "ustat", "sysfs", "_sysctl", "nfsservctl"]:
        rule = pfc.split(f'# filter for syscall "{name}"', 1)
        assert len(rule) == 2 and "action ERRNO(1);" in rule[1].split("# filter for syscall", 1)[0], name


def test_torch_still_trains_under_the_filter(ctx, place):
    work = ("import torch, torch._dynamo\nfrom torch import nn\ntorch.manual_seed(0)\n"
            "model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))\nLOSSES = []\n"
            "for opt in [torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9), torch.optim.Adam(model.parameters(), lr=1e-2),"
            " torch.optim.AdamW(model.parameters(), lr=1e-2)]:\n"
            "    x = torch.randn(64, 8); y = x.sum(1, keepdim=True)\n"
            "    first = None\n"
            "    for _ in range(30):\n"
            "        opt.zero_grad(); loss = nn.functional.mse_loss(model(x), y); loss.backward(); opt.step()\n"
            "        first = first if first is not None else loss.item()\n"
            "    LOSSES.append((first, loss.item()))\n"
            "GRAD = torch.autograd.grad((torch.arange(3.0, requires_grad=True) ** 2).sum(), [torch.ones(1, requires_grad=True)], allow_unused=True)[0] is None\n")
    box, runs, student = run(ctx, place, work)
    try:
        assert runs[1].status == "ok", runs[1].error
        losses = student.get("LOSSES")
        honest_parts_answer(student)
    finally:
        box.close()
    assert len(losses) == 3 and all(last < first for first, last in losses), losses
