"""The simulator's trace hash covers domain content, never stored bytes: encrypting the stores
(`cipher_key`, fresh random nonces on every record) changes nothing of it."""

from __future__ import annotations

import base64

from regions.adapters.stores.memory import MemoryStore
from simulations.runner import run

REGIONS = ("150900", "140200", "130700")
KEY = base64.b64encode(bytes(range(32))).decode()


def test_the_same_seed_gives_the_same_trace_with_and_without_encrypted_stores() -> None:
    faults = ("crash_after_commit", "crash_mid_transaction", "drop", "duplicate")
    plain = run(7, 15, REGIONS, faults)
    encrypted = run(7, 15, REGIONS, faults, store_factory=lambda: MemoryStore(cipher_key=KEY))
    assert plain.violations == [] == encrypted.violations and plain.world.trace.commits > 0
    assert encrypted.world.trace.hexdigest() == plain.world.trace.hexdigest()
    stored = encrypted.world.store.open(REGIONS[0]).recorder.select_notifications(1, 50)
    assert stored and all(b"Submitted" not in bytes(n.state) for n in stored)
