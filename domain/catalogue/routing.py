"""Routing a proxy application to its competent level (办理层级).

Why: the applicant names the place whose authority holds the case (where the company is
registered, where the record is kept: a county or prefecture code); the authority that decides
sits at the item's level — the province's department for a 执业药师注册, the 设区市 centre for the
housing fund, the county for a 残疾人证. The window forwards to the office at that level, so a
county code for a prefecture-level item goes to its prefecture, and a province code for a
county-level item is refused: it does not say which county.
"""

from __future__ import annotations

from domain.catalogue.model import Level
from domain.kernel import InvalidValue
from domain.values import RegionCode

_DEPTH = {"province": 0, "prefecture": 1, "county": 2}


def route(place: str, level: Level) -> str:
    """The code of the competent office for `place` at `level` (`handling_level` if too coarse)."""
    code = RegionCode.parse(place)
    if _DEPTH[code.level] < _DEPTH[level] and not (level == "county"
                                                  and code.level == "prefecture"):
        raise InvalidValue(f"{code} is a {code.level} code; this item is handled at {level} "
                           f"level: name the {level}", code="handling_level")
    if level == "province":
        return str(code.province)
    if level == "prefecture":
        prefecture = code.prefecture
        assert prefecture is not None
        return str(prefecture)
    return str(code)
