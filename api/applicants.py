"""What an applicant may do over HTTP, for the pages and the JSON API alike: apply, and look a
case up with its number and query code.

The query code (查询码): 10 Crockford base32 characters (50 bits) = HMAC-SHA256 of the case
number under the federation's register key, which every participating node already holds (it
keys the person registers). So any node of the case can check a code without storing one, and
nobody without the key can derive it. It is compared in constant time, and failures are
rate-limited per case and per client address. Issue 13 asks for a salted hash stored in the case
events; the keyed derivation gives the same guarantees (≥ 40 bits, checkable at every
participating node, never stored in plaintext) without a new event field — the trade is that
rotating the register key changes every code, which the key's rotation procedure must announce.

Writes go through the node's one command service on its database thread, as a back-end's do:
the principal is `web:applicant`, the actor the applicant (masked by the node).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Annotated

from fastapi import Header

from domain.calendar import china_date
from domain.kernel import Actor, InvalidValue
from domain.protocols.casework_events import Rate
from domain.protocols.intake import ProvideSupplement, Withdraw
from domain.protocols.transfer import application
from domain.values import CaseNumber, CitizenId, MaterialRef, RegionCode
from regions.core.commands import CommandRequest, CommandResult, CommandService
from regions.runtime.driver import NodeDriver

#: The transfers an applicant starts alone, online, at the 转入地: every money transfer whose
#: application needs only the 转出地. The veteran's transfer (b1-12) names a military agency and
#: its relay region, which a window officer checks, so it is applied for at the window.
ONLINE_TRANSFERS = frozenset({
    "pension_transfer", "resident_pension_transfer", "institution_pension_transfer",
    "institution_enterprise_pension_transfer", "pension_scheme_switch",
    "unemployment_transfer", "medical_transfer",
})

PRINCIPAL = "web:applicant"
#: The header an applicant's API call carries the code in. Optional: a call without it is
#: refused like a wrong code (403, counted by the throttle), not answered as a malformed request.
QueryCode = Annotated[str, Header(max_length=32, description="查询码 given with the case number")]
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
#: Failed look-ups allowed per case and per client address in `WINDOW_SECONDS`.
MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60


def query_code(register_key: bytes, case_number: str) -> str:
    digest = hmac.new(register_key, f"tongban:query:{case_number}".encode(), hashlib.sha256)
    bits = int.from_bytes(digest.digest()[:8], "big") >> (64 - 5 * CODE_LENGTH)
    return "".join(_CROCKFORD[(bits >> s) & 0x1F] for s in range(5 * (CODE_LENGTH - 1), -1, -5))


def code_matches(register_key: bytes, case_number: str, code: str) -> bool:
    """Constant-time: does `code` open `case_number`?"""
    return bool(code) and hmac.compare_digest(query_code(register_key, case_number).encode(),
                                              normalise_code(code).encode())


def normalise_code(text: str) -> str:
    """What people type: lower case, spaces, dashes, O for 0 and I/L for 1 are forgiven."""
    text = text.strip().upper().replace(" ", "").replace("-", "")
    return text.translate(str.maketrans("OIL", "011"))[:32]


class Throttle:
    """Failed look-ups per key in a sliding window (memory; one node's view is enough: a guesser
    needs ~2^49 tries and gets `MAX_FAILURES` per quarter hour per case)."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        for key in keys:
            seen = self._failures.get(key)
            while seen and now - seen[0] > self.window:
                seen.popleft()
            if seen and len(seen) >= self.limit:
                return True
        return False

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 100_000:  # bounded: forget the oldest keys
            for key in list(self._failures)[:50_000]:
                del self._failures[key]


def last_four_matches(masked: str, given: str) -> bool:
    """The applicant proves who they are with the ID number's last four characters, against the
    masked form the case holds (its last four are kept); constant time, X in either case."""
    return len(masked) >= 4 and hmac.compare_digest(masked[-4:].upper().encode(),
                                                    given.strip().upper()[-4:].encode())


async def withdraw(driver: NodeDriver, service: CommandService | None, *, case_id: str,
                   masked: str, reason: str, request_id: str) -> CommandResult:
    """The applicant withdraws (撤回) at the region that took the application."""
    if service is None:
        raise InvalidValue("the node is not the active worker", field="")
    region = driver.region.code
    command = Withdraw(actor=Actor("applicant", masked, region), reason=reason[:200])
    request = CommandRequest(command_id=f"web:withdraw:{request_id}", principal=PRINCIPAL,
                             command=command, case_id=case_id)
    return await driver.db(service.handle, request, driver.now())


async def supplement(driver: NodeDriver, service: CommandService | None, *, case_id: str,
                     masked: str, materials: tuple[MaterialRef, ...],
                     request_id: str) -> CommandResult:
    """补正: the materials asked for, already in the region's blob store (the references)."""
    if service is None:
        raise InvalidValue("the node is not the active worker", field="")
    command = ProvideSupplement(actor=Actor("applicant", masked, driver.region.code),
                                materials=materials)
    request = CommandRequest(command_id=f"web:supplement:{request_id}", principal=PRINCIPAL,
                             command=command, case_id=case_id)
    return await driver.db(service.handle, request, driver.now())


async def rate(driver: NodeDriver, service: CommandService | None, *, case_id: str, masked: str,
               score: int, comment: str, rated_region: str, request_id: str) -> CommandResult:
    """好差评 through the region the applicant dealt with: one per case and rated region, once
    the case is finished; `rated_region` "" rates this region (the protocol decides the rest)."""
    if service is None:
        raise InvalidValue("the node is not the active worker", field="")
    region = driver.region.code
    command = Rate(actor=Actor("applicant", masked, region), score=score,
                   comment=comment.strip()[:500], rated_region=rated_region)
    request = CommandRequest(command_id=f"web:rate:{request_id}", principal=PRINCIPAL,
                             command=command, case_id=case_id)
    return await driver.db(service.handle, request, driver.now())


@dataclass(frozen=True)
class Applied:
    case_number: str
    query_code: str
    result: CommandResult


async def apply_for_transfer(driver: NodeDriver, service: CommandService | None, *, item_id: str, process: str,
                             applicant_id: str, origin: str, register_key: bytes,
                             request_id: str) -> Applied:
    """A transfer application at this node (转入地) from `origin` (转出地).

    `request_id` is the browser's idempotency key (a hidden form field, or the API's
    `Idempotency-Key`): a double submit opens one case and answers the same number. Input errors
    raise `InvalidValue` naming the field before anything is recorded.
    """
    region = driver.region.code
    try:
        citizen = CitizenId.parse(applicant_id)
    except InvalidValue as exc:
        raise InvalidValue(str(exc), field="applicant_id") from None
    try:
        RegionCode.parse(origin)
    except InvalidValue as exc:
        raise InvalidValue(str(exc), field="origin") from None
    if origin == region:
        raise InvalidValue("转出地不能是本地", field="origin")
    request_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"tongban:web:{region}:{request_id}")
    number = CaseNumber.new(RegionCode(region), china_date(driver.now()), request_uuid)
    actor = Actor("applicant", citizen.masked, region)
    command = application(process, number, "", [origin], actor, item_id=item_id,
                          channel="online")
    request = CommandRequest(command_id=f"web:{request_uuid}", principal=PRINCIPAL,
                             command=command, case_number=str(number), process=process,
                             applicant_id=citizen.number)
    if service is None:
        raise InvalidValue("the node is not the active worker", field="")
    result = await driver.db(service.handle, request, driver.now())
    return Applied(str(number), query_code(register_key, str(number)), result)
