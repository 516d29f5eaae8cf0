"""A region's pension back-end written from `asyncapi.yaml` alone, as an outside team would.

Issue 18: back-ends are one of the product's three users and the contract is their product, so
CI proves the document sufficient: this module reads only the YAML (subjects, stream names,
schemas, rules stated in descriptions) and uses nothing but the standard library, nats-py, PyYAML
and jsonschema — never the project's Python (`test_contract_backend` holds it to that). Every
message it sends is checked against the document before it goes, and every message the node
sends it (command replies, feed events and the event data inside them) against the document's
schemas, so a message that drifts from the contract fails the test.

What it does, per the document: a destination (转入地) back-end submits an application naming
its origin, accepts it (受理) when the feed shows `ApplicationSubmitted`, and records the bank's
notice of the money (`RecordFundsReceived`) when the origin's info sheet arrives; an origin (转出地)
back-end approves the transfer out on `ContactLetterReceived`, issues the info sheet computed by
the document's rule (`InfoSheet`) and remits it. The bank is shared by the two back-ends here:
the origin's remittance is what the destination's bank notices, under the same reference.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import nats
import yaml
from jsonschema import Draft7Validator
from nats.aio.client import Client
from nats.js import JetStreamContext

CST = dt.timezone(dt.timedelta(hours=8))
#: The catalogue's item for 企业职工基本养老保险关系转移接续 (Submit.item_id's table).
PENSION_ITEM = "b1-7"
PENSION = "pension_transfer"


class ContractViolation(AssertionError):
    """A message that does not match the document."""


class Contract:
    """The parts of asyncapi.yaml a back-end needs, and validation against its schemas."""

    def __init__(self, path: Path) -> None:
        self.document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.components: dict[str, Any] = self.document["components"]
        self.checked: dict[str, int] = {}

    def channel(self, name: str) -> dict[str, Any]:
        channel: dict[str, Any] = self.document["channels"][name]
        return channel

    def command_subject(self, region: str, backend: str) -> str:
        return str(self.channel("regionCommands")["address"]).format(region=region,
                                                                     backend=backend)

    def feed_stream(self, region: str) -> str:
        return str(self.channel("regionFeed")["x-jetstream"]["stream"]).format(region=region)

    def schema(self, name: str) -> dict[str, Any]:
        schema: dict[str, Any] = self.components["schemas"][name]
        return schema

    def check(self, what: str, schema: Mapping[str, Any], instance: Any) -> None:
        """`instance` is valid against `schema`, whose `$ref`s point into the document."""
        validator = Draft7Validator({**schema, "components": self.components})
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            raise ContractViolation(
                f"{what} does not match asyncapi.yaml: "
                + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors[:5])
                + f"\n{json.dumps(instance, ensure_ascii=False)[:2000]}")
        self.checked[what] = self.checked.get(what, 0) + 1

    def check_error(self, error: Mapping[str, Any]) -> None:
        """A refusal names the field the document's code table gives for its code (or a part
        of it: `command.details.origins[1]` for `command.details.origins`)."""
        codes = self.schema("CommandError")["properties"]["code"]["x-codes"]
        documented = str(codes[error["code"]]["field"])
        if documented.startswith(("command.", "case_id", "command_id")) and not str(
                error["field"]).startswith(documented):
            raise ContractViolation(f"{error['code']} names {error['field']!r}, the document "
                                    f"{documented!r}")
        self.checked["CommandError field"] = self.checked.get("CommandError field", 0) + 1

    def check_message(self, name: str, payload: Any) -> None:
        self.check(name, self.components["messages"][name]["payload"], payload)

    def check_feed_message(self, events: Any, headers: Mapping[str, str]) -> None:
        """The batch of CloudEvents envelopes, its headers, and each event's data against the
        event's own schema."""
        message = self.components["messages"]["FeedEvent"]
        self.check("FeedEvent", message["payload"], events)
        self.check("FeedEvent headers", message["headers"], dict(headers))
        for event in events:
            name = str(event["type"]).rsplit(".", 1)[-1]
            self.check(f"FeedEvent data {name}", self.schema(name), event["data"])


