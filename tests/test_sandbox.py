"""execute: the threat model, one hostile cell at a time, against the real sandbox and zygote.

Each test runs honest cells around a hostile one and checks that the honest ones still answer, the
hostile one is recorded, and the host is unharmed.
"""
import errno
import os
import sys
from pathlib import Path

import pytest
import torch

from grader.engine import isolation
from grader.engine.execute import Placement, Sandbox, SandboxStudent, spawn_child, zygote_context, zygote_pid
from grader.student.selfcheck import StudentError

from grader.layout import REPO
HONEST_BEFORE = "import torch\ndef double(x):\n    return 2 * x"
HONEST_AFTER = "ANSWER = 42"
NAMESPACES = isolation.level() == "namespaces"


@pytest.fixture(scope="module")
def ctx():
    return zygote_context()


@pytest.fixture
def place(tmp_path):
    secret = tmp_path / "course" / "gradebook.db"
    secret.parent.mkdir()
    secret.write_text("scores")
    return Placement(slot=7, level=isolation.level(), hide=[str(REPO), str(tmp_path / "course"), os.path.expanduser("~")],
                     keep=[sys.prefix, sys.base_prefix], workdir=str(tmp_path / "work"),
                     limits=isolation.Limits(cell_seconds=3, submission_seconds=40, memory_bytes=4 * 2**30,
                                             tmp_bytes=8 * 2**20, file_bytes=4 * 2**20))


def run(ctx, place, hostile):
    os.makedirs(place.workdir, exist_ok=True)
    box = Sandbox(ctx, [(0, HONEST_BEFORE), (1, hostile), (2, HONEST_AFTER)], place)
    runs = box.start()
    return box, runs, SandboxStudent(box)


def honest_parts_answer(student):
    assert torch.equal(student.call("double", torch.arange(3.0)), torch.tensor([0.0, 2.0, 4.0]))
    assert student.get("ANSWER") == 42


@pytest.mark.parametrize("hostile,status", [
    ("while True:\n    pass", "timeout"),
    ("import os\nos._exit(0)", "died"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "died"),
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
    assert len(runs[1].stdout) < place.limits.output_bytes + 200 and "dropped" in runs[1].stdout


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
    if NAMESPACES:
        # an empty tmpfs over the folder, or no such folder at all inside the sandbox's /tmp
        assert all(v in ([], errno.ENOENT, errno.EACCES) for v in seen.values()), seen
        assert net != "open" and uid == isolation.SANDBOX_UID_BASE + place.slot
    else:  # rlimits level: the report says so; the process still cannot pickle its way into the checker
        assert uid == os.getuid()


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


def test_a_daemon_left_behind_is_killed_before_the_next_student(ctx, place):
    daemon = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\n    os._exit(0)"
    box, runs, student = run(ctx, place, daemon)
    honest_parts_answer(student)
    box.close()
    uid = isolation.SANDBOX_UID_BASE + place.slot if NAMESPACES else None
    if uid is not None:
        assert isolation._live_pids(uid) == [], "a process of the sandbox uid survived close()"


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
    place.keep = place.keep + [str(kept)]
    box = Sandbox(ctx, [(0, f"TEXT = open({str(kept / 'marker.txt')!r}).read()")], place)
    box.start()
    try:
        assert SandboxStudent(box).get("TEXT") == "still here"
    finally:
        box.close()


def test_a_child_forked_ahead_runs_the_cells_it_is_sent_and_stays_isolated(ctx, place):
    os.makedirs(place.workdir, exist_ok=True)
    spare = spawn_child(ctx, place, torch.cuda.is_available())
    box = Sandbox(ctx, [(0, HONEST_BEFORE), (1, "import os\nUID = os.getuid()"), (2, HONEST_AFTER)], place, spare)
    box.start()
    student = SandboxStudent(box)
    try:
        honest_parts_answer(student)
        if NAMESPACES:
            assert student.get("UID") == isolation.SANDBOX_UID_BASE + place.slot
        assert box.proc is spare[0]
    finally:
        box.close()


def test_a_child_forked_ahead_that_died_waiting_is_replaced(ctx, place):
    os.makedirs(place.workdir, exist_ok=True)
    proc, sock = spawn_child(ctx, place, torch.cuda.is_available())
    proc.kill()
    proc.join(5)
    box = Sandbox(ctx, [(0, HONEST_BEFORE), (1, HONEST_AFTER)], place, (proc, sock))
    runs = box.start()
    try:
        assert all(r.status == "ok" for r in runs.values()) and set(runs) == {0, 1}
        honest_parts_answer(SandboxStudent(box))
    finally:
        box.close()


def test_nothing_written_to_shared_places_reaches_the_next_student_or_the_host(ctx, place):
    leave = ("import os\n"
             "LEFT = []\n"
             "for d in ['/dev/shm', '/var/tmp', '/run/lock', '/tmp']:\n"
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
    look = ("import os\nFOUND = [d for d in ['/dev/shm', '/var/tmp', '/run/lock', '/tmp']"
            " if os.path.exists(os.path.join(d, 'numstab-note'))]\n"
            "from multiprocessing import shared_memory\n"
            "try:\n    shared_memory.SharedMemory(name='numstab-shm'); SHM = True\nexcept FileNotFoundError:\n    SHM = False")
    box, runs, student = run(ctx, place, look)
    try:
        found, shm = student.get("FOUND"), student.get("SHM")
    finally:
        box.close()
    on_host = [d for d in ["/dev/shm", "/var/tmp", "/run/lock"] if os.path.exists(os.path.join(d, "numstab-note"))]
    if NAMESPACES:
        assert found == [] and shm is False and on_host == []
    else:  # why a real class needs namespaces (or --allow-weak-isolation): this level shares them
        assert "/dev/shm" in found and shm is True
        for d in on_host:
            os.remove(os.path.join(d, "numstab-note"))
