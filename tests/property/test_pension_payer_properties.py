"""待遇领取地 as a property (国办发〔2009〕66号 第六条): whatever the record, the payer is chosen
by exactly one clause of article six, and a 临时缴费账户 never makes its place the payer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.protocols.pension_payer import TEN_YEARS, Stint, benefit_region

YULIN, XIAN, ORDOS, DATONG, BEIJING = "610800", "610100", "150600", "140200", "110101"
REGIONS = (YULIN, XIAN, ORDOS, DATONG, BEIJING)
stints = st.lists(st.builds(Stint, st.sampled_from(REGIONS), st.integers(1, 200),
                            st.booleans()), min_size=1, max_size=8).filter(
    lambda xs: any(not s.temporary for s in xs))


def _province_months(stints: list[Stint], region: str) -> int:
    return sum(s.months for s in stints if not s.temporary and s.region[:2] == region[:2])


@given(st.sampled_from(REGIONS), stints)
def test_the_payer_follows_one_clause_of_article_six(hukou: str, xs: list[Stint]) -> None:
    """Whatever the record: the payer is the 户籍 province, or a place where the person has ten
    years of relationship; never a place with only a temporary account; and the relationship's
    own place pays whenever it is the 户籍 province or has ten years."""
    payer = benefit_region(hukou, xs)
    relationship = [s for s in xs if not s.temporary][-1]
    held = {s.region[:2] for s in xs if not s.temporary}
    if payer.clause == "collected_to_hukou":
        assert payer.region == hukou
        assert all(_province_months(xs, r) < TEN_YEARS for r in REGIONS)
    else:
        assert payer.region[:2] in held
        assert payer.region[:2] == hukou[:2] or _province_months(xs, payer.region) >= TEN_YEARS
    if relationship.region[:2] == hukou[:2]:
        assert payer.clause == "hukou"
    elif _province_months(xs, relationship.region) >= TEN_YEARS:
        assert payer.region[:2] == relationship.region[:2]
