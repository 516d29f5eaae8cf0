"""What a transfer's destination does with each message from an origin: its hold, the
letter's confirmation, a refusal, the info sheet, a corrected sheet, the answer to a
cancellation (a base of `DestinationSide`, `transfer_destination`).

Why apart from the destination's commands: these are the counterpart's facts, judged against
what this side has seen (a duplicate, a sheet before the hold, a refusal after it) and recorded
as receipts or refused as a whole (`settling.receive` then records `CounterpartEventRejected`);
the commands and the policy that act on them read better without them. Money that an origin's
refusal or release leaves here goes back with its receipt (`DestinationMoney._unclaimed`).
"""

from __future__ import annotations

import datetime as dt

from domain.kernel import Actor, DomainError, Event, IllegalCommand, Receive
from domain.protocols.transfer_events import (
    CancellationAnswered,
    ContactLetterConfirmed,
    InfoSheetCorrected,
    InfoSheetIssued,
    TransferCancelled,
    TransferOutHeld,
    TransferOutRefused,
)
from domain.protocols.transfer_money import DestinationMoney
from domain.protocols.transfer_receipts import (
    CancellationAnswerReceived,
    InfoSheetCorrectionReceived,
    InfoSheetReceived,
    LateCorrectionReceived,
    OriginRefusalReceived,
    TransferMessageReceived,
)
from domain.protocols.transfer_sheets import MAX_CORRECTIONS
from domain.protocols.transfer_states import DestinationState, OriginTrack


