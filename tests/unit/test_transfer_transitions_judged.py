"""Every transfer protocol hands its status table to its spec (`ProtocolSpec.transitions`), so
the simulator's transition watch (simulations/checkers.py) judges transfers as it judges
household moves and applications. Before, the pension, unemployment, medical and housing-fund
modules exported none and the watch skipped them: an origin recording `CorrectionNotApplied`
after its conclusion had ended it went unseen by the simulator (21 times at seed 2 x 300)."""

from __future__ import annotations

from domain.protocols import PROTOCOLS, transfer


def test_every_transfer_spec_carries_the_transfer_transitions() -> None:
    transfers = [s for s in PROTOCOLS.values()
                 if s.allowed_terminal_pairs == transfer.TERMINAL_PAIRS]
    assert transfers
    assert all(s.transitions == transfer.TRANSITIONS for s in transfers)
