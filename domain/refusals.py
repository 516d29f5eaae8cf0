"""Every refusal code of the domain: what it means and which field of the command it names.

Why a table: a back-end reads a refusal's `code` and `field` (issue 18 item 8), so each code must
say one thing — one code per kind of fault, whatever the command — and name the field to fix.
The deciders raise `DomainError(code=...)`; a raiser that knows the field better passes `field=`
(e.g. `details.origins[1]`), otherwise the field is the table's. `type` means the command itself:
it is not allowed in the case's current state (a *state* refusal, HTTP 409); any other field is a
value the rules refuse (HTTP 422). Codes of counterpart events (`unexpected_*`, `duplicate_*`...)
never answer a back-end's command: they are the reasons of `CounterpartEventRejected` on the feed.

The command service (`regions.core.commands.ERRORS`) publishes this table with its own codes (a
request refused before the domain sees it: `invalid_amount`, `unknown_item`...), and a test keeps
it equal to the codes the code can raise, so a new code without a line here fails the build.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from domain.kernel import DomainError

#: The field a state refusal names: the command (its `type`) is what is wrong now.
STATE: Final = "type"


@dataclass(frozen=True)
class Refusal:
    """One refusal code: its meaning for people and the field of the command it names."""

    meaning: str
    field: str = STATE

    @property
    def state(self) -> bool:
        return self.field == STATE


def _state(meaning: str) -> Refusal:
    return Refusal(meaning, STATE)


REFUSALS: Final[Mapping[str, Refusal]] = {
    # -- generic: a decider's refusal without a code of its own
    "illegal_command": _state("the command is not allowed in the case's current state"),
    "invalid_value": Refusal("a value of the command is not valid (the message says which)",
                             "type"),
    "not_applicable": _state("the command is not one this side of the case takes"),
    "unknown_command": _state("the command is not one this side of the case takes"),
    "policy_loop": _state("the node's automatic steps did not settle; report it"),
    # -- intake (受理)
    "already_submitted": _state("the application was already submitted"),
    "not_submitted": _state("no application has been submitted for this case"),
    "intake_decided": _state("intake was already decided (accepted, rejected...)"),
    "reason_required": Refusal("a refusal, rejection or denial states its reason (书面说明)",
                               "reason"),
    "supplement_already_requested": _state(
        "missing materials are asked for once, all at once (一次性告知)"),
    "supplement_incomplete": Refusal("the supplement lacks a kind of material asked for",
                                     "materials"),
    "invalid_person_key": Refusal("the person key is the node's keyed hash of the ID number "
                                  "and the masked number its masked form", "person_key"),
    "invalid_details": Refusal("the details do not fit the process: the field names what it "
                               "needs (details.origins, details.origin_region, "
                               "details.handling_region)", "details"),
    "same_region": Refusal("the counterpart region is this region", "details"),
    # -- casework every side keeps
    "case_closed": _state("the case is already finished here"),
    "cannot_withdraw": _state("the case can no longer be withdrawn"),
    "already_withdrawing": _state("the withdrawal is already on its way"),
    "already_decided": _state("the step was already decided"),
    "note_required": Refusal("the command needs a note saying what was done", "note"),
    "no_attention": _state("the case does not need attention"),
    "no_open_follow_up": _state("no follow-up is open for this case"),
    "not_completed": _state("a case is rated once it is finished"),
    "already_rated": Refusal("the case was already rated for this region", "rated_region"),
    "rate_elsewhere": _state("ratings are given through the region the applicant deals with"),
    "invalid_score": Refusal("a rating is a whole score from 1 to 5", "score"),
    "unknown_rated_region": Refusal("the rated region did not take part in this case",
                                    "rated_region"),
    "no_time_limit": _state("the step has no time limit to stop or resume"),
    # -- applications (online and proxy)
    "handled_elsewhere": _state("this step belongs to the other region of a proxy case "
                                "(收受分离)"),
    "already_forwarded": _state("the application was already forwarded"),
    "not_under_review": _state("nothing is waiting for a decision"),
    "nothing_to_deliver": _state("there is no result to send or deliver now"),
    "invalid_channel": Refusal("the result is not delivered by that channel", "channel"),
    "tracking_no_required": Refusal("what is sent by post (a result, originals, a personnel "
                                    "file) needs its tracking number", "tracking_no"),
    "originals_not_received": _state("the posted paper originals have not arrived: accept once "
                                     "they have (ConfirmOriginalsReceived)"),
    "no_originals_pending": _state("no paper originals were posted for this application"),
    "tracking_no_mismatch": Refusal("the tracking number is not the one the originals were "
                                    "posted with", "tracking_no"),
    # -- household moves: 落户, move types, 随迁
    "already_moved_out": _state("the origin has done 迁出登记 and 注销: the move completes; moving "
                                "back is a new application"),
    "no_certificate": _state("no 迁移证 is waiting for 落户"),
    "address_required": Refusal("落户 names the address registered", "address"),
    "move_conditions": Refusal("the move type's condition is not met: its evidence is missing "
                               "(ask for it, or deny)", "materials"),
    "companion_not_allowed": Refusal("this move type takes no family member of that relation "
                                     "(随迁)", "details.members"),
    # -- joint applications (多地联办 with a partner region)
    "already_answered": _state("the partner region already gave or declined its part"),
    "materials_required": Refusal("the partner's part is documents or a tracked dispatch",
                                  "materials"),
    "assistance_declined": _state("the partner region declined its part: the application can "
                                  "only be denied"),
    # -- transfers (destination)
    "wrong_process": Refusal("the command names another process than the case's", "process"),
    "invalid_origins": Refusal("an origin is named twice, or is the destination itself",
                               "details.origins"),
    "agency_required": Refusal("a veteran's pension transfer names the 军队经办机构 (its "
                               "部队代号)", "details.agency"),
    "invalid_agency": Refusal("a 部队代号 is five digits", "details.agency"),
    "base_out_of_range": Refusal("a year's contribution base lies outside 60 %–300 % of the "
                                 "local average wage the sheet states for it",
                                 "sheet.pooled_by_year"),
    "account_rate_exceeded": Refusal("a year books more to the individual account than its "
                                     "rate (11 % to 2005, 8 % from 2006: 国发〔2005〕38号)",
                                     "sheet.pooled_by_year"),
    "account_top_up_missing": Refusal("a year books less to the individual account than its "
                                      "rate: the 转出地 tops it up before the transfer",
                                      "sheet.pooled_by_year"),
    "wrong_benefit_region": Refusal("a pension transfer at retirement goes to the 待遇领取地 "
                                    "(国办发〔2009〕66号 第六条), which is another province",
                                    "details.stints"),
    "invalid_direction": Refusal("a two-way pension item (b1-10, b1-11) goes one of its own "
                                 "directions", "details.direction"),
    "switch_condition_unmet": Refusal("制度衔接 (人社部发〔2014〕17号): 城乡居民 → 职工 needs 15 "
                                      "years of 职工 contributions at the destination, 职工 → "
                                      "城乡居民 fewer than 15", "details.employee_months"),
    "single_origin_only": Refusal("this scheme's transfers have exactly one origin",
                                  "details.origins"),
    "relationship_taken_over": _state("the relationship was already taken over here; apply "
                                      "to transfer it back instead"),
    "relationship_not_taken_over": _state("the relationship has not been taken over yet"),
    "already_transferred": _state("an origin already sent its sheet or money: the transfer "
                                  "completes and a move back is a new application "
                                  "(已上传的结果信息不允许撤销)"),
    "operator_only": Refusal("only an operator may reverse a transfer", "actor.role"),
    "already_reversing": _state("the transfer is already being reversed"),
    "cannot_reverse": _state("the transfer can no longer be reversed here (not yet sent, taken "
                             "over or ended)"),
    "nothing_to_reverse": _state("no origin has sent anything yet: the applicant may withdraw"),
    "unknown_origin": Refusal("the region is not an origin of this case", "from_region"),
    "unknown_counterpart": Refusal("the region is not this case's counterpart", "from_region"),
    "bank_ref_required": Refusal("funds move with their bank reference", "bank_ref"),
    "duplicate_bank_ref": Refusal("this bank reference is already recorded for the case",
                                  "bank_ref"),
    "not_accepted": _state("the intake is not accepted yet: contact letters follow acceptance"),
    "funds_not_expected": _state("no funds are expected in the case's current state"),
    "no_benefit": _state("this scheme has no benefit to start"),
    "benefit_already_started": _state("the benefit has already started"),
    "invalid_period": Refusal("the benefit period is 1 to 24 months (失业保险条例 第十七条)",
                              "period_months"),
    # -- transfers (origin)
    "not_approved": _state("no info sheet before the transfer out is approved"),
    "awaiting_instruction": _state("the origin holds the transfer until the destination's "
                                   "instruction to proceed"),
    "insurance_not_suspended": Refusal("the insurance here is stopped (中止参保) before the "
                                       "transfer out: give the date", "suspended_on"),
    "nothing_to_remit": _state("nothing is to be remitted in the case's current state"),
    "amount_mismatch": Refusal("the remittance equals the info sheet's amount", "amount_fen"),
    # -- corrections (issue 15, item 5)
    "nothing_to_correct": _state("no info sheet can be corrected in the case's current state"),
    "too_many_corrections": _state("the sheet was corrected the most times one case allows (100)"
                                   ": a person decides the rest"),
    "sheet_unchanged": Refusal("a corrected info sheet differs from the one sent", "sheet"),
    "no_excess": _state("nothing was received beyond the origin's info sheet"),
    "correction_needed": _state("sheet and funds disagree: a correction, not a note, resolves "
                                "it (return the excess, a corrected sheet, the missing funds)"),
    # -- escalating and closing a transfer that needs attention (issue 13)
    "already_escalated": _state("the case was already escalated (督办) while it needs attention"),
    "already_ending": _state("the case is already ending (withdrawing, closing or refused): "
                             "escalate it if a counterpart does not answer"),
    "destination_owns_case": _state("the origin decided the transfer out: closing the case is "
                                    "the destination's (it may escalate)"),
    # -- info sheets (信息表)
    "invalid_sheet": Refusal("the info sheet is not one of this scheme (components, months)",
                             "sheet"),
    "invalid_contribution_year": Refusal("a contribution line has 1 to 12 months, a positive "
                                         "base (none when deemed), a kind the item allows, and "
                                         "at most 12 months a year", "sheet.years"),
    "months_mismatch": Refusal("the sheet's months are the sum of its years' months",
                               "sheet.months"),
    "pooled_part_mismatch": Refusal("the pooled part is 12 % of the yearly bases",
                                    "sheet.components"),
    "temporary_account_not_applicable": _state("the 临时缴费账户 rule (66号 第五条: men of 50, "
                                               "women of 40, moving to a province not the 户籍地, "
                                               "at intake, enterprise scheme) does not apply"),
    "individual_account_mismatch": Refusal("a veteran's individual account is 8 % of the "
                                           "yearly service wages", "sheet.components"),
    "refund_missing": Refusal("months paid twice are refunded to the person (清退): the sheet "
                              "states the refund as a memo line", "sheet.memo"),
    "no_money_under_one_year": Refusal("under 12 months of contributions only the relationship "
                                       "moves, no money", "sheet"),
    # -- household moves
    "already_checked": _state("the move-out request was already checked"),
    "not_held": _state("迁出登记 needs a checked, held request"),
    "not_refusable": _state("nothing to refuse in the case's current state"),
    "invalid_refusal_code": Refusal("the refusal code is not one of the listed codes", "code"),
    "permit_expired": _state("the 准迁证 expired"),
    "permit_still_valid": _state("the 准迁证 is still valid"),
    "not_permit_issued": _state("no permit is waiting to be sent"),
    "move_out_outstanding": _state("a move-out request is outstanding: the origin decides"),
    # -- per-person registers (in the same transaction as the step that implies them)
    "already_active": _state("the person's relationship in this scheme is already held here"),
    "already_in_transit": _state("a move-out of the person's relationship is already pending"),
    "not_active": _state("the person's relationship here has ended"),
    "not_in_transit": _state("no move-out of the person's relationship is pending"),
    "not_ended": _state("the person's relationship has not ended: nothing to reinstate"),
    "wrong_case": _state("the pending move-out belongs to another case"),
    # -- counterpart events (reasons of CounterpartEventRejected, never a command's answer)
    "already_received": _state("a counterpart sent the first message of the case twice"),
    "no_side": _state("a counterpart event that cannot open a side came first"),
    "not_a_first_event": _state("a counterpart event that cannot open a side came first"),
    "unexpected_event": _state("a counterpart event this side does not expect now"),
    "unexpected_answer": _state("a cancellation answer that was not asked for"),
    "unexpected_cancellation": _state("a cancellation that is not expected now"),
    "unexpected_info_sheet": _state("an info sheet that is not expected now"),
    "unexpected_instruction": _state("an instruction to proceed that is not expected now"),
    "unexpected_refusal": _state("a refusal that is not expected now"),
    "unexpected_reversal": _state("a reversal that is not expected now"),
    "unexpected_correction": _state("a corrected info sheet that is not expected now"),
    "correction_before_sheet": _state("a corrected info sheet before the sheet it corrects"),
    "unexpected_return": _state("returned money that is not expected now"),
    "answer_before_sheet": _state("a transfer-out answer before its info sheet"),
    "sheet_before_hold": _state("an info sheet before the origin's hold"),
    "sheet_before_proceed": _state("a transfer out without the destination's instruction"),
    "refusal_after_hold": _state("a refusal after the origin's hold"),
    "reversal_mismatch": _state("a reversal of another amount than was remitted"),
    "kept_inconsistent": _state("returned money keeping an amount no sheet of this side states"),
    "conclusion_inconsistent": _state("the destination's conclusion contradicts this side"),
    "duplicate_cancellation": _state("the case was already cancelled"),
    "duplicate_confirmation": _state("the origin already confirmed the contact letter"),
    "duplicate_contact_letter": _state("a second contact letter for one case"),
    "duplicate_info_sheet": _state("the origin already sent its info sheet"),
    "duplicate_vote": _state("the origin already answered"),
    "no_contact_letter": _state("a message for a case this region has no contact letter for"),
    "certificate_mismatch": _state("the receipt names another 迁移证"),
    "person_mismatch": _state("the 迁移证 names another person"),
}


def refusal(code: str) -> Refusal:
    """The table's entry for `code` (an unknown code reads as the generic state refusal)."""
    return REFUSALS.get(code) or REFUSALS["illegal_command"]


def field_of(error: DomainError) -> str:
    """The command's field a refusal names: the raiser's, else the table's."""
    return error.field or refusal(error.code).field
