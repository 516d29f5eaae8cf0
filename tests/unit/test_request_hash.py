"""A command's request hash is what it was: the hash of `json.dumps` of its payload.

Why: stored `CommandRecord`s hold the hash of the request they answered; a retry is matched
against it, so a hash computed any other way would turn every retry after an upgrade into an
`IdempotencyConflict`. `request_hash` now reuses one JSON encoder instead of building one per
call (json.dumps does, given options); every command a seeded simulation hashes gives the hash
of the formula it was written with.
"""

from __future__ import annotations

from regions.core.idempotency import request_hash
from simulations.bench.conversions import captured
from simulations.bench.conversions import dumped_hash as formula


def test_every_hashed_command_of_a_run_hashes_as_before() -> None:
    _, commands = captured(20)
    assert len(commands) > 100
    for command in commands:
        assert request_hash("8a544a35-eb98-5fd6-9090-34cb9b6e0d08", command) == formula(
            "8a544a35-eb98-5fd6-9090-34cb9b6e0d08", command)
