"""The pure model of 跨省通办: catalogue items, cases, two-sided protocols, deadlines, invariants.

Nothing here reads the clock, draws ids or randomness, or does I/O: time, ids and random
streams are arguments, so a seed reproduces any simulation. `tests/unit/test_architecture.py`
enforces this and that `domain` imports nothing else of ours.
"""
