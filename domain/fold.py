"""`replace` for the states deciders fold, without `dataclasses.replace`'s cost.

Why: a side is folded event by event (`Decider.evolve`), and each event replaces a few fields of a
frozen state. `dataclasses.replace` rebuilds the whole object through its generated `__init__`
(one `object.__setattr__` per field of a frozen class) and was a tenth of the simulator's time
(docs/performance.md). For a plain frozen dataclass — no `__post_init__`, no `init=False`
field, no `__slots__` — copying the instance dictionary and overwriting the changed fields gives
an equal object; any other class falls back to `dataclasses.replace`. Unknown field names are
refused with `TypeError`, as `dataclasses.replace` does.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")

_PLAIN: dict[type, frozenset[str] | None] = {}


def _plain_fields(cls: type) -> frozenset[str] | None:
    """The init fields of a class the fast path may copy, None when it may not."""
    if cls not in _PLAIN:
        fields = dataclasses.fields(cls)
        plain = (not hasattr(cls, "__post_init__") and "__slots__" not in cls.__dict__
                 and all(f.init for f in fields))
        _PLAIN[cls] = frozenset(f.name for f in fields) if plain else None
    return _PLAIN[cls]


def replace(obj: T, /, **changes: Any) -> T:
    """`dataclasses.replace(obj, **changes)`, by copying when the class allows it.

    The copy is one new dictionary set as the instance's (`{**old, **changes}`): two
    `dict.update` calls into an empty instance dictionary cost a third more (issue 17)."""
    cls = type(obj)
    names = _PLAIN.get(cls)
    if names is None:
        names = _plain_fields(cls)
        if names is None:
            return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    if not names.issuperset(changes):
        unknown = changes.keys() - names
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
    new = _new(cls)
    _set(new, "__dict__", {**obj.__dict__, **changes})
    return new


_new = object.__new__
_set = object.__setattr__
