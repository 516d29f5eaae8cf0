"""The checks a payload converter runs beyond a value's type, and the refusals it builds.

Why apart from `domain.payloads`: none of these compiles a converter — they are what a compiled
one calls: the `annotated_types` bounds and `Rule` checks of an `Annotated` field (the JSON
Schema generator reads the same bounds), the refusals of a dataclass's generated converter (an
unknown key, a field its inline check refused, the type's own rules), and whether a dataclass
may be filled without running its `__init__`.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from typing import Any

import annotated_types

from domain.payload_values import Converter, PayloadError, encodable


def _plain(tp: type) -> bool:
    """Whether an instance of `tp` may be filled field by field without its `__init__`: a
    dataclass whose `__init__` is the generated one and does nothing more (no `__post_init__`,
    no `init=False` field, no `__slots__`, no `__new__` or `__setattr__` of its own but a
    frozen one's)."""
    code = getattr(tp.__dict__.get("__init__"), "__code__", None)
    generated = code is not None and code.co_filename == "<string>" and getattr(
        code, "co_qualname", "") == "__create_fn__.<locals>.__init__"
    return (generated and not hasattr(tp, "__post_init__") and "__slots__" not in tp.__dict__
            and tp.__new__ is object.__new__
            and all(f.init for f in dataclasses.fields(tp))
            and (tp.__setattr__ is object.__setattr__ or tp.__dict__["__dataclass_params__"].frozen))


def _unknown(tp: type, names: frozenset[str], data: dict[Any, Any]) -> PayloadError:
    key = next(k for k in data if k not in names)
    return PayloadError(f"{tp.__name__} has no field {str(key)[:64]!r}",
                        code="unknown_field").at(encodable(str(key)[:64]))


def _field_error(convert: Converter, value: Any, depth: int, name: str) -> PayloadError:
    """The refusal of an inline-checked field: its own converter says why."""
    try:
        convert(value, depth)
    except PayloadError as exc:
        return exc.at(name)
    raise AssertionError(f"{name}: an inline check refused what its converter accepts")


def _refused(exc: Exception) -> PayloadError:
    """A type's own rules refused the values (a material's sha256, a value object's)."""
    return PayloadError(str(exc))


def _ruled(check: Callable[[Any], object]) -> Callable[[Any], None]:
    def run(value: Any) -> None:
        try:
            check(value)
        except Exception as exc:
            raise PayloadError(str(exc)) from None
    return run


def _checks(constraint: Any) -> list[Callable[[Any], None]]:
    """The `annotated_types` bounds a field declares (the schema generator reads the same)."""
    parts = list(constraint) if isinstance(constraint, annotated_types.GroupedMetadata) \
        else [constraint]
    checks: list[Callable[[Any], None]] = []
    for part in parts:
        if isinstance(part, annotated_types.Ge):
            checks.append(_bound(operator.ge, part.ge, "below the least allowed"))
        elif isinstance(part, annotated_types.Gt):
            checks.append(_bound(operator.gt, part.gt, "not greater than"))
        elif isinstance(part, annotated_types.Le):
            checks.append(_bound(operator.le, part.le, "above the most allowed"))
        elif isinstance(part, annotated_types.Lt):
            checks.append(_bound(operator.lt, part.lt, "not less than"))
        elif isinstance(part, annotated_types.MinLen):
            checks.append(_bound(operator.ge, part.min_length, "shorter than", sized=True))
        elif isinstance(part, annotated_types.MaxLen):
            checks.append(_bound(operator.le, part.max_length, "longer than", sized=True))
    return checks


def _bound(holds: Callable[[Any, Any], bool], bound: Any, what: str, *,
           sized: bool = False) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        measure = len(value) if sized else value
        if not holds(measure, bound):
            raise PayloadError(f"{measure} is {what} {bound}" + (" (entries or characters)"
                                                                  if sized else ""))
    return check

