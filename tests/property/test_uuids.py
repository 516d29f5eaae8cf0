"""`domain.uuids.uuid5` is `uuid.uuid5`: the ids a node derives (command records, cases, sides)
are stored keys, so the fast path must give the very same UUID for every namespace and name."""

from __future__ import annotations

import pickle
import uuid

from hypothesis import given
from hypothesis import strategies as st

from domain.uuids import uuid5

namespaces = st.one_of(st.uuids(), st.sampled_from(
    [uuid.NAMESPACE_URL, uuid.NAMESPACE_DNS, uuid.uuid5(uuid.NAMESPACE_URL, "https://tongban.example/ns")]))


@given(namespaces, st.text())
def test_the_same_uuid_as_the_standard_librarys(namespace: uuid.UUID, name: str) -> None:
    new, old = uuid5(namespace, name), uuid.uuid5(namespace, name)
    assert type(new) is uuid.UUID
    assert new == old and new.int == old.int and str(new) == str(old) and hash(new) == hash(old)
    assert new.version == old.version == 5 and new.variant == old.variant == uuid.RFC_4122
    assert new.is_safe is old.is_safe
    assert pickle.loads(pickle.dumps(new)) == old
    assert {new: 1}[old] == 1
