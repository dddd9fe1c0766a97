"""The pytest plugin that hands hidden checks what they need: ``student``, ``device``, ``rng``.

Checks name these as arguments; the machinery behind them (in-kernel namespace or sandbox pipe,
seeds, devices) stays here.  One instance grades one part of one submission.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from grader.selfcheck import grading_devices, make_rng


@dataclass
class Outcome:
    nodeid: str
    passed: bool
    message: str = ""


@dataclass
class PartPlugin:
    student: object
    part: str
    seed: int
    outcomes: list[Outcome] = field(default_factory=list)

    # -- fixtures -----------------------------------------------------------------------------
    @pytest.fixture(name="student")
    def _student(self):
        return self.student

    @pytest.fixture(name="rng")
    def _rng(self, request):
        # One stream per check: adding a check never changes the inputs another one sees.
        salt = int.from_bytes(hashlib.sha256(request.node.nodeid.encode()).digest()[:6], "big")
        return make_rng(self.seed ^ salt)

    @pytest.fixture(name="device")
    def _device(self, request):
        return torch.device(request.param)

    def pytest_generate_tests(self, metafunc):
        if "device" in metafunc.fixturenames:
            metafunc.parametrize("device", grading_devices(), indirect=True)

    # -- selection: the part's hidden module plus the public checks of that part ---------------
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        keep, drop = [], []
        for item in items:
            name = item.originalname if hasattr(item, "originalname") else item.name
            in_public = Path(str(item.fspath)).name == "public_checks.py"
            wanted = name.startswith(f"check_{self.part}__") if in_public else True
            (keep if wanted else drop).append(item)
        items[:] = keep
        if drop:
            config.hook.pytest_deselected(items=drop)

    # -- results -------------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            message = ""
            if report.failed:
                crash = getattr(report.longrepr, "reprcrash", None)
                message = crash.message if crash else str(report.longrepr)[-500:]
            self.outcomes.append(Outcome(report.nodeid, report.passed, message))