def pension_sheet(individual_account_fen: int,
                  years: list[tuple[int, int, int]]) -> dict[str, Any]:
    """The info sheet as `InfoSheet` states the pension rule: exactly the two components; years
    from 1998 with 1-12 months; `months` their sum; pooled = Σ per year of 12 % × months × monthly
    base, each year rounded half-up to the fen."""
    pooled = sum(int((Decimal(months * base) * Decimal("0.12")).quantize(
        Decimal(1), rounding=ROUND_HALF_UP)) for _, months, base in years)
    return {"months": sum(months for _, months, _ in years),
            "components": [{"name": "individual_account", "amount_fen": individual_account_fen},
                           {"name": "pooled", "amount_fen": pooled}],
            "years": [{"year": y, "months": m, "monthly_base_fen": b} for y, m, b in years]}


@dataclass
class Bank:
    """The banks of both regions: what an origin remits, the destination's bank notices."""

    transfers: dict[tuple[str, str], tuple[int, str, str]] = field(default_factory=dict)

    def remit(self, case_id: str, origin: str, amount_fen: int) -> str:
        ref = f"BK{abs(hash((case_id, origin))) % 10**12:012d}"
        self.transfers[(case_id, origin)] = (amount_fen, ref,
                                             dt.datetime.now(CST).date().isoformat())
        return ref


