"""The destination's money (转入地 finance) in a transfer: bank notices, reconciliation of each
origin's sheet against them, and the money it sends back.

Why apart from the rest of the destination's rules (`transfer_destination`): this is the finance
side of the case — it reads the destination's own bank (`RecordFundsReceived`, never the origin's
`FundsRemitted`), compares to the fen, and returns an excess (`ExcessReturned`) or, after an
operator's reversal, everything (`TransferReversed`, via `_return_due`), or money that reached
the case after it completed or from an origin that transfers nothing (`LateFundsReturned`,
`_unclaimed`). The letters, the two
phases, withdrawal and closing stay with the destination; both share `TransferBase`.
"""

from __future__ import annotations

import datetime as dt

from domain.kernel import Actor, Event, IllegalCommand, InvalidValue, NeedsAttentionRaised
from domain.protocols.transfer_commands import Reconcile, RecordFundsReceived, ReturnExcess
from domain.protocols.transfer_events import (
    ExcessReturned,
    FundsReceived,
    LateFundsReturned,
    Reconciled,
)
from domain.protocols.transfer_states import DestinationState, OriginTrack, TransferBase, stated
from domain.values import Money


class DestinationMoney(TransferBase):
    """The destination's finance rules (a base of `DestinationSide`)."""

    def _funds(self, s: DestinationState, c: RecordFundsReceived, now: dt.datetime) -> list[Event]:
        ref = self._notice(s, c)
        if s.phase not in ("awaiting_holds", "awaiting_transfer", "withdrawing"):
            raise IllegalCommand(f"no funds are expected while {s.phase}",
                                 code="funds_not_expected")
        return [FundsReceived(at=now, actor=c.actor, from_region=c.from_region,
                              amount_fen=c.amount_fen, bank_ref=ref, value_date=c.value_date)]

    @staticmethod
    def _money_back(s: DestinationState, origin: str) -> bool:
        """A bank notice from `origin` that is sent straight back (`_late_funds`): the case
        ended (completed, withdrawn, closed) or is refusing (no origin of a refusing case has
        transferred out: a refusal comes before every hold), an operator's reversal already sent
        back what came from that origin (a remittance for an upward correction crossed the
        reversal), or that origin refused or was released and transfers nothing here."""
        if s.phase in ("completed", "withdrawn", "closed", "refused_by_origin", "refusing"):
            return True
        t = s.tracks.get(origin)
        return t is not None and (t.reversed_fen is not None or _transfers_nothing(t))

    def _late_funds(self, s: DestinationState, c: RecordFundsReceived,
                    now: dt.datetime) -> list[Event]:
        """Money from an origin reaching a case that holds nothing more from it: completed
        (the origin remitted the rest of a corrected sheet between an excess return and the
        conclusion), reversed (the rest crossed an operator's reversal), or from an origin
        that sent no sheet here (the bank's notice is not this transfer's money). A money fact
        is never refused, so it is recorded and sent back at once — the case credited what it
        concluded on, or returned everything, and all of this notice is beyond it. Sent back
        by the case itself rather than left to finance staff (needs_attention): an ended side
        is an end (its pair, the register and the credited sums stand, nobody is asked there),
        and the origin books the return as it books an excess (`kept_fen`: what the case still
        holds from it, 0 after a reversal), with no person needed for the money's way back."""
        ref = self._notice(s, c)
        if not s.letters_sent:  # no origin was ever asked: nobody to send it back to
            raise IllegalCommand(f"no funds are expected from {c.from_region} while {s.phase}",
                                 code="funds_not_expected")
        t = s.tracks[c.from_region]
        return [LateFundsReturned(at=now, actor=c.actor, to_region=c.from_region,
                                  amount_fen=c.amount_fen, notice_ref=ref,
                                  bank_ref=f"RETURN:{ref}",
                                  kept_fen=t.received_fen - (t.reversed_fen or 0))]

    @staticmethod
    def _unclaimed(s: DestinationState, origin: str, t: OriginTrack,
                   now: dt.datetime) -> list[Event]:
        """When `origin` refuses or is released (`t` as it was), what the case received from
        it goes back with the answer: a notice the bank sent before the origin said it
        transfers nothing is not this transfer's money, and a case never ends holding money it
        does not credit (the invariants' "at rest Σ sent = Σ held"). An excess return keeping
        nothing: the origin, which sent no sheet, books none of it."""
        if t.received_fen <= 0:
            return []
        refs = "+".join(ref for ref, _ in t.funds)
        return [ExcessReturned(at=now, actor=Actor.system("transfer_policy", s.region),
                               to_region=origin, amount_fen=t.received_fen,
                               bank_ref=f"RETURN:{refs}", kept_fen=0)]

    @staticmethod
    def _notice(s: DestinationState, c: RecordFundsReceived) -> str:
        """A bank notice's checks, whatever the phase: its bank reference."""
        if c.from_region not in s.tracks:
            raise InvalidValue(f"{c.from_region} is not an origin of this case",
                               code="unknown_origin")
        if isinstance(c.amount_fen, bool) or not isinstance(c.amount_fen, int) or c.amount_fen <= 0:
            raise InvalidValue(f"funds received must be a positive number of fen, "
                               f"got {c.amount_fen!r}",
                               code="invalid_amount", field="amount_fen")
        ref = stated(c.bank_ref, "funds received need the bank reference", field="bank_ref",
                     code="bank_ref_required")
        if isinstance(c.value_date, dt.datetime) or not isinstance(c.value_date, dt.date):
            raise InvalidValue("the value date is a calendar date", code="invalid_date",
                               field="value_date")
        if any(ref == r for t in s.tracks.values() for r, _ in t.funds):
            raise IllegalCommand(f"bank reference {ref} is already recorded",
                                 code="duplicate_bank_ref")
        return ref

    def _return_excess(self, s: DestinationState, c: ReturnExcess,
                       now: dt.datetime) -> list[Event]:
        """Send back what came from an origin beyond its (possibly corrected) sheet; the
        reconciliation then runs again on what is left."""
        t = s.tracks.get(c.from_region)
        if t is None:
            raise InvalidValue(f"{c.from_region} is not an origin of this case",
                               code="unknown_origin", field="from_region")
        if (s.phase not in ("awaiting_transfer", "withdrawing") or t.sheet is None
                or t.reversed_fen is not None):  # a reversal sent everything back already
            raise IllegalCommand(f"nothing can be returned to {c.from_region} while {s.phase}",
                                 code="no_excess")
        excess = t.received_fen - t.sheet.amount_fen
        if excess <= 0:
            raise IllegalCommand(f"{Money(t.received_fen)} received from {c.from_region} does "
                                 f"not exceed its sheet ({Money(t.sheet.amount_fen)})",
                                 code="no_excess")
        ref = stated(c.bank_ref, "returning money needs the bank reference", field="bank_ref",
                     code="bank_ref_required")
        return [ExcessReturned(at=now, actor=c.actor, to_region=c.from_region, amount_fen=excess,
                               bank_ref=ref, kept_fen=t.sheet.amount_fen)]

    @staticmethod
    def _reconcile_due(t: OriginTrack) -> bool:
        return t.funds_in and not t.matched and t.reconciled_count != len(t.funds)

    @staticmethod
    def _return_due(s: DestinationState, t: OriginTrack) -> bool:
        """Only an operator's reversal sends money back: everything received from the origin,
        once it matches the sheet here (more is an excess, returned first). A remittance for a
        correction still on its way may come after: it is sent back as it arrives
        (`_late_funds`), and the origin takes a reversal for less than it sent."""
        return (bool(s.reversal) and t.answer == "already_transferred" and t.sheet is not None
                and t.reversed_fen is None and t.funds_in
                and t.received_fen == t.sheet.amount_fen)

    @staticmethod
    def _overtaken(s: DestinationState, t: OriginTrack) -> bool:
        """Withdrawn, but this origin had already transferred out: its transfer completes."""
        return not s.reversal and t.answer == "already_transferred"

    def _reconcile(self, s: DestinationState, c: Reconcile, now: dt.datetime) -> list[Event]:
        t = s.tracks.get(c.from_region)
        if t is None or not self._reconcile_due(t):
            return []
        if not (s.phase == "awaiting_transfer"
                or (s.phase == "withdrawing" and self._overtaken(s, t))):
            return []
        assert t.sheet is not None
        stated_fen, received = t.sheet.amount_fen, t.received_fen
        matched = stated_fen == received
        events: list[Event] = [Reconciled(
            at=now, actor=c.actor, from_region=c.from_region, matched=matched,
            stated_fen=stated_fen, received_fen=received, difference_fen=stated_fen - received)]
        if not matched:
            events.append(NeedsAttentionRaised(
                at=now, actor=c.actor,
                reason=f"info sheet from {c.from_region} states {Money(stated_fen)}, funds "
                       f"received {Money(received)} "
                       f"(difference {Money(stated_fen).difference(Money(received))})"))
        others_in = all(o.funds_in for r, o in s.tracks.items() if r != c.from_region)
        if s.phase == "awaiting_transfer" and others_in and "completion" not in s.book:
            events += self._deadline("completion", now, s.region)
        return events


def _transfers_nothing(t: OriginTrack) -> bool:
    """The origin refused, or was released from the case before it sent its sheet."""
    return t.vote == "refused" or t.answer == "released"
