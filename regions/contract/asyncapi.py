"""Generate `asyncapi.yaml` (AsyncAPI 3.0.0): the NATS contract (links, commands), any language.

    python -m regions.contract.asyncapi            # (re)write asyncapi.yaml at the repository root
    python -m regions.contract.asyncapi --check    # exit 1 if the committed file is stale

Why generated: the document must say exactly what `regions.wire` encodes, so it is built from
the same event classes and envelope declarations (`regions.wire.schemas`) and the same command
classes the endpoint decodes (`regions.wire.commands`), sorted, so the same code always gives
the same bytes and a test can compare. JetStream details have no AsyncAPI binding (the NATS
binding 0.1.0 only knows `queue`), so they go in `x-jetstream` extensions.

This module assembles the document (channels, operations, the description) and writes it; its
parts are built beside it: `asyncapi_links` (the link and quarantine messages), `asyncapi_feed`
(the back-end feed), `asyncapi_commands`, `asyncapi_documents`, `asyncapi_query`,
`asyncapi_rules`, `asyncapi_states`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from domain.kernel import Event
from domain.payloads import MAX_DEPTH, MAX_ITEMS, MAX_TEXT
from domain.values import MAX_FEN
from regions.contract.asyncapi_commands import (
    COMMAND_ERROR_CODES as COMMAND_ERROR_CODES,  # re-exported: the contract's error codes
)
from regions.contract.asyncapi_commands import (
    COMMAND_REPLY,
    COMMAND_REQUEST,
    command_definitions,
    command_reply_message,
    command_request_message,
    limited,
)
from regions.contract.asyncapi_documents import add_materials
from regions.contract.asyncapi_feed import (
    FEED_CHANNEL,
    FEED_DESCRIPTION,
    FEED_EVENT,
    feed_channel,
    feed_components,
    feed_operations,
)
from regions.contract.asyncapi_feed import (  # re-exported: read by the contract's tests
    all_domain_event_types as all_domain_event_types,
)
from regions.contract.asyncapi_links import (
    BATCH_HEADERS_SCHEMA,
    HEADERS_SCHEMA,
    LINK_BATCH,
    QUARANTINED,
    batch_headers_schema,
    batch_message,
    control_message,
    event_message,
    headers_schema,
    quarantined_message,
)
from regions.contract.asyncapi_query import add_case_query
from regions.contract.asyncapi_rules import add_rules
from regions.contract.asyncapi_states import add_state_tables
from regions.wire.control import CONTROL_TYPES
from regions.wire.envelope import (
    CONTENT_TYPE,
)
from regions.wire.schemas import (
    build_schemas,
    wire_event_types,
)

ASYNCAPI_VERSION: Final = "3.0.0"
#: Version of the link contract; the `v1` in the subjects. Payload changes bump per-event
#: `schemaversion` instead (older payloads stay readable through upcasters).
#: 3.0.0: a feed message carries one commit's events of one process, several sides (a consumer
#: that took a message for one side's breaks; the array and its events are unchanged), and its
#: `Nats-Msg-Id` names the positions it carries.
#: 2.0.0: the feed carries batches (one side's events of one commit, a breaking change for
#: consumers); the case query, the state tables, the stated rules and `x-codes` are additions.
#: 3.0.1: a repeat is recognised by the event's id, never by feedseq (a store's position, which
#: a rebuilt, restored or replaced store numbers again); wording only, the messages unchanged.
#: 3.1.0 (additions; issue 17's rows): `ContactLetterIssued` schema 3 and `FundsRemitted`,
#: `RelationshipTakenOver` carry `met` (the step they meet: no `DeadlineCleared` event of its
#: own then); `TransferCompleted` schema 2 carries `reconciled` (the last origin's match: no
#: `Reconciled` event of its own then). A back-end that validates payloads with an older document
#: (`additionalProperties: false`) refuses `met` on `FundsRemitted`: take this document first.
#: Upgrade origins before destinations: an older origin parks `ContactLetterIssued` 3 until then.
#: 4.0.0 (issue 17, fewer JetStream messages): a link message may carry several consecutive
#: events (`LinkEventBatch`, CloudEvents batched JSON; the events themselves unchanged): a
#: breaking change for a link's readers, as 2.0.0 was for the feed's. Upgrade every destination
#: before its origins: an older inbox quarantines a batch whole (its events come again on the
#: link's re-send once the destination reads them); single messages still read as before.
#: 4.0.1: `LinkEventBatch` holds 1 to 64 events, as every 4.0.0 receiver accepted (the document
#: said 2 to 64, what a relay sends); `linkseq` is never reused, and a receiver quarantines a
#: linkseq it recorded for another event (`reused_link_seq`: an origin restored from a backup
#: undeclared) where it dropped it as a duplicate. The messages unchanged.
CONTRACT_VERSION: Final = "4.0.1"
# 1.1: back-end commands; 1.2: the back-end feed; 1.3: documents; 1.4: strict payloads, typed
# details, `applicant_id` instead of person_key/applicant_masked, the whole error table
DEFAULT_PATH: Final = Path(__file__).resolve().parents[2] / "asyncapi.yaml"
HEADER: Final = "# Generated by `python -m regions.contract.asyncapi`: do not edit by hand.\n"
EVENTS_CHANNEL: Final = "regionEvents"
DEAD_LETTER_CHANNEL: Final = "deadLetters"
COMMANDS_CHANNEL: Final = "regionCommands"
REPLIES_CHANNEL: Final = "commandReplies"

_REGION_PARAMETER: Final = "six-digit GB/T 2260 region code (e.g. 150600 鄂尔多斯, 610800 榆林)"

DESCRIPTION: Final = f"""\
Integration events between the region nodes of tongban (跨省通办 joint cases).

