"""The business rules a back-end must know, stated in the schemas of asyncapi.yaml (issue 18).

An outside team wrote a back-end from the document and learnt these only by refusal: what an
info sheet must hold in each scheme (finding 2), what `person_key` keys (5), where the
destination's bank notice comes from and that its reference is unique (6), and which catalogue
items exist with their processes and modes (13). Each text is built from the constants the
deciders and the admission check enforce, so it cannot drift from them; the rules stay in the
descriptions rather than as schema constraints because the schemas describe every encodable
payload (events of any history included), while the rules are what the node accepts now.
"""

from __future__ import annotations

from typing import Any

from domain.catalogue import load_catalogue
from domain.protocols import housing_fund, medical, pension_items, unemployment
from domain.protocols.pension_directions import DIRECTIONS, Direction
from domain.protocols.pension_items import PensionItem


def _names(components: tuple[str, ...]) -> str:
    return " and ".join(f"`{name}`" for name in components)


def _pension_rule(item: PensionItem, direction: Direction | None = None) -> str:
    rule = item.rule if direction is None else direction.rule
    parts = ["`years`: at least one line, at most 12 months a year over its lines (see "
             "`ContributionYear`); `months` is the sum of the paid and deemed lines' months"]
    if rule.pooled_rate is not None:
        start = "-".join(f"{n:02d}" for n in rule.pooled_from)
        parts.append(f"`pooled` = the sum over the years from {start} of "
                     f"{rule.pooled_rate * 100:.0f} % × months × `monthly_base_fen` of the paid "
                     "lines, each year rounded half-up to the fen before summing; "
                     "`pooled_by_year`, where given, lists each such year's `wage_fen` and "
                     "`pooled_fen` and is checked line by line; a line stating "
                     "`average_wage_fen` holds each paid base of its year within 60 %–300 % of "
                     "it (`base_out_of_range`)")
    if rule.paid_before_start_refused:
        parts.append(f"no paid line before {rule.pooled_from[0]} (earlier service is deemed)")
    if rule.account_rates:
        rates = ", ".join(f"{r * 100:.0f} % from {y}" for y, r in rule.account_rates)
        parts.append(f"a yearly line stating `account_fen` books exactly {rates} of its "
                     "`wage_fen`, rounded half-up (`account_rate_exceeded`, "
                     "`account_top_up_missing`), and `individual_account` ≥ the bookings")
    if rule.account_rate is not None:
        parts.append(f"`individual_account` = {rule.account_rate * 100:.0f} % of the same wages, "
                     "rounded the same way")
    else:
        parts.append("`individual_account` is the origin's balance as its books hold it (≥ 0)")
    if "refund_to_person" in rule.memo:
        parts.append("`refunded` lines (months paid in both schemes) do not count and need the "
                     "memo line `refund_to_person` > 0 (清退)")
    if rule.memo:
        parts.append(f"`memo` may hold {_names(rule.memo)} (no money moves for it)")
    if not rule.months_counted:
        parts.append("`months` is 0: these years are not counted at the destination")
    if rule.months_below is not None:
        parts.append(f"counted `months` below {rule.months_below} (`switch_condition_unmet`)")
    if direction is not None and direction.employee_months_from:
        parts.append(f"the application states `details.employee_months` ≥ "
                     f"{direction.employee_months_from} (the destination's 职工 months)")
    if item.counterpart == "military_agency":
        parts.append("the application names the 军队经办机构 (`details.agency`, a five-digit "
                     "部队代号) and one relay region (`details.origins`)")
    which = item.item_id if direction is None else (
        f"{item.item_id}, `details.direction` = `{direction.name}`, {direction.label}")
    return (f"| `{item.process}` ({which}) | exactly {_names(rule.components)} | "
            + "; ".join(parts) + " |")


def _pension_rows(item: PensionItem) -> list[str]:
    """One row per item, and one per direction of a two-way item (b1-10, b1-11)."""
    return [_pension_rule(item), *(_pension_rule(item, d)
                                   for d in DIRECTIONS.get(item.item_id, ()))]


def _sheet_rules() -> str:
    return "\n".join([
        "信息表: what an origin transfers — months, amounts by component, the lines that move no "
        "money (`memo`) and (pension) the years. The node refuses a sheet that breaks its "
        "scheme's rule (`invalid_sheet`, `invalid_contribution_year`, `months_mismatch`, "
        "`pooled_part_mismatch`, `individual_account_mismatch`, `refund_missing`, "
        "`base_out_of_range`, `account_rate_exceeded`, `account_top_up_missing`, "
        "`no_money_under_one_year`); every component is listed once, amounts are whole fen.", "",
        "| process | components | rule |", "|---|---|---|",
        *(row for item in pension_items.ITEMS for row in _pension_rows(item)),
        f"| `{unemployment.PROCESS}` | some of {_names(unemployment.COMPONENTS)} | no `years`; "
        f"under {unemployment.MONEY_THRESHOLD_MONTHS} months every amount is 0 (only the "
        "relationship moves) |",
        f"| `{medical.PROCESS}` | {_names(medical.COMPONENTS)} | no `years`; `months` ≥ 1 |",
        f"| `{housing_fund.PROCESS}` | some of {_names(housing_fund.COMPONENTS)} | no `years`; "
        "the amounts sum to more than 0 |",
        "", "The sheet's amount is the sum of its components (never its memo lines): the origin "
        "remits exactly that (`RemitFunds.amount_fen`, `amount_mismatch` otherwise)."])