def new_case_number(region: str) -> str:
    """A new case's number as `CommandRequest.case_number`'s pattern states it: the region, its
    local date, ten Crockford base32 characters drawn at random."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    serial = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{region}-{dt.datetime.now(CST):%Y%m%d}-{serial}"


class CommandRefused(Exception):
    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(f"{error['code']} ({error['field']}): {error['message']}")
        self.code, self.field = str(error["code"]), str(error["field"])


class PensionBackend:
    """One region's pension back-end: commands over request/reply, the feed on its durable."""

    def __init__(self, contract: Contract, url: str, region: str, name: str, bank: Bank,
                 records: Mapping[str, tuple[int, list[tuple[int, int, int]]]]) -> None:
        self.contract, self.url, self.region, self.name = contract, url, region, name
        self.bank, self.records = bank, records
        self.actor = {"kind": "backend", "id": name, "region": region}
        self.seen: list[tuple[str, str]] = []  # (case id, event type) from the feed
        self.statuses: dict[str, str] = {}  # case id -> last Outcome.status replied
        self.handled: dict[str, int] = {}  # originatorid -> last originatorversion handled
        self.sides: dict[tuple[str, str], str] = {}  # (case id, region) -> originatorid
        self.gaps: list[tuple[str, range]] = []  # (originatorid, the versions never delivered)
        self.snapshots: dict[str, dict[str, Any]] = {}  # case id -> a CaseState queried
        self._nc: Client | None = None
        self._sub: JetStreamContext.PullSubscription | None = None

    async def connect(self) -> None:
        self._nc = await nats.connect(self.url, name=f"contract-{self.region}-{self.name}",
                                      inbox_prefix=f"_INBOX_{self.region}_{self.name}")
        self._sub = await self._nc.jetstream().pull_subscribe_bind(
            self.name, self.contract.feed_stream(self.region))

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()

    # ------------------------------------------------------------------ commands

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """One `CommandRequest`, its `CommandReply`; both checked against the document."""
        assert self._nc is not None
        self.contract.check_message("CommandRequest", body)
        msg = await self._nc.request(self.contract.command_subject(self.region, self.name),
                                     json.dumps(body, ensure_ascii=False).encode(), timeout=10)
        reply: dict[str, Any] = json.loads(msg.data)
        self.contract.check_message("CommandReply", reply)
        if not reply["ok"]:
            self.contract.check_error(reply["error"])
            raise CommandRefused(reply["error"])
        outcome: dict[str, Any] = reply["outcome"]
        self.statuses[outcome["case_id"]] = outcome["status"]
        return outcome

    async def command(self, case_id: str, step: str, command: dict[str, Any]) -> dict[str, Any]:
        """A command under a deterministic id (`<name>:<case>:<step>`): a redelivered event
        sends the same id and gets the stored outcome."""
        return await self.request({"command_id": f"{self.name}:{case_id}:{step}",
                                   "case_id": case_id,
                                   "command": {**command, "actor": self.actor}})

    async def apply(self, case_number: str, applicant_id: str, origins: list[str]) -> str:
        """The applicant's application for a pension transfer from `origins`; the case id."""
        outcome = await self.request({
            "command_id": f"{self.name}:apply:{case_number}", "case_id": None,
            "case_number": case_number, "process": PENSION,
            "command": {"type": "Submit", "actor": self.actor, "case_number": case_number,
                        "process": PENSION, "item_id": PENSION_ITEM, "mode": "joint",
                        "channel": "backend", "applicant_id": applicant_id,
                        "details": {"origins": origins}}})
        return str(outcome["case_id"])

    async def query(self, case_id: str) -> dict[str, Any]:
        """The case's state at this region (`CaseQuery` on the command subject)."""
        assert self._nc is not None
        body = {"query": "case", "case_id": case_id}
        self.contract.check_message("CaseQuery", body)
        msg = await self._nc.request(self.contract.command_subject(self.region, self.name),
                                     json.dumps(body).encode(), timeout=10)
        reply: dict[str, Any] = json.loads(msg.data)
        self.contract.check_message("CaseStateReply", reply)
        if not reply["ok"]:
            raise CommandRefused(reply["error"])
        case: dict[str, Any] = reply["case"]
        return case

    # ------------------------------------------------------------------ the feed

    async def poll(self, batch: int = 16) -> int:
        """Fetch, check, handle and ack one batch; the number handled."""
        assert self._sub is not None
        try:
            msgs = await self._sub.fetch(batch, timeout=0.3)
        except (TimeoutError, nats.errors.TimeoutError):
            return 0
        for msg in msgs:
            events = json.loads(msg.data)
            self.contract.check_feed_message(events, msg.headers or {})
            for event in events:  # one commit's events of one process, in log order
                side, version = str(event["originatorid"]), int(event["originatorversion"])
                self.sides[(str(event["caseid"]), str(event["region"]))] = side
                if version <= self.handled.get(side, 0):
                    continue  # a repeat (at-least-once)
                if version > self.handled.get(side, 0) + 1:  # the document: a loss
                    self.gaps.append((side, range(self.handled.get(side, 0) + 1, version)))
                await self.handle(event)
                self.handled[side] = version
            await msg.ack()
        return len(msgs)

    async def unseen(self, case_id: str) -> range:
        """The versions of this region's side of `case_id` the feed never delivered here, by
        the document's rule for a lost last message: the case query's `version` (the side's
        last `originatorversion`) above the last one handled. Asked once the feed is drained
        and `ack_wait` has passed, so nothing is merely still on its way."""
        known = (await self.query(case_id))["version"]
        side = self.sides.get((case_id, self.region), "")
        return range(self.handled.get(side, 0) + 1, int(known) + 1)

    async def handle(self, event: Mapping[str, Any]) -> None:
        if event["process"] != PENSION or event["region"] != self.region:
            return
        case_id, data = str(event["caseid"]), event["data"]
        kind = str(event["type"]).rsplit(".", 1)[-1]
        self.seen.append((case_id, kind))
        if kind == "ApplicationSubmitted":
            await self.command(case_id, "accept", {"type": "AcceptIntake"})
        elif kind == "ContactLetterReceived":
            self.snapshots[case_id] = await self.query(case_id)  # what it holds before deciding
            approved = await self.command(case_id, "approve", {"type": "ApproveTransferOut"})
            if approved["status"] == "approved":  # one origin: transfer out at once
                await self.transfer_out(case_id)
        elif kind == "InfoSheetReceived":
            origin = str(data["from_region"])
            total = sum(int(c["amount_fen"]) for c in data["sheet"]["components"])
            if total > 0:
                amount, ref, value_date = self.bank.transfers[(case_id, origin)]
                assert amount == total, (amount, total)
                await self.command(case_id, f"funds-{origin}", {
                    "type": "RecordFundsReceived", "from_region": origin, "amount_fen": amount,
                    "bank_ref": ref, "value_date": value_date})

    async def transfer_out(self, case_id: str) -> None:
        individual, years = self.records[case_id]
        sheet = pension_sheet(individual, years)
        issued = await self.command(case_id, "sheet", {"type": "IssueInfoSheet", "sheet": sheet})
        if issued["status"] == "remitting":
            amount = sum(c["amount_fen"] for c in sheet["components"])
            await self.command(case_id, "remit", {
                "type": "RemitFunds", "amount_fen": amount,
                "bank_ref": self.bank.remit(case_id, self.region, amount)})


async def run_until(backends: list[PensionBackend], done: Any, timeout: float = 30.0) -> None:
    """Poll every back-end's feed until `done()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        if loop.time() > deadline:
            raise AssertionError("the back-ends did not finish: "
                                 f"{[(b.region, b.statuses, b.seen) for b in backends]}")
        for backend in backends:
            await backend.poll()
