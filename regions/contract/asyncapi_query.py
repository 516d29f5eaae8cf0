"""The case query in the AsyncAPI document: a `CaseQuery` on the back-end's command subject, a
`CaseStateReply` on its inbox (`regions.wire.case_query`, issue 18 finding 7).

The `CaseState` schema comes from the `TypeAdapter` that encodes the answer, so the document
cannot describe another shape than the node sends.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import TypeAdapter

from regions.core.case_query import CaseState
from regions.wire.case_query import CASE, QUERY
from regions.wire.schemas import REF_TEMPLATE

#: The channels of the command request/reply (`regions.contract.asyncapi`), which carry it too.
COMMANDS_CHANNEL_NAME: Final = "regionCommands"
REPLIES_CHANNEL_NAME: Final = "commandReplies"
CASE_QUERY: Final = "CaseQuery"
CASE_STATE_REPLY: Final = "CaseStateReply"

_DESCRIPTIONS: Final = {
    "CaseState": "What this region has committed of the case — the same data as its case "
                 "pages: this side's process, role, status (an `Outcome.status` value) and "
                 "version (the side's last `originatorversion` on the feed), each counterpart "
                 "as known here, the running deadlines and the overdue steps, the amounts.",
    "CounterpartState": "What this region knows of a counterpart's side: the last event "
                        "received from it (this side's receipt type, e.g. "
                        "`InfoSheetReceived`), when, and that event's version in the "
                        "counterpart's side (0 and empty: nothing received yet). Not the "
                        "counterpart's present state: ask its region for that.",
    "PendingDeadline": "A running step's time limit: due instant, legal basis, and whether "
                       "the working calendar was provisional when it was reckoned.",
}


def _schemas() -> dict[str, Any]:
    schema = TypeAdapter(CaseState).json_schema(ref_template=REF_TEMPLATE)
    definitions: dict[str, Any] = schema.pop("$defs", {})
    definitions["CaseState"] = schema
    for name, text in _DESCRIPTIONS.items():
        definitions[name]["description"] = text
    return definitions


def add_case_query(document: dict[str, Any]) -> dict[str, Any]:
    """Add the query's messages to the command channels and its operation (in place)."""
    components = document["components"]
    for name, schema in _schemas().items():
        if name in components["schemas"]:
            raise ValueError(f"schema {name!r} is already defined")
        components["schemas"][name] = schema
    components["messages"][CASE_QUERY] = {
        "name": CASE_QUERY, "title": "Case query",
        "summary": "What does this region know of the case?",
        "description": "Sent like a command, on the back-end's own command subject and with "
                       "its inbox prefix; a body with a `query` member is a query. It changes "
                       "nothing and may be repeated at will.",
        "contentType": "application/json",
        "payload": {"type": "object", "additionalProperties": False,
                    "required": [QUERY, "case_id"],
                    "properties": {QUERY: {"const": CASE},
                                   "case_id": {"type": "string", "format": "uuid",
                                               "description": "The case (a command reply's "
                                                              "`outcome.case_id`, a feed "
                                                              "event's `caseid`)."}}}}
    components["messages"][CASE_STATE_REPLY] = {
        "name": CASE_STATE_REPLY, "title": "Case state reply",
        "summary": "The case's state here, or why not (`unknown_case`: no side of it here; "
                   "`missing_field`, `invalid_field`, `unknown_field` for a bad query).",
        "contentType": "application/json",
        "payload": {"oneOf": [
            {"type": "object", "required": ["ok", "case"], "additionalProperties": False,
             "properties": {"ok": {"const": True},
                            "case": {"$ref": REF_TEMPLATE.format(model="CaseState")}}},
            {"type": "object", "required": ["ok", "error"], "additionalProperties": False,
             "properties": {"ok": {"const": False},
                            "error": {"$ref": REF_TEMPLATE.format(model="CommandError")}}},
        ]}}
    channels = document["channels"]
    channels[COMMANDS_CHANNEL_NAME]["messages"][CASE_QUERY] = {
        "$ref": f"#/components/messages/{CASE_QUERY}"}
    channels[REPLIES_CHANNEL_NAME]["messages"][CASE_STATE_REPLY] = {
        "$ref": f"#/components/messages/{CASE_STATE_REPLY}"}
    serve = document["operations"]["serveCommands"]  # the command endpoints answer it too
    serve["messages"] = [*serve["messages"], {
        "$ref": f"#/channels/{COMMANDS_CHANNEL_NAME}/messages/{CASE_QUERY}"}]
    serve["reply"] = {**serve["reply"], "messages": [*serve["reply"]["messages"], {
        "$ref": f"#/channels/{REPLIES_CHANNEL_NAME}/messages/{CASE_STATE_REPLY}"}]}
    document["operations"]["queryCase"] = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{COMMANDS_CHANNEL_NAME}"},
        "summary": "A back-end asks its region for a case's state: this side, the "
                   "counterparts as known here, the pending deadlines.",
        "messages": [{"$ref": f"#/channels/{COMMANDS_CHANNEL_NAME}/messages/{CASE_QUERY}"}],
        "reply": {"channel": {"$ref": f"#/channels/{REPLIES_CHANNEL_NAME}"},
                  "messages": [{"$ref": f"#/channels/{REPLIES_CHANNEL_NAME}/messages/"
                                        f"{CASE_STATE_REPLY}"}]},
    }
    return document