_YEAR = ("One line of a pension record: `year`, `months` 1 to 12, `monthly_base_fen` the "
         "monthly contribution base, and `kind`: `paid` (base positive), `deemed` (视同缴费: "
         "months that count without money, base 0) or `refunded` (制度衔接 only: months paid in "
         "both schemes, refunded to the person). A year may take several lines (one per base), "
         "at most 12 months in all (`invalid_contribution_year` otherwise).")

_PERSON_KEY = (
    "The person's key in the per-person relationship register: the node's keyed hash "
    "(HMAC with the federation's register secret) of the 居民身份证号, derived by the node from "
    "`applicant_id` and never sent by a back-end. A scheme's relationship is held by one region "
    "at a time: a second transfer of the same person from a region that no longer holds it is "
    "refused `not_active`, one already moving `already_in_transit`.")

_FUNDS_RECEIVED = (
    "The destination's bank notice (到账通知) of money an origin remitted, as its finance staff "
    "or bank interface read it from the destination's own bank — never from the origin's sheet: "
    "`from_region` the remitting origin, `amount_fen` and `bank_ref` as the bank reports them, "
    "`value_date` the bank's value date (within a year of today, `invalid_date`). A `bank_ref` "
    "is recorded once per case (`duplicate_bank_ref`; `bank_ref_required` when empty); the "
    "amount is positive (`invalid_amount`). Once an origin's sheet and its money are both in, "
    "the node reconciles them by itself: equal amounts let the case complete by itself when "
    "every origin is settled; a difference needs a person (status `needs_attention`).")

_REMIT = (
    "基金划转: the origin's treasury remits the sheet's amount (`amount_mismatch` otherwise) "
    "under its bank's transfer reference `bank_ref`, which the destination's bank notice "
    "(`RecordFundsReceived`) will carry.")


_ACTOR = (
    "Who caused an event: staff (id, role, region, window), the applicant, a policy of the node "
    "(`system`), a back-end. In a command: never `system` (the node's own; `forbidden_actor`); "
    "a `backend` actor is the sending back-end itself (`id` = the name in its subject; another "
    "is `forbidden_actor`); staff and applicants may be recorded by a back-end (the window "
    "system names the clerk). `region` is the region acted for: a GB/T 2260 code "
    "(`invalid_region`) and the commanded region's (`wrong_region`).")

_MODE = (
    "How the application is handled: `online`, `proxy` (taken here, decided by "
    "`details.handling_region`), `joint` (decided here with a partner or counterpart region) "
    "or `local`; one of the item's modes (the `item_id` table; `invalid_mode` otherwise). "
    "Which `details` each mode takes is stated on `Submit`.")

_PROCESS = (
    "The item's process (`item_process_mismatch` otherwise), equal to the request's `process` "
    "(`invalid_field`), and one this region runs (`unknown_process`).")

_CASE_NUMBER = (
    "The new case's number, `<region>-<yyyymmdd>-<10 Crockford base32>`, equal to the "
    "request's `case_number`: its region is the commanded region (`wrong_region`), its date "
    "the day the application is taken, its serial random (the case's id derives from the "
    "number). A number already used for a case of another process here is `case_exists`; "
    "the same application again is a retry under the same `command_id` and "
    "`already_submitted` under another.")


def _items(item_id: dict[str, Any]) -> None:
    items = list(load_catalogue().items)
    item_id["examples"] = [next(i.id for i in items if i.process == pension_items.ITEMS[0].process)]
    rows = [f"| `{i.id}` | {i.name.replace('|', '/')} | `{i.process}` | {', '.join(i.modes)} | "
            f"{i.level or '—'} |" for i in items]
    item_id["description"] = "\n".join([
        "The catalogue item (跨省通办 事项) applied for (`unknown_item` otherwise). Its process "
        "must be the request's (`item_process_mismatch`) and its mode one the item is handled "
        "in (`invalid_mode`); a proxy application goes to the office at the item's level "
        "(`handling_level`).", "",
        "| item | name | process | modes | level |", "|---|---|---|---|---|", *rows])


def add_rules(document: dict[str, Any]) -> dict[str, Any]:
    """State the rules in the document's schemas (in place); the document."""
    schemas = document["components"]["schemas"]
    schemas["InfoSheet"]["description"] = _sheet_rules()
    schemas["ContributionYear"]["description"] = _YEAR
    schemas["RecordFundsReceived"]["description"] = _FUNDS_RECEIVED
    schemas["RemitFunds"]["description"] = _REMIT
    for schema in schemas.values():
        key = schema.get("properties", {}).get("person_key")
        if key is not None:
            key["description"] = _PERSON_KEY
    schemas["Actor"]["description"] = _ACTOR
    submit = schemas["Submit"]["properties"]
    submit["mode"]["description"] = _MODE
    submit["process"]["description"] = _PROCESS
    submit["case_number"]["description"] = _CASE_NUMBER
    _items(submit["item_id"])
    return document