class DestinationInbox(DestinationMoney):
    """The destination's receipt of its origins' messages (a base of `DestinationSide`)."""

    def _destination_receive(self, s: DestinationState, c: Receive, now: dt.datetime,
                             ) -> list[Event]:
        if c.ref in s.seen:
            return []
        ev, frm = c.event, c.from_region
        t = s.tracks.get(frm)
        if t is None:
            raise DomainError(f"{frm} is not an origin of this case", code="unknown_counterpart")
        inbox = Actor.system("inbox", s.region)
        if isinstance(ev, TransferOutHeld):
            if t.vote is not None:
                raise IllegalCommand(f"{frm} already answered ({t.vote})", code="duplicate_vote")
            return [TransferMessageReceived(at=now, actor=inbox, ref=c.ref, from_region=frm,
                                            event_type=ev.TYPE)]
        if isinstance(ev, ContactLetterConfirmed):
            if t.confirmed:
                raise IllegalCommand(f"{frm} already confirmed the letter",
                                     code="duplicate_confirmation")
            return [TransferMessageReceived(at=now, actor=inbox, ref=c.ref, from_region=frm,
                                            event_type=ev.TYPE)]
        if isinstance(ev, TransferOutRefused):
            return self._refusal_received(s, t, c, ev, now)
        if isinstance(ev, InfoSheetIssued):
            return self._sheet_received(s, t, c, ev, now)
        if isinstance(ev, InfoSheetCorrected):
            return self._correction_received(s, t, c, ev, now)
        if isinstance(ev, CancellationAnswered):
            if not t.cancel_sent or t.answer is not None:
                raise IllegalCommand(f"no cancellation answer is expected from {frm}",
                                     code="unexpected_answer")
            if ev.outcome == "already_transferred" and t.sheet is None:
                raise IllegalCommand(f"{frm} says it transferred out, but no sheet arrived",
                                     code="answer_before_sheet")
            answered: list[Event] = [CancellationAnswerReceived(
                at=now, actor=inbox, ref=c.ref, from_region=frm, outcome=ev.outcome)]
            if ev.outcome == "released":
                answered += self._unclaimed(s, frm, t, now)
            return answered
        raise IllegalCommand(f"{ev.TYPE} is not expected by a transfer's destination",
                             code="unexpected_event")

    def _refusal_received(self, s: DestinationState, t: OriginTrack, c: Receive,
                          ev: TransferOutRefused, now: dt.datetime) -> list[Event]:
        """One origin refused: the others, unless settled, are asked to cancel (invariant 4)."""
        frm = c.from_region
        if t.vote is not None:
            raise IllegalCommand(f"{frm} refused after answering {t.vote}",
                                 code="refusal_after_hold")
        events: list[Event] = [OriginRefusalReceived(
            at=now, actor=Actor.system("inbox", s.region), ref=c.ref, from_region=frm,
            reason=ev.reason), *self._unclaimed(s, frm, t, now)]
        if s.phase in ("awaiting_holds", "awaiting_transfer"):
            policy = Actor.system("transfer_policy", s.region)
            events += [TransferCancelled(at=now, actor=policy, to_region=o,
                                         reason="refused_by_other_origin")
                       for o, other in s.tracks.items() if o != frm and not other.settled]
        elif s.phase not in ("withdrawing", "refusing"):
            raise IllegalCommand(f"a refusal is not expected while {s.phase}",
                                 code="unexpected_refusal")
        return events

    def _sheet_received(self, s: DestinationState, t: OriginTrack, c: Receive,
                        ev: InfoSheetIssued, now: dt.datetime) -> list[Event]:
        """An origin's 信息表, only after its hold (and, with several origins, the instruction)."""
        frm = c.from_region
        if t.sheet is not None:
            raise IllegalCommand(f"{frm} already sent its info sheet",
                                 code="duplicate_info_sheet")
        if t.vote != "held":
            raise IllegalCommand(f"{frm} sent an info sheet without holding first",
                                 code="sheet_before_hold")
        if s.two_phase and not s.proceed_sent:
            raise IllegalCommand(f"{frm} transferred out without the all-hold instruction",
                                 code="sheet_before_proceed")
        if s.phase not in ("awaiting_transfer", "withdrawing"):
            raise IllegalCommand(f"an info sheet is not expected while {s.phase}",
                                 code="unexpected_info_sheet")
        self.spec.sheet_rule(s.direction)(ev.sheet)
        events: list[Event] = [InfoSheetReceived(
            at=now, actor=Actor.system("inbox", s.region), ref=c.ref, from_region=frm,
            sheet=ev.sheet)]
        if s.phase == "awaiting_transfer" and "transfer_in" not in s.book:
            events += self._deadline("transfer_in", now, s.region)
        return events

    def _correction_received(self, s: DestinationState, t: OriginTrack, c: Receive,
                             ev: InfoSheetCorrected, now: dt.datetime) -> list[Event]:
        """A corrected 信息表 replaces the origin's sheet; sheet and funds are reconciled again.
        After the conclusion it is only recorded (`LateCorrectionReceived`): the origin's
        conclusion tells it the correction was not applied."""
        if t.sheet is None:
            raise IllegalCommand(f"{c.from_region} corrected a sheet that never arrived",
                                 code="correction_before_sheet")
        inbox = Actor.system("inbox", s.region)
        if self.is_terminal(s):  # it crossed the conclusion: on record, not applied
            return [LateCorrectionReceived(at=now, actor=inbox, ref=c.ref,
                                           from_region=c.from_region, sheet=ev.sheet,
                                           reason=ev.reason)]
        if s.phase not in ("awaiting_transfer", "withdrawing"):
            raise IllegalCommand(f"a corrected info sheet is not expected while {s.phase}",
                                 code="unexpected_correction")
        if t.corrections >= MAX_CORRECTIONS:  # the count goes on the wire, bounded there
            raise IllegalCommand(f"{c.from_region} corrected its sheet {t.corrections} times "
                                 f"already: a person decides the rest",
                                 code="too_many_corrections")
        self.spec.sheet_rule(s.direction)(ev.sheet)
        return [InfoSheetCorrectionReceived(at=now, actor=inbox, ref=c.ref,
                                            from_region=c.from_region, sheet=ev.sheet,
                                            reason=ev.reason)]
