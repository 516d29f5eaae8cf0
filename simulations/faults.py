"""Which faults a run injects, and how often: a swarm plan drawn from the seed.

VOPR-style swarm testing: each seed enables a different mix and rate of faults, so a batch of
seeds covers combinations no single hand-written scenario would. `--faults none|all|LIST`
restricts the kinds; the seed picks rates within each enabled kind.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

MESSAGE_FAULTS = ("drop", "duplicate", "reorder", "delay")
NETWORK_FAULTS = ("partition",)
NODE_FAULTS = ("crash_after_commit", "crash_before_ack", "crash_mid_transaction")
BROKER_FAULTS = ("redeliver", "dedup_expired", "stream_recreated", "acks_lost", "stored_lost",
                 "publish_fails")
CLOCK_FAULTS = ("clock_skew",)
FINANCE_FAULTS = ("funds_late", "funds_duplicated", "funds_short")
CLIENT_FAULTS = ("command_retry",)
#: Crafted messages in region inboxes (`simulations.hostile`); last, so adding it moved no
#: other kind's draw.
HOSTILE_FAULTS = ("hostile_peer",)
#: People and messages timed at the edges (`simulations.timing`): visits hours before a permit
#: expires or a deadline falls, withdrawals racing a message, messages held for hours. Last, so
#: adding it moved no other kind's draw; off in a clean run (`--faults none`).
TIMING_FAULTS = ("timing_edges",)
#: The operator installs the year's official schedule mid-run on some regions, which started on
#: the calendar as known before it (`simulations.calendar_install`). Last, for the same reason.
CALENDAR_FAULTS = ("calendar_install",)
ALL_FAULTS = (MESSAGE_FAULTS + NETWORK_FAULTS + NODE_FAULTS + BROKER_FAULTS + CLOCK_FAULTS
              + FINANCE_FAULTS + CLIENT_FAULTS + HOSTILE_FAULTS + TIMING_FAULTS
              + CALENDAR_FAULTS)


def parse_faults(text: str) -> tuple[str, ...]:
    """`none`, `all`, or a comma list of fault kinds; unknown kinds are a clear error.

    The kinds come back in `ALL_FAULTS`' order, each once: `FaultPlan.draw` draws each kind's
    rate in the order given, so `b,a` would otherwise be another schedule than `a,b` (and a
    repeated kind another again) for what names the same faults. `all` is that order too."""
    text = text.strip().lower()
    if text in ("", "none"):
        return ()
    if text == "all":
        return ALL_FAULTS
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in ALL_FAULTS]
    if unknown:
        raise ValueError(f"unknown fault kind(s) {', '.join(unknown)}; "
                         f"choose from: {', '.join(ALL_FAULTS)}")
    return tuple(k for k in ALL_FAULTS if k in kinds)


@dataclass
class FaultPlan:
    """Per-kind probability (per opportunity) chosen from the seed; 0 disables a kind."""

    rates: dict[str, float] = field(default_factory=dict)
    enabled: bool = True  # switched off for the heal-and-drain phase
    injected: dict[str, int] = field(default_factory=dict)

    @classmethod
    def draw(cls, kinds: tuple[str, ...], rng: random.Random) -> FaultPlan:
        ranges = {
            "drop": (0.01, 0.08), "duplicate": (0.02, 0.2), "reorder": (0.02, 0.2),
            "delay": (0.02, 0.2), "partition": (0.002, 0.01),
            "crash_after_commit": (0.002, 0.01), "crash_before_ack": (0.002, 0.01),
            "crash_mid_transaction": (0.002, 0.01), "redeliver": (0.005, 0.03),
            "dedup_expired": (0.002, 0.01), "stream_recreated": (0.0005, 0.002),
            "acks_lost": (0.002, 0.01), "stored_lost": (0.001, 0.005),
            "publish_fails": (0.005, 0.02), "clock_skew": (1.0, 1.0),
            "funds_late": (0.05, 0.2), "funds_duplicated": (0.02, 0.1), "funds_short": (0.1, 0.3),
            "command_retry": (0.02, 0.1), "hostile_peer": (0.01, 0.05),
            "timing_edges": (1.0, 1.0), "calendar_install": (1.0, 1.0),
        }
        rates = {}
        for kind in kinds:
            low, high = ranges[kind]
            # Swarm: each seed keeps only some kinds at full strength.
            rates[kind] = rng.uniform(low, high) if rng.random() < 0.8 else low
        return cls(rates)

    def fire(self, kind: str, rng: random.Random) -> bool:
        """Whether fault `kind` happens at this opportunity (always draws, for stable streams)."""
        roll = rng.random()
        if not self.enabled:
            return False
        if roll < self.rates.get(kind, 0.0):
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return True
        return False

    def fires(self, kind: str, rng: random.Random) -> bool:
        """`fire` for a stream drawn from for faults alone: a region's network, crash, inbox and
        hostile streams, the background's and the command retries' (a draw decides a fault, and
        only a fault that fired draws again, for its details). Once the plan is switched off
        (the heal-and-drain phase; nothing switches it on again) no fault fires, so what such a
        stream would draw decides nothing, and it is not drawn: the trace is the same, and a
        third of a run's steps (the drain) skip ~5 rolls a send and ~25 a background round. Not
        for a stream that also draws other values (the bank's delays): there `fire` keeps drawing,
        so those values stay where they were."""
        return self.enabled and self.fire(kind, rng)

    def active(self, kind: str) -> bool:
        return self.enabled and self.rates.get(kind, 0.0) > 0
