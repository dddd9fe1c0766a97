"""The pytest plugin that hands hidden checks what they need: ``student``, ``device``, ``rng``.

Checks name these as arguments; the machinery behind them (in-kernel namespace or sandbox pipe,
seeds, devices) stays here.  One instance serves one pytest session: a single submission's parts (``run_parts``), or a worker's
stream of submissions (``CheckSession``), handed to it by ``begin``.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from grader import i18n
from grader.student.selfcheck import grading_devices, make_rng
from grader.layout import PUBLIC_CHECKS as PUBLIC_FILE

i18n.install()  # before any check module is collected: they take `_` from selfcheck


@dataclass
class Outcome:
    part: str
    nodeid: str
    passed: bool
    message: str = ""


def part_of(path: Path, name: str) -> str | None:
    """The part a collected check belongs to: ``test_<part>.py`` or public ``check_<part>__<what>``."""
    if path.name == PUBLIC_FILE:
        return name[len("check_"):].split("__", 1)[0] if name.startswith("check_") and "__" in name else None
    return path.stem[len("test_"):] if path.name.startswith("test_") else None


@dataclass
class PartsPlugin:
    student: object = None
    parts: list[str] | None = None  # None: collect every part (a session that serves many submissions)
    seed: int = 0
    language: str = i18n.SOURCE_LANGUAGE  # the checks' messages (``_()``) are in the submission's language
    outcomes: list[Outcome] = field(default_factory=list)
    check_seconds: float = 0.0  # time inside check bodies: the grading's own compute, not overhead

    def begin(self, student, parts: list[str], seed: int, language: str = i18n.SOURCE_LANGUAGE) -> None:
        """Start grading another submission in the same session."""
        self.student, self.parts, self.seed, self.language = student, list(parts), seed, language
        self.outcomes, self.check_seconds = [], 0.0

    def wanted(self, item) -> bool:
        return part_of(Path(item.path), getattr(item, "originalname", item.name)) in self.parts

    @pytest.fixture(name="student")
    def _student(self):
        return self.student

    @pytest.fixture(name="rng")
    def _rng(self, request):
        # One stream per check: adding a check never changes the inputs another one sees.
        salt = int.from_bytes(hashlib.sha256(request.node.nodeid.encode()).digest()[:6], "big")
        return make_rng(self.seed ^ salt)

    @pytest.fixture(autouse=True)
    def _language(self):
        # per check, not per session: a session serves submissions of either language, one after another
        i18n.use_language(self.language)

    @pytest.fixture(autouse=True)
    def _one_intra_op_thread(self):
        # Checks use small tensors: extra BLAS threads only spin (40x slower seen on 2 busy cores).
        # In-kernel grading gives the student's thread count back after every check.
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(before)

    @pytest.fixture(name="device")
    def _device(self, request):
        return torch.device(request.param)

    def pytest_generate_tests(self, metafunc):
        if "device" in metafunc.fixturenames:
            metafunc.parametrize("device", grading_devices(), indirect=True)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        if self.parts is None:
            return
        keep, drop = [], []
        for item in items:
            (keep if self.wanted(item) else drop).append(item)
        items[:] = keep
        if drop:
            config.hook.pytest_deselected(items=drop)

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        started = time.perf_counter()
        try:
            return (yield)
        finally:
            self.check_seconds += time.perf_counter() - started

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            message = ""
            if report.failed:
                crash = getattr(report.longrepr, "reprcrash", None)
                message = crash.message if crash else str(report.longrepr)[-500:]
            path, _, name = report.nodeid.partition("::")
            part = part_of(Path(path), name.split("[")[0])
            self.outcomes.append(Outcome(part, report.nodeid, report.passed, message))
