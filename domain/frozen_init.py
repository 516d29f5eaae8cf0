"""`fast_init`: a frozen dataclass's `__init__` that sets the instance dictionary in one call.

Why: a frozen dataclass's generated `__init__` sets each field through `object.__setattr__`
(the class's own `__setattr__` refuses), one call per field — ~3.5 µs for an event of sixteen
fields, and dataclass `__init__`s were ~5 % of a node's CPU and 14 % of `settle`'s at burst
(issue 17, CPUDEC). The same instance comes from building the dictionary — the fields in their
order, defaults and factories as the generated code has them — and setting it as the
instance's `__dict__` once, as `domain.fold.replace` and the payload decoder already do for
the instances they copy or fill. Same signature (names, order, keyword-only marks, default
objects), same `__post_init__` call after, same instance dictionary in the same key order
(`tests/property/test_frozen_init.py` holds every patched class's instances equal to those of
the generated `__init__`, kept as `__init__.generated`).

Only a class the fast path is exact for is patched — frozen, its `__init__` the one
`dataclasses` generated for it, no `InitVar`, no `init=False` field, no `__slots__`; any other
class is returned unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T", bound=type)

#: The parameter name the generated code uses for the instance (a field so named, or one
#: starting with "__" as the code's own globals do, keeps the class's own `__init__`).
_OWN = frozenset({"self"})

#: Every class patched so far (for the tests).
PATCHED: list[type] = []


def generated_init(cls: type) -> bool:
    """Whether `cls.__init__` is the one `dataclasses` generated for `cls` itself."""
    code = getattr(cls.__dict__.get("__init__"), "__code__", None)
    return code is not None and code.co_filename == "<string>" and getattr(
        code, "co_qualname", "") == "__create_fn__.<locals>.__init__"


def fast_init(cls: T) -> T:
    """`cls` with the one-call `__init__` when that is exact for it (see the module)."""
    params = cls.__dict__.get("__dataclass_params__")
    if params is None or not params.frozen or "__slots__" in cls.__dict__:
        return cls
    if not generated_init(cls):
        return cls
    every = list(cls.__dict__["__dataclass_fields__"].values())
    fields = dataclasses.fields(cls)
    classvar = dataclasses._FIELD_CLASSVAR  # type: ignore[attr-defined]
    if len(every) != len(fields) + [f._field_type for f in every].count(classvar):
        return cls  # an InitVar
    if any(not f.init or f.name in _OWN or f.name.startswith("__") for f in fields):
        return cls
    scope: dict[str, Any] = {"__fi_set": object.__setattr__,
                             "__fi_factory": dataclasses._HAS_DEFAULT_FACTORY}  # type: ignore[attr-defined]
    positional: list[str] = []
    keyword: list[str] = []
    values: list[str] = []
    for i, f in enumerate(fields):
        param, value = f.name, f.name
        if f.default is not dataclasses.MISSING:
            scope[f"__fi_d{i}"] = f.default
            param = f"{f.name}=__fi_d{i}"
        elif f.default_factory is not dataclasses.MISSING:
            scope[f"__fi_f{i}"] = f.default_factory
            param = f"{f.name}=__fi_factory"
            value = f"__fi_f{i}() if {f.name} is __fi_factory else {f.name}"
        (keyword if f.kw_only else positional).append(param)
        values.append(f"{f.name!r}: {value}")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    lines = [f"def __init__({signature}):",
             f"    __fi_set(self, '__dict__', {{{', '.join(values)}}})"]
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    exec("\n".join(lines), scope)  # field names are identifiers (a dataclass's own)
    init = scope["__init__"]
    original = cls.__dict__["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = original.__module__
    init.__annotations__ = dict(original.__annotations__)
    init.__doc__ = original.__doc__
    init.generated = original  # the dataclass's own, for the tests
    cls.__init__ = init  # type: ignore[misc]
    PATCHED.append(cls)
    return cls


def is_fast(cls: type) -> bool:
    """Whether `cls.__init__` is `fast_init`'s (the payload decoder treats it as generated)."""
    return hasattr(cls.__dict__.get("__init__"), "generated")