A *link* is the one-way path origin region → destination region, subject
`tb.v1.evt.<destination>.<origin>`. Each message is a CloudEvents 1.0 event in structured JSON
mode (NATS header `Content-Type: application/cloudevents+json`), or several consecutive events
of the link in CloudEvents batched JSON (`LinkEventBatch`, `application/cloudevents-batch+json`:
an array of those structured events, each handled as if it had come alone). `data` is the
event payload; `type` is `cn.tongban.<EventType>` and `schemaversion` its payload version.

Exactly-once effect is keyed on the origin's identity (`originatorid`, `originatorversion`;
the CloudEvents `id` is `<originatorid>:<originatorversion>`), never on broker sequence numbers.
`linkseq` is contiguous per link from 1: receivers record in that order, hold later messages,
and ask for a re-send (`ResendRequest`, on the reverse link) when a gap outlives its bound.
Relays announce the last `linkseq` sent (`HighWaterMark`) on a heartbeat, so a lost tail is
seen: a mark a batch moved at the next heartbeat (a batch carries no mark of its own), an
unchanged one at a doubling interval. Design names map to CloudEvents attributes as link_seq → linkseq,
prev_hash → prevhash, key_id → keyid, sig → sig, receipt_of → receiptof (the trust attributes
are reserved and absent for now).

A receiver that cannot decode a message quarantines it on `tb.v1.dlq.<destination>` with the
reason; a payload from a newer schema version is parked until the node is upgraded.

Back-ends command a region with NATS request/reply on `tb.v1.cmd.<region>.<backend>` (plain
JSON, not CloudEvents): one `CommandRequest` per command, one `CommandReply` on the request's
reply subject. The subject is the back-end's identity: only its own NATS user may publish there,
so the node takes the principal (`backend:<backend>`) from it, never from the body (a body that
names a `principal` is refused). A back-end may not issue the steps the node takes by itself
(`forbidden_command`), nor record an actor that is the system or another back-end
(`forbidden_actor`). Each NATS user connects with its own inbox prefix
(`_INBOX_<region>_<backend>` for a back-end, `_INBOX_<region>` for a node) and may subscribe
only under it; the node answers — and executes — a request only when its reply subject lies
under the asking back-end's own prefix.

