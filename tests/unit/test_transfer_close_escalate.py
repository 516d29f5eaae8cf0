"""Resolving a transfer's needs_attention beyond retry and correct (issue 13, "resolve
needs_attention (retry, correct, escalate, close with a reason)"; issue 15 "Corrections"):

- **Escalate** (督办 raised by staff): the side keeps needing attention and carries the staff
  member's reason, for the supervisors' queue; once per episode of attention.
- **Close with a reason**: the destination (转入地, which owns the case) ends a stuck transfer;
  the origins learn it over the link, release what they hold, and both sides end in an allowed
  terminal pair. Money or a sheet already moved is never closed away: the transfer completes
  (corrected if need be) or an operator reverses it. An origin ends its side only by refusing
  while it has not decided; after that the case is the destination's to close.
"""

from __future__ import annotations

import datetime as dt
import random

from domain.protocols import pension
from domain.protocols.casework_events import EscalateAttention
from domain.protocols.transfer import (
    ApproveTransferOut,
    CloseTransfer,
    ContributionYear,
    IssueInfoSheet,
    RemitFunds,
)
from tests.fixtures.transfers import TRANSFERS, TransferWorld, accepted_case, staff

DEST, ORIGIN, OTHER = "150600", "610800", "640100"
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])


def stuck(origins: tuple[str, ...] = (ORIGIN,)) -> tuple[TransferWorld, str]:
    """An accepted transfer whose waits ran out on every side (nobody answered for months)."""
    world, case = accepted_case(TRANSFERS, "pension_transfer", origins, DEST)
    world.now += dt.timedelta(days=120)
    world.fire_timers()
    assert world.status(case, DEST) == "needs_attention"
    return world, case


def refusal(world: TransferWorld) -> str:
    return world.last_refusal.split(":")[0]


def test_staff_escalate_a_stuck_transfer_with_their_reason_and_it_still_needs_attention() -> None:
    world, case = stuck()
    events = world.act(case, DEST, EscalateAttention(actor=staff(DEST),
                                                     reason="转出地超期未办理，请督办"))
    assert [(e.TYPE, getattr(e, "reason", "")) for e in events] == [
        ("AttentionEscalated", "转出地超期未办理，请督办")]
    assert events[0].actor == staff(DEST)
    assert world.status(case, DEST) == "needs_attention"
    side = world.sides[(case, DEST)]
    assert world.execute(side, EscalateAttention(actor=staff(DEST), reason="再次督办")) is None
    assert refusal(world) == "already_escalated"
    assert world.execute(world.sides[(case, ORIGIN)],
                         EscalateAttention(actor=staff(ORIGIN), reason=" ")) is None
    assert refusal(world) == "reason_required"


def test_only_a_side_that_needs_attention_is_escalated() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    assert world.execute(world.sides[(case, DEST)],
                         EscalateAttention(actor=staff(DEST), reason="督办")) is None
    assert refusal(world) == "no_attention"


def test_the_destination_closes_a_stuck_transfer_and_the_origins_end_consistently() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN, OTHER), DEST)
    world.act(case, OTHER, ApproveTransferOut(actor=staff(OTHER)))  # OTHER holds (two phases)
    world.now += dt.timedelta(days=120)  # ORIGIN never answers
    world.fire_timers()
    assert world.status(case, DEST) == "needs_attention"
    world.act(case, DEST, CloseTransfer(actor=staff(DEST), reason="申请人已在转出地退休，无需转移"))
    world.drain(diligent_steps=0)
    assert world.status(case, DEST) == "closed"
    assert {world.status(case, o) for o in (ORIGIN, OTHER)} == {"released"}
    closed = [e for e in world.sides[(case, DEST)].events if e.TYPE == "TransferCaseClosed"]
    assert [(e.outcome, e.reason) for e in closed] == [  # type: ignore[attr-defined]
        ("closed", "申请人已在转出地退休，无需转移")]
    assert not world.at_rest()  # terminal pairs, relationships, conservation: all hold


def test_a_close_before_the_contact_letters_ends_the_case_at_once() -> None:
    world = TransferWorld(TRANSFERS, random.Random(7))
    case = world.submit("pension_transfer", "e1" * 32, DEST, (ORIGIN,), 1)
    world.now += dt.timedelta(days=120)
    world.fire_timers()
    assert world.status(case, DEST) == "needs_attention"
    world.act(case, DEST, CloseTransfer(actor=staff(DEST), reason="申请人联系不上"))
    assert world.summary(case, DEST).terminal and world.status(case, DEST) == "closed"
    assert not world.network and not world.at_rest()


def test_no_close_once_a_sheet_or_money_has_come_the_transfer_completes_instead() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen + 500, "B-1")  # mismatch: needs attention
    assert world.status(case, DEST) == "needs_attention"
    assert world.execute(world.sides[(case, DEST)],
                         CloseTransfer(actor=staff(DEST), reason="对不上账")) is None
    assert refusal(world) == "already_transferred"


def test_only_a_side_that_needs_attention_is_closed_and_a_close_states_its_reason() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    assert world.execute(world.sides[(case, DEST)],
                         CloseTransfer(actor=staff(DEST), reason="关闭")) is None
    assert refusal(world) == "no_attention"
    world, case = stuck()
    assert world.execute(world.sides[(case, DEST)],
                         CloseTransfer(actor=staff(DEST), reason="  ")) is None
    assert refusal(world) == "reason_required"


def test_a_close_racing_a_transfer_out_lets_the_money_complete_the_transfer() -> None:
    """The origin's sheet and money were on their way when the destination closed: nothing
    vanishes — that origin answers `already_transferred` and the transfer completes."""
    world, case = stuck()
    origin = world.sides[(case, ORIGIN)]
    assert world.execute(origin, ApproveTransferOut(actor=staff(ORIGIN)))
    assert world.execute(origin, IssueInfoSheet(actor=staff(ORIGIN), sheet=SHEET))
    assert world.execute(origin, RemitFunds(actor=staff(ORIGIN), amount_fen=SHEET.amount_fen,
                                            bank_ref="R-1"))
    assert world.execute(world.sides[(case, DEST)],
                         CloseTransfer(actor=staff(DEST), reason="转出地长期未响应"))
    world.run_policies()
    world.deliver_all()
    world.drain(diligent_steps=0)
    dest = world.summary(case, DEST)
    assert (dest.status, dest.amount_credited) == ("completed", SHEET.amount_fen)
    assert world.status(case, ORIGIN) == "transferred_out"
    assert not world.at_rest()


def test_an_origin_closes_only_by_refusing_before_it_decided() -> None:
    world, case = stuck()
    assert world.status(case, ORIGIN) == "needs_attention"
    world.act(case, ORIGIN, CloseTransfer(actor=staff(ORIGIN), reason="查无此人参保记录"))
    world.drain(diligent_steps=0)
    refused = [e for e in world.sides[(case, ORIGIN)].events if e.TYPE == "TransferOutRefused"]
    assert [e.reason for e in refused] == ["查无此人参保记录"]  # type: ignore[attr-defined]
    assert world.status(case, DEST) == "refused_by_origin"
    assert not world.at_rest()


def test_after_its_decision_an_origin_leaves_closing_to_the_destination() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    world.now += dt.timedelta(days=120)
    world.fire_timers()
    assert world.status(case, ORIGIN) == "needs_attention"
    assert world.execute(world.sides[(case, ORIGIN)],
                         CloseTransfer(actor=staff(ORIGIN), reason="关闭")) is None
    assert refusal(world) == "destination_owns_case"
