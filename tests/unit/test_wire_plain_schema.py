"""The link event's fast check (`regions.wire.plain.event_attributes_accepted`) and the schema
it stands in for (`regions.wire.attributes.EVENT_ENVELOPE`) state the same rules: each attribute
the schema has is checked by the fast path as its rule says, and each rule the fast path checks
is the schema's. A new attribute or a changed rule in the schema fails here until the fast check
follows it (the property test beside, `test_wire_plain_accepted`, then holds the values)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from regions.wire import plain
from regions.wire.attributes import EVENT_ENVELOPE
from tests.unit.test_wire_plain_accepted import VALID

#: What the fast check does with each attribute of a link event:
#: - "literal": equal to the schema's one value; "text": a non-empty string; "count": an int >= 1;
#: - "instant": an aware datetime; "kept": a value the schema accepted before (any pattern);
#: - "pattern": matched with the schema's pattern; "asked": present, pydantic is asked.
CHECKS = {
    "specversion": "literal", "datacontenttype": "literal", "time": "instant",
    "id": "text", "subject": "text", "originatorid": "text", "caseid": "text",
    "linkseq": "count", "schemaversion": "count", "originatorversion": "count",
    "source": "kept", "type": "kept", "origin": "kept", "destination": "kept", "process": "kept",
    "traceparent": "pattern", "prevhash": "asked", "keyid": "asked", "sig": "asked",
    "receiptof": "asked",
}
RULES = plain.rules(EVENT_ENVELOPE)
#: A value each check refuses where the schema's rule refuses it too.
WRONG: dict[str, Any] = {"literal": "0.9", "text": "", "count": 0,
                         "instant": dt.datetime(2026, 3, 2, 1, 0), "pattern": "00-zz"}


def _rule_fits(check: str, required: bool, rule: dict[str, Any]) -> bool:
    extra = set(rule) - {"type", "metadata", "ref"}
    if check == "literal":
        return rule["type"] == "literal" and len(rule["expected"]) == 1
    if check == "text":
        return required and rule["type"] == "str" and extra == {"min_length"} \
            and rule["min_length"] == 1
    if check == "count":
        return required and rule["type"] == "int" and extra == {"ge"} and rule["ge"] == 1
    if check == "instant":
        return required and rule["type"] == "datetime" and rule.get("tz_constraint") == "aware"
    if check == "kept":
        return required and rule["type"] == "str" and "pattern" in rule
    if check == "pattern":
        return not required and rule["type"] == "str" and extra == {"pattern"}
    return check == "asked" and not required


def test_the_fast_check_has_a_check_for_every_attribute_of_the_schema_and_no_other() -> None:
    assert set(RULES) == set(CHECKS)
    assert {n for n, (required, _) in RULES.items() if required} <= set(VALID)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_each_check_is_the_rule_the_schema_states(name: str) -> None:
    required, rule = RULES[name]
    assert _rule_fits(CHECKS[name], required, rule), (name, CHECKS[name], required, rule)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_fast_check_refuses_what_its_rule_refuses(name: str) -> None:
    plain.event_attributes_kept(VALID)
    assert plain.event_attributes_accepted(VALID)
    required, _ = RULES[name]
    check = CHECKS[name]
    if required:
        assert not plain.event_attributes_accepted({k: v for k, v in VALID.items() if k != name})
    if check == "kept":
        fresh = {**VALID, name: f"{VALID[name]}-never-seen"}
        assert not plain.event_attributes_accepted(fresh)
    elif check == "asked":
        assert not plain.event_attributes_accepted({**VALID, name: "x"})
    else:
        assert not plain.event_attributes_accepted({**VALID, name: WRONG[check]})


#: What the feed's fast path (`regions.wire.feed._element`) does with each attribute of a feed
#: event: the same kinds; `id` and `source` are made from checked values (`<originatorid>:<n>`,
#: the prefix and a kept region), so they need no check of their own ("made").
FEED_CHECKS = {
    "specversion": "literal", "datacontenttype": "literal", "time": "instant",
    "subject": "text", "caseid": "text", "originatorid": "text",
    "originatorversion": "count", "schemaversion": "count", "feedseq": "count",
    "region": "kept", "process": "kept", "type": "kept", "id": "made", "source": "made",
}


@pytest.mark.parametrize("name", sorted(FEED_CHECKS))
def test_the_feed_fast_path_states_the_feed_schema_s_rules(name: str) -> None:
    from regions.wire.feed import FEED_ENVELOPE

    rules = plain.rules(FEED_ENVELOPE)
    assert set(rules) == set(FEED_CHECKS)
    required, rule = rules[name]
    check = FEED_CHECKS[name]
    if check == "made":
        assert required and rule["type"] == "str"
    else:
        assert _rule_fits(check, required, rule), (name, check, required, rule)
