"""`uuid5` without the `UUID` constructor's checks: the same UUID, a third of the cost.

Why: a node derives ids by uuid5 on its hottest paths — every command's record id
(`regions.core.store.stable_id`, a new one per command), every case's id from its number
(`domain.values.CaseNumber.case_id`) and side id (`regions.core.sides.side_id`) — and
`uuid.uuid5` spends most of its time not in the SHA-1 but in `UUID(bytes=..., version=5)`,
which checks its arguments, converts the bytes and masks the version and variant through
keyword handling (uuid5 was 3.7 % of the bench nodes' CPU, 6 % of the node path's in memory;
issue 17, CPUDEC). Here the SHA-1's first 16 bytes become the integer, its variant and
version bits are set as RFC 4122 says (and as `UUID.__init__` does), and the `UUID` is filled
as its own `__init__` fills it (`int`, `is_safe` unknown). Equal to `uuid.uuid5` for every
namespace and name (`tests/property/test_uuids.py`: value, text, version, variant, hash,
`is_safe`, pickle).
"""

from __future__ import annotations

import hashlib
from uuid import UUID, SafeUUID

#: Clears the variant (2 bits at 62) and the version (4 bits at 76) of the 128-bit integer.
_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
#: RFC 4122's variant (10) and version 5.
_SET = (0x8000 << 48) | (5 << 76)

_sha1 = hashlib.sha1
_from_bytes = int.from_bytes
_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown


def uuid5(namespace: UUID, name: str) -> UUID:
    """`uuid.uuid5(namespace, name)`."""
    number = (_from_bytes(_sha1(namespace.bytes + name.encode()).digest()[:16], "big")
              & _CLEAR) | _SET
    made = _new(UUID)
    _set(made, "int", number)
    _set(made, "is_safe", _UNKNOWN)
    return made
