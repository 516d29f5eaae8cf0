"""The node's own refusals, shared by its parts and by every adapter that reports them.

Why in one place: the inbox, the store, the command service and the codecs all raise or catch
these, and none of them should import another's module just for an exception class.
"""

from __future__ import annotations

from typing import Literal

from domain.kernel import DomainError
from domain.payloads import encodable

#: Codes of a request refused before the domain sees it (by its codec, `authorise` or the
#: admission checks). Each is one kind of fault, whatever the command; `field` names where.
RequestCode = Literal[
    "malformed_json", "invalid_request", "missing_field", "invalid_field", "unknown_field",
    "unknown_command_type", "wrong_region", "unknown_process", "unknown_item",
    "item_process_mismatch", "invalid_mode", "invalid_person_id", "invalid_region",
    "invalid_date", "invalid_amount", "handling_level", "not_a_peer"]


class InvalidRequest(DomainError):
    """A request refused before anything is decided; `field` is the dotted path of the culprit.
    Nothing is recorded, so a corrected request may reuse its command id."""

    code = "invalid_request"

    def __init__(self, message: str, *, code: RequestCode | str, field: str = "") -> None:
        # Texts echoed from the request are answered: UTF-8 must hold them (`encodable`).
        super().__init__(encodable(message), code=code, field=encodable(field))


class DecodeError(Exception):
    """Raised by a codec for a message that cannot be decoded; `reason` is kept in quarantine.

    `position` is (origin, destination, link_seq) when the envelope still said where the message
    sat on its link: the link must step over it, or every later message would wait forever.
    """

    def __init__(self, reason: str, position: tuple[str, str, int] | None = None) -> None:
        reason = encodable(reason)  # it is stored with the message (`encodable`)
        super().__init__(reason)
        self.reason = reason
        self.position = position


class StoreRefused(Exception):
    """The store would not take a unit of work's data (it cannot be encoded, or the database
    rejected a value). Retrying cannot help — unlike a lost connection or a version conflict —
    so the inbox diverts the one message that caused it instead of retrying it forever."""


class PersistentConflict(RuntimeError):
    """Version conflicts with other writers outlasted the retries: contention, not bad data."""


class IdempotencyConflict(DomainError):
    """A command id used again with a different request."""

    code = "idempotency_conflict"


class CommandInProgress(DomainError):
    """A command id whose first request is still being decided (a concurrent duplicate)."""

    code = "in_progress"