`command_id` is the idempotency key of the principal for one target — the case and
the command (type and every field): a retry with the same key, case and body gets the stored
outcome, a refusal the domain decided included (kind `refused`; a corrected command needs a new
key); the same key for another case or another body is `idempotency_conflict`, never another
request's outcome. A request refused before the domain saw it (kind `invalid`: its JSON, the
region, the catalogue, the applicant's ID number, the actor, a date, an amount) stores nothing:
correct it and send it again under the same key. Every refusal has a stable `code` from the table
in `CommandError.code` and the `field` it names (`command.details.origins[0]`; `command.type` when
the command is not allowed in the case's state).

An application (`Submit`) names its applicant by `applicant_id`, the 居民身份证号 (GB 11643: check
digit, birth date, place). The node validates it, derives the register's person key (a keyed
hash with the region's secret) and the masked number (`1506**********123X`) itself, and neither
stores nor sends the plaintext; `person_key` and `applicant_masked` are never sent by a back-end.

Payload rules, for commands and for events alike (a message breaking them is refused, or
quarantined): fields are exactly those listed (an unknown field is refused); strings hold at most
{MAX_TEXT} characters and no control characters but tab and line breaks; lists at most
{MAX_ITEMS} entries; nesting at most {MAX_DEPTH} levels; dates are ISO 8601 strings (`2026-03-02`;
an instant with its offset); amounts are whole fen from 0 to {MAX_FEN}; region codes are
GB/T 2260 codes that can exist.

{FEED_DESCRIPTION}
Streams keep messages for 70 days (the longest a protocol waits for a counterpart, 30 working
days, spans at most 63 calendar days) and refuse publishes when full rather than dropping
unconsumed messages; a link message older than that is re-sent from the origin's store.
"""



def build_document(event_classes: Mapping[str, type[Event]] | None = None) -> dict[str, Any]:
    """The AsyncAPI document as data; by default for the published (`domain.`) wire events."""
    classes = dict(sorted((wire_event_types() if event_classes is None else event_classes).items()))
    schemas = build_schemas(classes)
    messages = {name: event_message(name, cls, schemas) for name, cls in classes.items()}
    for ce_type, control in sorted(CONTROL_TYPES.items()):
        if control.NAME in messages:
            raise ValueError(f"event type {control.NAME!r} clashes with a control message")
        messages[control.NAME] = control_message(ce_type, control.NAME, schemas)
    messages[LINK_BATCH] = batch_message(list(classes))
    link_refs = [{"$ref": f"#/channels/{EVENTS_CHANNEL}/messages/{name}"} for name in messages]
    quarantine_ref = [{"$ref": f"#/channels/{DEAD_LETTER_CHANNEL}/messages/{QUARANTINED}"}]
    commands = command_definitions(schemas.definitions)
    request_ref = [{"$ref": f"#/channels/{COMMANDS_CHANNEL}/messages/{COMMAND_REQUEST}"}]
    feed_definitions, feed_message = feed_components(schemas.definitions)
    feed_ref = [{"$ref": f"#/channels/{FEED_CHANNEL}/messages/{FEED_EVENT}"}]
    reply = {"channel": {"$ref": f"#/channels/{REPLIES_CHANNEL}"},
             "messages": [{"$ref": f"#/channels/{REPLIES_CHANNEL}/messages/{COMMAND_REPLY}"}]}
    return limited(add_state_tables(add_case_query(add_rules(add_materials({
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "tongban integration events",
            "version": CONTRACT_VERSION,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "nats": {
                "host": "localhost:4222",
                "protocol": "nats",
                "description": "A site's NATS server with JetStream (`sync_interval: always`); "
                               "sites join as JetStream domains over leafnodes.",
            },
        },
        "channels": {
            EVENTS_CHANNEL: {
                "address": "tb.v1.evt.{destination}.{origin}",
                "title": "Link origin → destination",
                "description": "Shared events of the origin's sides of joint cases, high-water "
                               "marks, and resend requests for the reverse link.",
                "parameters": {
                    "destination": {"description": f"receiving region: {_REGION_PARAMETER}"},
                    "origin": {"description": f"sending region: {_REGION_PARAMETER}"},
                },
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
                "x-jetstream": {
                    "stream": "TB_EVT_{destination}",
                    "subjects": ["tb.v1.evt.{destination}.*"],
                    "retention": "limits",
                    "storage": "file",
                    "discard": "new: a full stream refuses publishes; messages expire after "
                               "max_age 70 days (past it the origin re-sends from its store); "
                               "provisioned by `tongban nats provision`",
                },
            },
            DEAD_LETTER_CHANNEL: {
                "address": "tb.v1.dlq.{destination}",
                "title": "Quarantine of a destination's inbox",
                "parameters": {
                    "destination": {"description": f"the inbox's region: {_REGION_PARAMETER}"},
                },
                "messages": {QUARANTINED: {"$ref": f"#/components/messages/{QUARANTINED}"}},
                "x-jetstream": {
                    "stream": "TB_DLQ_{destination}",
                    "subjects": ["tb.v1.dlq.{destination}"],
                    "retention": "limits",
                    "storage": "file",
                },
            },
            COMMANDS_CHANNEL: {
                "address": "tb.v1.cmd.{region}.{backend}",
                "title": "Commands of a back-end to its region",
                "description": "Request/reply commands from back-ends (JSON). A new case is "
                               "opened at the region of its case number (`case_id` null, with "
                               "`case_number` and `process`); every later command names the "
                               "`case_id`. Unknown fields are refused, not ignored.",
                "parameters": {
                    "region": {"description": f"the commanded region: {_REGION_PARAMETER}"},
                    "backend": {"description": "the sending back-end's name, 1-64 of "
                                               "[A-Za-z0-9_-]; its NATS user alone may publish "
                                               "here, and the command's principal is "
                                               "`backend:<backend>`"},
                },
                "messages": {COMMAND_REQUEST: {
                    "$ref": f"#/components/messages/{COMMAND_REQUEST}"}},
            },
            **feed_channel(_REGION_PARAMETER),
            REPLIES_CHANNEL: {
                "address": None,
                "title": "Reply to a command",
                "description": "The requester's NATS inbox: the reply subject of the request, "
                               "under the back-end's own prefix `_INBOX_<region>_<backend>.` "
                               "(nats-py `connect(inbox_prefix=...)`); a request asking for its "
                               "answer anywhere else is neither executed nor answered.",
                "messages": {COMMAND_REPLY: {"$ref": f"#/components/messages/{COMMAND_REPLY}"}},
            },
        },
        "operations": {
            "publishLinkMessages": {
                "action": "send",
                "channel": {"$ref": f"#/channels/{EVENTS_CHANNEL}"},
                "summary": "The origin's outbox relay publishes shared events and high-water "
                           "marks; a receiver sends resend requests on the reverse link.",
                "messages": link_refs,
                "x-jetstream": {
                    "dedup_header": "Nats-Msg-Id",
                    "msg_id": "<CloudEvents id>:<destination of the subject>; a batch: "
                              "<first event's id>:<body digest>:<destination>",
                    "puback": "duplicate=true counts as success; after the duplicate window a "
                              "republish is stored again and the receiver's tracking absorbs it",
                },
            },
            "consumeLinkMessages": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{EVENTS_CHANNEL}"},
                "summary": "The destination's inbox records each event once, in linkseq order, "
                           "in one transaction with its receipt, and acks after commit.",
                "messages": link_refs,
                "x-jetstream": {
                    "durable": "inbox_{destination}",
                    "consumer": "pull",
                    "ack_policy": "explicit",
                    "deliver_policy": "all",
                    "ack_wait": "longer than the worst inbox batch transaction",
                },
            },
            "quarantineMessage": {
                "action": "send",
                "channel": {"$ref": f"#/channels/{DEAD_LETTER_CHANNEL}"},
                "summary": "The inbox diverts a message it cannot accept, with the reason.",
                "messages": quarantine_ref,
            },
            "reviewQuarantine": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{DEAD_LETTER_CHANNEL}"},
                "summary": "Operators list, show, replay or discard quarantined messages.",
                "messages": quarantine_ref,
            },
            **feed_operations(feed_ref),
            "sendCommand": {
                "action": "send",
                "channel": {"$ref": f"#/channels/{COMMANDS_CHANNEL}"},
                "summary": "A back-end asks a region to execute a command on its side of a "
                           "case; safe to retry with the same command_id.",
                "messages": request_ref,
                "reply": reply,
            },
            "serveCommands": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{COMMANDS_CHANNEL}"},
                "summary": "The region's command endpoints (a queue group) decide and save "
                           "each command with its idempotency record, then reply.",
                "messages": request_ref,
                "reply": reply,
                "bindings": {"nats": {"queue": "tb_cmd_{region}", "bindingVersion": "0.1.0"}},
            },
        },
        "components": {
            "schemas": {**schemas.definitions, **commands, **feed_definitions,
                        HEADERS_SCHEMA: headers_schema(),
                        BATCH_HEADERS_SCHEMA: batch_headers_schema()},
            "messages": {**messages, QUARANTINED: quarantined_message(),
                         COMMAND_REQUEST: command_request_message(),
                         COMMAND_REPLY: command_reply_message(), FEED_EVENT: feed_message},
        },
    })))))


class _Dumper(yaml.SafeDumper):
    """Plain YAML for people: no anchors for shared sub-documents, multi-line text as blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def render(document: Mapping[str, Any]) -> str:
    """YAML text, keys sorted, so the same document always renders to the same bytes."""
    return HEADER + yaml.dump(dict(document), Dumper=_Dumper, sort_keys=True, allow_unicode=True,
                              default_flow_style=False, width=100)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m regions.contract.asyncapi", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--output", type=Path, default=DEFAULT_PATH, help="default: %(default)s")
    args = parser.parse_args(argv)
    text = render(build_document())
    path: Path = args.output
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is stale: run `python -m regions.contract.asyncapi` to regenerate",
                  file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
