"""One table per assignment: the mistakes its checks must catch and the correct answers they must accept.

A table module ``tests/assignments/<a>.py`` defines

- ``MUTANTS``: ``Mutant(name, parts, replace)``: a small, plausible mistake, written as exact snippets
  of the solution notebook and what replaces them (every snippet must occur), and the part or parts it
  must lose points on; every other part keeps full marks.  ``public=True``: the public checks (what
  students run themselves) catch it too.
- ``ALTERNATIVES``: ``Alternative(name, code)``: a different correct answer (another implementation,
  float32 where the statement allows it, functional or module style), a cell appended after the
  solution's cells that redefines the names it answers; it must keep full marks.
- ``CPU_ONLY``: ``Mutant``s that hard-code CPU tensors: they lose the cuda checks where CUDA is present
  and are indistinguishable from the solution where it is not.

``tests/test_assignments.py`` runs every table through the sandboxed engine under ``SEEDS`` and in-kernel.
Adding an assignment adds a table, not a test file.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mutant:
    name: str
    parts: frozenset[str] | str
    replace: dict[str, str] = field(hash=False)
    public: bool = False

    @property
    def broken(self) -> set[str]:
        return {self.parts} if isinstance(self.parts, str) else set(self.parts)


@dataclass(frozen=True)
class Alternative:
    name: str
    code: str
