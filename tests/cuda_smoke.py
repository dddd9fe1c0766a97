"""The CUDA path of `make grade`, for a machine with a GPU: run as `python3 tests/cuda_smoke.py`.

It needs only torch and pytest (a GPU image may lack nbgrader): as in a grading worker, each solution
notebook's cells run in sandboxed children forked from the warm zygote, every part is checked on cpu
and cuda through the wire in one long pytest session, a CPU-only mutant must lose its cuda checks, and every
correct alternative of tests/assignments/ keeps full marks on cuda.  Prints one line per assignment and exits non-zero
on any surprise.  Not collected by pytest: CI has no GPU.
"""
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from grader.layout import ASSIGNMENTS  # noqa: E402
from grader.engine import isolation  # noqa: E402
from grader.engine.check import CheckSession  # noqa: E402
from grader.engine.execute import Sandbox, SandboxStudent, warm_zygote, zygote_context, zygote_pid  # noqa: E402
from grader.student.selfcheck import is_autograded_test, runnable_source  # noqa: E402

# assignment -> (exact snippet, CPU-only replacement, part that must lose its cuda checks)
CPU_ONLY = {"eigen_bounds": ("torch.ones(n, dtype=mats.dtype, device=mats.device)", "torch.ones(n, dtype=mats.dtype)", "lyapunov")}


def alternatives(assignment):
    """The correct alternatives of the assignment's table (tests/assignments/<a>.py): full marks on cuda too."""
    import importlib

    sys.path.insert(0, str(REPO / "tests"))
    return importlib.import_module(f"assignments.{assignment}").ALTERNATIVES


def cells_and_parts(assignment, replace=None):
    nb = json.loads((REPO / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    cells, parts = [], []
    for i, c in enumerate(nb["cells"]):
        if is_autograded_test(c):
            parts.append(c["metadata"]["nbgrader"]["grade_id"])
        elif c["cell_type"] == "code":
            src = runnable_source(c["source"])
            if replace and replace[0] in src:
                src = src.replace(replace[0], replace[1])
            cells.append((i, src))
    return cells, parts


def grade(ctx, place, checks, assignment, replace=None, append=None):
    cells, parts = cells_and_parts(assignment, replace)
    if append:
        cells.append((cells[-1][0] + 1, append))
    box = Sandbox(ctx, cells, place)
    t = time.perf_counter()
    try:
        runs = box.start()
        results = checks.run_parts(assignment, parts, SandboxStudent(box), seed=int(time.time()))
    finally:
        box.close()
    return runs, results, time.perf_counter() - t


def main():
    assert torch.cuda.is_available(), "no CUDA here"
    ctx = zygote_context()
    started = time.perf_counter()
    warm_zygote(ctx).join()
    checks = CheckSession(ASSIGNMENTS)
    checks.start()
    print(f"zygote and checks session ready in {time.perf_counter() - started:.1f} s")
    work = Path("/tmp/numstab-cuda")
    work.mkdir(exist_ok=True)
    layers = isolation.detect()
    uid = isolation.claim_uid()[0] if layers.root and layers.namespaces else None
    place = isolation.Policy(layers=layers, uid=uid, hide=[str(REPO)], keep=isolation.interpreter_paths(),
                             workdir=str(work), cuda=True)
    ok = True
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, isolation {layers.summary()}")
    for a in ASSIGNMENTS:
        runs, results, secs = grade(ctx, place, checks, a)
        bad_cells = {i: r.error[:120] for i, r in runs.items() if r.status != "ok"}
        cuda = sum("[cuda]" in o.nodeid for r in results.values() for o in r.outcomes)
        failed = [o.nodeid + " " + o.message[:150] for r in results.values() for o in r.outcomes if not o.passed]
        print(f"{a}: {sum(r.passed for r in results.values())}/{sum(r.total for r in results.values())} "
              f"checks passed, {cuda} on cuda, {secs:.2f} s, cell errors {bad_cells or 'none'}")
        for f in failed:
            print("   FAILED", f)
        ok &= not failed and not bad_cells and cuda > 0
    for a in ASSIGNMENTS:  # the constant-init trajectories and float32 answers, compared on cuda as well
        for alt in alternatives(a):
            _, results, _ = grade(ctx, place, checks, a, append=alt.code)
            failed = [o.nodeid + " " + o.message[:150] for r in results.values() for o in r.outcomes if not o.passed]
            print(f"alternative {a}/{alt.name}: {len(failed)} checks failed")
            for f in failed:
                print("   FAILED", f)
            ok &= not failed
    for a, (old, new, part) in CPU_ONLY.items():
        _, results, _ = grade(ctx, place, checks, a, (old, new))
        lost = [o.nodeid for o in results[part].outcomes if not o.passed]
        others = [o.nodeid for p, r in results.items() if p != part for o in r.outcomes if not o.passed]
        print(f"CPU-only mutant of {a}: {part} lost {len(lost)} checks (all cuda: {all('cuda' in n for n in lost)}), "
              f"other parts lost {len(others)}")
        ok &= bool(lost) and all("cuda" in n for n in lost) and not others
    with open(f"/proc/{zygote_pid()}/status") as f:
        threads = int(next(l for l in f if l.startswith("Threads:")).split()[1])
    print(f"zygote threads: {threads} (1 means it never ran a torch op nor touched CUDA)")
    ok &= threads == 1
    print("CUDA SMOKE", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
