"""The reviewed list of surviving mutants (``grader/checks/<a>/equivalent_mutants.py``) does not rot.

- every entry names a mutant that ``grader.course.mutate`` still makes, with the diff that was reviewed and
  on the part it names (ids hash what a mutant is, so an entry breaks only when its code changes);
- every entry computes what the reference computes, within the statement's tolerance, on the part's probe
  inputs (``PROBES``) under every grading seed: a mutant that the list calls equivalent but that is not
  fails here, not silently in ``make mutants``.
"""
from __future__ import annotations

import functools
import math
import importlib

import pytest
import torch

from conftest import SEEDS, cells_of
from grader.course.mutate import Mutant, all_mutants
from grader.layout import ASSIGNMENTS, EQUIVALENT_MUTANTS, checks_of, source_notebook
from grader.student.selfcheck import pick_device
from support import namespace_from

LISTS = {a: importlib.import_module(f"grader.checks.{a}.{EQUIVALENT_MUTANTS.removesuffix('.py')}")
         for a in ASSIGNMENTS if (checks_of(a) / EQUIVALENT_MUTANTS).is_file()}
ENTRIES = [pytest.param(a, e, id=f"{a}-{e.part}-{e.id}") for a, mod in LISTS.items() for e in mod.EQUIVALENT]


@functools.cache
def _made(assignment: str) -> dict[str, Mutant]:
    return {m.id: m for m in all_mutants([assignment])[assignment]}


@functools.cache
def _reference(assignment: str) -> dict:
    return namespace_from(cells_of(source_notebook(assignment)))


@pytest.mark.parametrize("assignment", sorted(LISTS))
def test_list_has_one_entry_per_mutant_and_a_probe_per_part(assignment):
    entries = LISTS[assignment].EQUIVALENT
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids)), f"{assignment}: an id is listed twice"
    assert all(e.reason.strip() for e in entries), f"{assignment}: every entry says why it is equivalent"
    missing = {e.part for e in entries} - set(LISTS[assignment].PROBES)
    assert not missing, f"{assignment}: no probe for {sorted(missing)}"


@pytest.mark.parametrize("assignment,entry", ENTRIES)
def test_reviewed_mutant_is_still_made_as_reviewed(assignment, entry):
    made = _made(assignment)
    assert entry.id in made, f"{entry.id} is no longer generated: the solution changed there; review it again or drop it"
    m = made[entry.id]
    assert (m.part, m.diff.strip()) == (entry.part, entry.diff.strip()), f"{entry.id} changed since it was reviewed:\n{m.diff}"


def _agree(got, want, rtol, atol, where="result"):
    if isinstance(want, torch.Tensor):
        assert isinstance(got, torch.Tensor), f"{where}: a tensor became {type(got).__name__}"
        assert got.shape == want.shape and got.dtype == want.dtype and got.device == want.device, \
            f"{where}: {got.shape}/{got.dtype}/{got.device} against {want.shape}/{want.dtype}/{want.device}"
        if want.is_floating_point():
            torch.testing.assert_close(got, want, rtol=rtol, atol=atol, equal_nan=True, msg=f"{where} differs")
        else:
            assert torch.equal(got, want), f"{where} differs"
    elif isinstance(want, float):
        assert isinstance(got, (float, int)), f"{where}: {got!r} against {want!r}"
        if not math.isfinite(want):  # an overflow must overflow the same way
            assert (math.isnan(got) and math.isnan(want)) or got == want, f"{where}: {got} against {want}"
        else:
            assert abs(got - want) <= atol + rtol * abs(want), f"{where}: {got} against {want}"
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want), f"{where}: {got!r} against {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            _agree(g, w, rtol, atol, f"{where}[{i}]")
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{where}: keys differ"
        for k in want:
            _agree(got[k], want[k], rtol, atol, f"{where}[{k!r}]")
    else:
        assert got == want, f"{where}: {got!r} against {want!r}"


@pytest.mark.parametrize("assignment,entry", ENTRIES)
def test_reviewed_mutant_agrees_with_the_reference(assignment, entry):
    m = _made(assignment).get(entry.id)
    if m is None:
        pytest.fail(f"{entry.id} is no longer generated (see test_reviewed_mutant_is_still_made_as_reviewed)")
    original = next(r for r in _regions(assignment) if r.cell == m.cell).source
    mutated = namespace_from(cells_of(source_notebook(assignment), replace={original: m.source}))
    # a cuda_only entry claims the same function on the CPU only (on CUDA it leaves a tensor off the device)
    probe, device = LISTS[assignment].PROBES[entry.part], torch.device("cpu") if entry.cuda_only else pick_device()
    for seed in SEEDS:
        want = probe.run(_reference(assignment), torch.Generator().manual_seed(seed), device)
        got = probe.run(mutated, torch.Generator().manual_seed(seed), device)
        _agree(got, want, probe.rtol, probe.atol, f"seed {seed}: {entry.id}")


@functools.cache
def _regions(assignment):
    from grader.course.mutate import regions
    return regions(assignment)
