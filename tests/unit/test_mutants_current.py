"""Every mutant of the harness still points at a real line (simulations/mutants.py).

Why: the harness prints `STALE` and skips a mutant whose line moved, so a rename elsewhere (the
reconciliation's `stated` became `stated_fen`) silently shrinks the score it reports; a stale
mutant should stop the change that made it stale instead.
"""

from __future__ import annotations

import pytest

from simulations.mutants import MUTANTS, ROOT


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutant_names_exactly_one_real_line(name: str) -> None:
    path, real, mutant = MUTANTS[name]
    text = (ROOT / path).read_text(encoding="utf-8")
    assert text.count(real) == 1, f"{name}: its line is not (once) in {path}"
    assert mutant != real
