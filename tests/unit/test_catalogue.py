"""The curated catalogue: the plan's 138 items, their cleaning, corrections, modes and limits.

The expected names are the seed's 事项 cells with whitespace removed, extracted once from
shared/seed/000_2891245faed2cc7a.txt (annexes 1–3) and pinned here: the test never reads the seed.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from stdnum.cn import uscc

from domain.catalogue import (
    MODES,
    TRANSFER_PROCESSES,
    Catalogue,
    CatalogueError,
    Item,
    MaterialsError,
    load_catalogue,
    load_materials,
    materials_guide,
    parse_catalogue,
    parse_materials,
)
from domain.catalogue.extract_seed import check, clean_text, parse_seed, split_units
from domain.kernel import DomainError, InvalidValue, UnknownItem

BATCH_1_NAMES = [
    "学历公证",
    "学位公证",
    "机动车驾驶证公证",
    "应届毕业生法律职业资格认定(享受放宽条件政策的除外)",
    "失业登记",
    "社会保险个人权益记录单查询打印(养老保险、工伤保险、失业保险等)",
    "企业职工基本养老保险关系转移接续",
    "城乡居民基本养老保险关系转移接续",
    "机关事业单位基本养老保险关系转移接续(含职业年金)",
    "机关事业单位基本养老保险与企业职工基本养老保险互转",
    "企业职工基本养老保险与城乡居民基本养老保险互转",
    "退役军人养老保险关系转移接续",
    "领取养老金人员待遇资格认证",
    "养老保险供养亲属领取待遇资格认证",
    "电子社会保障卡申领",
    "失业保险金申领",
    "就业创业证查询、核验",
    "技工院校毕业证书查询、核验",
    "技能人员职业资格证书查询、核验",
    "专业技术人员职业资格证书查询、核验",
    "商品房预售、抵押涉及的不动产预告登记(省会城市及计划单列市)",
    "不动产登记资料查询(省会城市及计划单列市)",
    "不动产抵押登记(省会城市及计划单列市)",
    "排污许可",
    "个人住房公积金缴存贷款等信息查询",
    "出具贷款职工住房公积金缴存使用证明",
    "正常退休提取住房公积金",
    "小型非营运二手车交易登记",
    "义诊活动备案",
    "消毒产品卫生安全评价报告备案",
    "内资企业及分支机构设立登记",
    "内资企业及分支机构变更登记",
    "内资企业及分支机构注销登记",
    "外资企业及分支机构设立登记",
    "外资企业及分支机构变更登记",
    "外资企业及分支机构注销登记",
    "个体工商户设立登记",
    "个体工商户变更登记",
    "个体工商户注销登记",
    "农民专业合作社设立登记",
    "农民专业合作社变更登记",
    "农民专业合作社注销登记",
    "营业执照遗失补领、换发",
    "特种设备检验、检测人员资格认定",
    "国产保健食品备案",
    "特种设备检验检测机构核准",
    "特种设备生产单位许可",
    "医保电子凭证申领",
    "航空安全员资格认定",
    "申请撤销提供邮政普遍服务的邮政营业场所",
    "邮政企业申请停止办理或者限制办理邮政普遍服务和邮政特殊服务业务审批",
    "快递业务经营许可",
    "国产药品再注册",
    "不涉及技术内容的国产药品变更备案",
    "执业药师注册",
    "执业药师延续注册",
    "执业药师变更注册",
    "执业药师注销注册",
]
BATCH_2_NAMES = [
    "开具有无犯罪记录证明",
    "开具户籍类证明",
    "工作调动户口迁移",
    "大中专院校录取学生户口迁移",
    "大中专学生毕业户口迁移",
    "夫妻投靠户口迁移",
    "父母投靠子女户口迁移",
    "孤儿救助资格认定",
    "事实无人抚养儿童认定",
    "困难残疾人生活补贴和重度残疾人护理补贴资格认定",
    "法律职业资格认定(享受放宽条件政策的除外)",
    "纳税状况公证",
    "职业年金个人权益记录单查询打印",
    "个人社保参保证明查询打印",
    "单位社保参保证明查询打印",
    "失业保险关系转移接续",
    "领取一级至四级伤残职工工伤保险长期待遇资格认证",
    "领取因工死亡职工供养亲属待遇资格认证",
    "工伤事故备案",
    "工伤异地居住(就医)申请",
    "社会保障卡申领",
    "社会保障卡启用",
    "社会保障卡补领、换领、换发",
    "社会保障卡临时挂失",
    "职业技能等级证书查询、核验",
    "流动人员人事档案接收、转递",
    "商品房预售、抵押涉及的不动产预告登记",
    "不动产登记资料查询",
    "不动产抵押登记",
    "测绘作业证办理",
    "新设探矿权登记",
    "探矿权保留登记",
    "探矿权延续登记",
    "探矿权变更登记",
    "探矿权注销登记",
    "新设采矿权登记",
    "采矿权变更登记",
    "采矿权抵押备案",
    "采矿权延续登记",
    "采矿权注销登记",
    "测绘成果目录汇交",
    "建立相对独立平面坐标系统审批",
    "住房公积金单位登记开户",
    "住房公积金单位及个人缴存信息变更",
    "购房提取住房公积金",
    "开具住房公积金个人住房贷款全部还清证明",
    "提前还清住房公积金贷款",
    "道路客运驾驶员从业资格证换证",
    "生育登记（一孩/二孩）",
    "再生育审批（三孩及以上）",
    "医疗广告审查",
    "工业产品生产许可证发证",
    "工业产品生产许可证注销",
    "保健食品广告审查",
    "特殊医学用途配方食品广告审查",
    "计量器具型式批准（国产计量器具）",
    "医疗器械广告审查",
    "基本医疗保险参保信息变更",
    "城乡居民基本医疗保险参保登记",
    "基本医疗保险关系转移接续",
    "异地就医结算备案",
    "门诊费用跨省直接结算",
    "医保定点医疗机构基础信息变更",
    "仿印邮票图案及其制品审批",
    "申请停止使用邮资凭证审批",
    "残疾人证新办",
    "残疾人证换领",
    "残疾人证迁移",
    "残疾人证挂失补办",
    "残疾人证注销",
    "残疾类别/等级变更",
    "全国残疾人按比例就业情况联网认证",
]
BATCH_3_NAMES = [
    "新生儿入户",
    "首次申领居民身份证(监护人代办的除外)",
    "结婚登记",
    "离婚登记",
    "灵活就业人员申请企业职工基本养老保险参保登记",
    "社会保险参保缴费记录查询",
    "工伤职工异地就医结算",
    "生育保险待遇核定与支付",
]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def document() -> dict[str, Any]:
    """A fresh copy of the packaged items.json, for tests that break it."""
    text = resources.files("domain.catalogue").joinpath("items.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def entry(document: dict[str, Any], item_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e for e in document["items"] if e["id"] == item_id)
    return found


def ids(items: list[Item]) -> list[str]:
    return [item.id for item in items]


# --------------------------------------------------------------------------- the seed's items


def test_catalogue_holds_58_72_and_8_items_in_plan_order(catalogue: Catalogue) -> None:
    assert [len(catalogue.select(batch=b)) for b in (1, 2, 3)] == [58, 72, 8]
    assert len(catalogue.items) == 138
    for batch in (1, 2, 3):
        items = catalogue.select(batch=batch)
        assert [item.seq for item in items] == list(range(1, len(items) + 1))
        assert {item.id for item in items} == {f"b{batch}-{n}" for n in range(1, len(items) + 1)}
    labels = {item.batch: item.batch_label for item in catalogue.items}
    assert labels == {1: "2020年底前", 2: "2021年底前", 3: "2021年以后"}


@pytest.mark.parametrize(("batch", "expected"), [
    (1, BATCH_1_NAMES), (2, BATCH_2_NAMES), (3, BATCH_3_NAMES)])
def test_every_cleaned_name_is_the_seeds_name_without_whitespace(
    catalogue: Catalogue, batch: int, expected: list[str],
) -> None:
    assert [item.name for item in catalogue.select(batch=batch)] == expected


def test_cleaned_fields_are_the_raw_cells_cleaned_plus_the_recorded_corrections(
    catalogue: Catalogue,
) -> None:
    """Nothing changes silently: whitespace removal and prefix expansion, then each correction."""
    for item in catalogue.items:
        derived: dict[str, str | tuple[str, ...] | None] = {
            "name": clean_text(item.raw["name"]),
            "scenario": clean_text(item.raw["scenario"]),
            "lead_unit": clean_text(item.raw["lead_unit"]),
            "co_units": tuple(split_units(item.raw["co_units"])) if item.batch < 3 else (),
            "deadline_text": clean_text(item.raw["deadline_text"]) if item.batch == 3 else None,
        }
        for correction in item.corrections:
            assert derived[correction.field] == correction.original, (item.id, correction)
            derived[correction.field] = correction.corrected
        stored = {key: getattr(item, key) for key in derived}
        assert stored == derived, item.id
        assert int(item.raw["seq"]) == item.seq


def test_raw_cells_keep_the_seeds_stray_spaces_next_to_the_cleaned_fields(
    catalogue: Catalogue,
) -> None:
    first = catalogue.get("b1-1")
    assert first.raw["lead_unit"] == "自 治 区 司 法 厅"
    assert first.lead_unit == "自治区司法厅"
    move = catalogue.get("b2-5")
    assert move.raw["co_units"] == "自治区教育 厅、人力资源 社会保障厅"
    assert move.co_units == ("自治区教育厅", "自治区人力资源社会保障厅")
    marriage = catalogue.get("b3-3")
    assert marriage.raw["deadline_text"].startswith("2020 年至 2022 年 10 月")
    assert marriage.deadline_text is not None
    assert marriage.deadline_text.startswith("2020年至2022年10月")


def test_only_batch_three_carries_a_completion_deadline_text(catalogue: Catalogue) -> None:
    assert all((item.deadline_text is not None) == (item.batch == 3) for item in catalogue.items)
    assert catalogue.get("b3-5").deadline_text == "2022年6月底前"


@pytest.mark.parametrize(("cell", "units"), [
    ("自治区公安厅、民政厅", ["自治区公安厅", "自治区民政厅"]),
    ("自治区公安厅、 内蒙古税务局", ["自治区公安厅", "内蒙古税务局"]),
    ("自治区公安厅、民政厅、人力资源社会保障厅，内蒙古税务局",
     ["自治区公安厅", "自治区民政厅", "自治区人力资源社会保障厅", "内蒙古税务局"]),
    ("自治区公安厅、自然资源厅，内蒙古税务局、人民银行呼和浩特中心支行",
     ["自治区公安厅", "自治区自然资源厅", "内蒙古税务局", "人民银行呼和浩特中心支行"]),
    ("内蒙古税务局", ["内蒙古税务局"]),
    ("", []),
])
def test_co_units_share_their_groups_autonomous_region_prefix(cell: str, units: list[str]) -> None:
    assert split_units(cell) == units


def test_co_unit_lists_are_expanded_in_the_catalogue(catalogue: Catalogue) -> None:
    assert catalogue.get("b1-22").co_units == (
        "自治区高级人民法院", "自治区公安厅", "自治区民政厅", "自治区司法厅", "自治区卫生健康委",
        "自治区市场监管局")
    assert catalogue.get("b2-45").co_units == (
        "自治区公安厅", "自治区民政厅", "自治区人力资源社会保障厅", "自治区自然资源厅",
        "内蒙古税务局", "人民银行呼和浩特中心支行")
    assert catalogue.get("b1-28").co_units == ("自治区公安厅", "内蒙古税务局")
    assert catalogue.get("b2-12").co_units == ("内蒙古税务局",)
    assert catalogue.get("b1-7").co_units == ()


@pytest.mark.parametrize(("item_id", "field", "original", "corrected"), [
    ("b3-1", "lead_unit", "自治区厅公安厅", "自治区公安厅"),
    ("b3-2", "lead_unit", "自治区厅公安厅", "自治区公安厅"),
    ("b3-3", "lead_unit", "自治区厅民政厅", "自治区民政厅"),
    ("b3-7", "lead_unit",
     "自治区人力资源社会保障厅(配合单位：自治区医保局)", "自治区人力资源社会保障厅"),
    ("b3-7", "co_units", (), ("自治区医保局",)),
    ("b2-64", "lead_unit", "自治区邮政管理局", "内蒙古邮政管理局"),
    ("b2-65", "lead_unit", "自治区邮政管理局", "内蒙古邮政管理局"),
])
def test_known_misprints_are_corrected_and_recorded_with_a_reason(
    catalogue: Catalogue, item_id: str, field: str, original: object, corrected: object,
) -> None:
    item = catalogue.get(item_id)
    recorded = [(c.field, c.original, c.corrected) for c in item.corrections]
    assert (field, original, corrected) in recorded
    assert getattr(item, field) == corrected
    assert all(c.why.strip() for c in item.corrections)


def test_the_human_resources_department_has_one_spelling(catalogue: Catalogue) -> None:
    units = [u for item in catalogue.items for u in (item.lead_unit, *item.co_units)]
    assert "自治区人力资源和社会保障厅" not in units
    assert units.count("自治区人力资源社会保障厅") == 46 + 2  # as the seed writes it + corrected
    for item_id in ("b2-59", "b2-60"):
        correction = catalogue.get(item_id).corrections[0]
        assert correction.field == "co_units"
        assert "自治区人力资源和社会保障厅" in correction.original
        assert "自治区人力资源社会保障厅" in correction.corrected
    corrected = {item.id for item in catalogue.items if item.corrections}
    assert corrected == {"b2-59", "b2-60", "b2-64", "b2-65", "b3-1", "b3-2", "b3-3", "b3-7"}


# --------------------------------------------------------------------------- modes and processes

PINNED = [
    ("b1-7", ("joint",), "pension_transfer"),
    ("b1-8", ("joint",), "resident_pension_transfer"),
    ("b1-9", ("joint",), "institution_pension_transfer"),
    ("b1-10", ("joint",), "institution_enterprise_pension_transfer"),
    ("b1-11", ("joint",), "pension_scheme_switch"),
    ("b1-12", ("joint",), "veteran_pension_transfer"),
    ("b2-16", ("joint",), "unemployment_transfer"),
    ("b2-60", ("joint",), "medical_transfer"),
    ("b2-26", ("joint",), "personnel_file_transfer"),
    ("b2-3", ("joint",), "household_move"),
    ("b2-4", ("joint",), "household_move"),
    ("b2-5", ("joint",), "household_move"),
    ("b2-6", ("joint",), "household_move"),
    ("b2-7", ("joint",), "household_move"),
    ("b2-68", ("joint",), "disability_cert_move"),
    ("b1-1", ("proxy",), "notarisation"),
    ("b1-2", ("proxy",), "notarisation"),
    ("b1-3", ("proxy",), "notarisation"),
    ("b2-12", ("proxy",), "notarisation"),
    ("b3-2", ("proxy",), "card_service"),
    ("b1-15", ("online",), "card_service"),
    ("b1-22", ("online",), "query_verify"),
    ("b1-13", ("online",), "certification"),
    ("b1-31", ("online",), "registration"),
    ("b2-38", ("online", "proxy"), "filing"),
    ("b2-62", ("joint",), "direct_settlement"),
]


@pytest.mark.parametrize(("item_id", "modes", "process"), PINNED)
def test_pinned_items_have_their_hand_assigned_modes_and_process(
    catalogue: Catalogue, item_id: str, modes: tuple[str, ...], process: str,
) -> None:
    item = catalogue.get(item_id)
    assert (item.modes, item.process) == (modes, process)


def test_every_transfer_is_a_joint_case(catalogue: Catalogue) -> None:
    transfers = [item for item in catalogue.items if item.is_transfer]
    assert ids(transfers) == [
        "b1-7", "b1-8", "b1-9", "b1-10", "b1-11", "b1-12", "b2-3", "b2-4", "b2-5", "b2-6", "b2-7",
        "b2-16", "b2-26", "b2-60", "b2-68"]
    assert all(item.modes == ("joint",) for item in transfers)


def test_every_basis_quotes_a_phrase_of_its_own_scenario(catalogue: Catalogue) -> None:
    for item in catalogue.items:
        assert item.basis.startswith("「"), item.id
        phrase = item.basis[1:item.basis.index("」")]
        assert phrase and phrase in item.scenario, item.id


def test_every_item_offers_known_modes_without_repeats(catalogue: Catalogue) -> None:
    for item in catalogue.items:
        assert item.modes and set(item.modes) <= set(MODES)
        assert len(set(item.modes)) == len(item.modes)


# --------------------------------------------------------------------------- limits


def _limits(item: Item) -> list[tuple[str, str, int, str]]:
    return [(lim.side, lim.step, lim.days, lim.unit) for lim in item.limits]


def test_enterprise_pension_has_the_66号_15_15_15_working_day_limits(catalogue: Catalogue) -> None:
    assert _limits(catalogue.get("b1-7")) == [
        ("destination", "contact_letter", 15, "working"),
        ("origin", "transfer_out", 15, "working"),
        ("destination", "completion", 15, "working"),
    ]
    assert all("66号" in lim.source for lim in catalogue.get("b1-7").limits)


def test_other_transfers_carry_the_reference_summary_limits(catalogue: Catalogue) -> None:
    assert _limits(catalogue.get("b2-16")) == [
        ("destination", "contact_letter", 5, "working"),
        ("origin", "transfer_out", 5, "working"),
        ("origin", "funds_remittance", 1, "month"),
    ]
    assert _limits(catalogue.get("b2-60")) == [
        ("origin", "transfer_out", 10, "working"), ("destination", "transfer_in", 5, "working")]
    assert _limits(catalogue.get("b2-26")) == [("origin", "file_dispatch", 15, "working")]
    for n in range(3, 8):
        assert _limits(catalogue.get(f"b2-{n}")) == [
            ("destination", "permit_validity", 40, "calendar")]


@pytest.mark.parametrize("item_id", ["b1-8", "b1-9", "b1-12", "b2-68", "b3-1", "b1-1", "b2-45"])
def test_no_limits_where_the_reference_gives_none(catalogue: Catalogue, item_id: str) -> None:
    assert catalogue.get(item_id).limits == ()


def test_limits_use_only_numbers_from_the_reference_summary(catalogue: Catalogue) -> None:
    statutory = {(15, "working"), (5, "working"), (10, "working"), (1, "month"), (40, "calendar")}
    for item in catalogue.items:
        assert not item.limits or item.is_transfer, item.id
        for limit in item.limits:
            assert (limit.days, limit.unit) in statutory, item.id
            assert "reference/domain.md" in limit.source and limit.starts


# --------------------------------------------------------------------------- see also


@pytest.mark.parametrize(("first", "second"), [
    ("b1-21", "b2-27"), ("b1-22", "b2-28"), ("b1-23", "b2-29"), ("b1-4", "b2-11")])
def test_items_listed_in_two_batches_point_at_each_other(
    catalogue: Catalogue, first: str, second: str,
) -> None:
    assert catalogue.get(first).see_also == (second,)
    assert catalogue.get(second).see_also == (first,)


def test_see_also_is_symmetric_everywhere(catalogue: Catalogue) -> None:
    for item in catalogue.items:
        for other in item.see_also:
            assert item.id in catalogue.get(other).see_also


# --------------------------------------------------------------------------- lookups and search


def test_get_and_by_name_find_items_and_refuse_unknown_ones(catalogue: Catalogue) -> None:
    assert catalogue.get("b2-16").name == "失业保险关系转移接续"
    assert catalogue.by_name("企业职工基本养老保险关系转移接续").id == "b1-7"
    assert catalogue.by_name("生育登记(一孩/二孩)").id == "b2-49"  # half-width parentheses
    assert catalogue.by_name(" 结婚 登记 ").id == "b3-3"
    with pytest.raises(UnknownItem) as unknown:
        catalogue.by_name("宠物登记")
    assert unknown.value.code == "unknown_item"
    with pytest.raises(UnknownItem):
        catalogue.get("b4-1")


def test_search_finds_pension_household_and_housing_fund_items(catalogue: Catalogue) -> None:
    pension = ids(catalogue.search("养老"))
    assert {"b1-7", "b1-8", "b1-9", "b1-10", "b1-11", "b1-12", "b1-13", "b3-5"} <= set(pension)
    assert ids(catalogue.search("户口")) == ["b2-3", "b2-4", "b2-5", "b2-6", "b2-7", "b2-2"]
    assert ids(catalogue.search("公积金")) == [
        "b1-25", "b1-26", "b1-27", "b2-43", "b2-44", "b2-45", "b2-46", "b2-47"]


def test_search_ranks_name_then_scenario_then_unit_hits(catalogue: Catalogue) -> None:
    found = ids(catalogue.search("公安"))
    scenario_hit, unit_hit = found.index("b3-2"), found.index("b1-3")
    assert scenario_hit < unit_hit
    assert "b2-1" in found  # lead unit 自治区公安厅 only
    assert ids(catalogue.search("纳税")) == ["b2-12"]


def test_search_ignores_case_and_character_width(document: dict[str, Any]) -> None:
    entry(document, "b1-48")["name"] = "医保电子凭证申领APP"
    catalogue = parse_catalogue(document)
    assert ids(catalogue.search("app")) == ["b1-48"]
    assert ids(catalogue.search("ＡＰＰ")) == ["b1-48"]
    assert ids(catalogue.search("（一孩/二孩）")) == ["b2-49"]


def test_search_refuses_empty_text(catalogue: Catalogue) -> None:
    with pytest.raises(InvalidValue):
        catalogue.search("  ")


def test_select_filters_by_mode_and_process(catalogue: Catalogue) -> None:
    joint = catalogue.select(mode="joint")
    assert all("joint" in item.modes for item in joint) and "b1-7" in ids(joint)
    assert ids(catalogue.select(process="household_move")) == [f"b2-{n}" for n in range(3, 8)]
    assert catalogue.select(batch=3, mode="joint", process="direct_settlement")[0].id == "b3-7"


# --------------------------------------------------------------------------- malformed data


def _breaks(document: dict[str, Any], item_id: str, **changes: Any) -> dict[str, Any]:
    broken = copy.deepcopy(document)
    target = entry(broken, item_id)
    for key, value in changes.items():
        if value is _DELETE:
            del target[key]
        else:
            target[key] = value
    return broken


_DELETE = object()

MALFORMED = [
    ({"process": _DELETE}, "b1-7", ["b1-7", "'process'", "missing"]),
    ({"seq": "7"}, "b1-7", ["b1-7", "'seq'", "positive integer"]),
    ({"modes": ["teleport"]}, "b1-7", ["b1-7", "'modes'", "teleport"]),
    ({"modes": []}, "b1-7", ["b1-7", "'modes'"]),
    ({"process": "alchemy"}, "b1-7", ["b1-7", "'process'", "alchemy"]),
    ({"batch": 4}, "b1-7", ["b1-7", "'batch'", "1, 2 or 3"]),
    ({"batch_label": "2021年底前"}, "b1-7", ["b1-7", "'batch_label'"]),
    ({"id": "b1-70"}, "b1-7", ["b1-70", "'id'", "b1-7"]),
    ({"id": 7}, "b1-7", ["#6", "'id'"]),
    ({"see_also": ["b9-9"]}, "b1-7", ["b1-7", "'see_also'", "b9-9"]),
    ({"see_also": ["b2-27"]}, "b1-7", ["b1-7", "'see_also'", "point back"]),
    ({"deadline_text": "2022年底前"}, "b1-7", ["b1-7", "'deadline_text'", "batch 1"]),
    ({"deadline_text": _DELETE}, "b3-7", ["b3-7", "'deadline_text'", "missing"]),
    ({"name": "企业职工 基本养老保险"}, "b1-7", ["b1-7", "'name'", "cleaned"]),
    ({"co_units": "自治区公安厅"}, "b1-3", ["b1-3", "'co_units'", "list"]),
    ({"colour": "red"}, "b1-7", ["b1-7", "'colour'", "unknown field"]),
    ({"raw": {"name": "x"}}, "b1-7", ["b1-7", "'raw'"]),
]


@pytest.mark.parametrize(("changes", "item_id", "fragments"), MALFORMED)
def test_malformed_entries_are_refused_naming_entry_and_field(
    document: dict[str, Any], changes: dict[str, Any], item_id: str, fragments: list[str],
) -> None:
    with pytest.raises(CatalogueError) as refused:
        parse_catalogue(_breaks(document, item_id, **changes))
    assert refused.value.code == "malformed_catalogue"
    assert isinstance(refused.value, DomainError)
    for fragment in fragments:
        assert fragment in str(refused.value)


@pytest.mark.parametrize(("limit", "fragment"), [
    ({"days": 0}, "limits[0].days"),
    ({"days": 1.5}, "limits[0].days"),
    ({"unit": "fortnight"}, "limits[0].unit"),
    ({"side": "middle"}, "limits[0].side"),
    ({"source": ""}, "limits[0].source"),
    ({"step": _DELETE}, "limits[0].step"),
])
def test_malformed_limits_are_refused_naming_the_limit_field(
    document: dict[str, Any], limit: dict[str, Any], fragment: str,
) -> None:
    broken = copy.deepcopy(document)
    target = entry(broken, "b1-7")["limits"][0]
    for key, value in limit.items():
        if value is _DELETE:
            del target[key]
        else:
            target[key] = value
    with pytest.raises(CatalogueError, match=r"b1-7.*" + fragment.replace("[", r"\[").replace(
            "]", r"\]")):
        parse_catalogue(broken)


def test_a_correction_must_say_why(document: dict[str, Any]) -> None:
    entry(document, "b3-1")["corrections"][0]["why"] = " "
    with pytest.raises(CatalogueError, match=r"b3-1.*corrections\[0\]\.why"):
        parse_catalogue(document)


def test_duplicate_ids_are_refused(document: dict[str, Any]) -> None:
    document["items"].append(copy.deepcopy(entry(document, "b2-16")))
    with pytest.raises(CatalogueError, match=r"b2-16 \(index 138\): field 'id': duplicate"):
        parse_catalogue(document)


def test_a_document_without_the_format_marker_is_refused(document: dict[str, Any]) -> None:
    document["format"] = "something else"
    with pytest.raises(CatalogueError, match="'format'"):
        parse_catalogue(document)
    with pytest.raises(CatalogueError, match="'items'"):
        parse_catalogue({"format": "tongban.catalogue/1", "items": {}})


def test_load_catalogue_reads_a_given_file_and_refuses_broken_json(
    document: dict[str, Any], tmp_path: Path,
) -> None:
    good = tmp_path / "items.json"
    document["items"] = document["items"][:2]
    good.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    assert ids(list(load_catalogue(good).items)) == ["b1-1", "b1-2"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": ', encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid JSON"):
        load_catalogue(bad)


def test_entries_round_trip_through_to_dict(catalogue: Catalogue) -> None:
    document = {"format": "tongban.catalogue/1", "items": [i.to_dict() for i in catalogue.items]}
    again = parse_catalogue(document)
    assert again.items == catalogue.items
    assert [i.raw for i in again.items] == [i.raw for i in catalogue.items]


# --------------------------------------------------------------------------- the extractor


def _seed_text(catalogue: Catalogue) -> str:
    """An annex text in the seed's layout, rebuilt from the committed raw cells."""
    lines = []
    for batch in (1, 2, 3):
        lines += [f"附件 {batch}", "", "序号\t事项\t应用场景\t牵头单位\t配合单位"]
        for item in catalogue.select(batch=batch):
            raw = item.raw
            fifth = raw["deadline_text" if batch == 3 else "co_units"]
            lines.append("\t".join(
                [raw["seq"], raw["name"], raw["scenario"], raw["lead_unit"], fifth]))
    return "\n".join(lines)


def test_extractor_reads_annex_rows_and_spots_drift_from_the_seed(catalogue: Catalogue) -> None:
    rows = parse_seed(_seed_text(catalogue))
    committed = [item.to_dict() for item in catalogue.items]
    assert len(rows) == 138
    assert check(rows, committed) == []
    committed[0]["raw"] = {**committed[0]["raw"], "lead_unit": "自治区司法厅"}
    del committed[-1]
    assert check(rows, committed) == [
        "b3-8: in the seed, missing from the catalogue", "b1-1: raw cells differ from the seed"]


# --------------------------------------------------------------------------- materials


SAMPLE = Path(str(resources.files("domain.catalogue").joinpath("materials.sample.json")))


def test_the_sample_materials_file_is_marked_and_covers_transfer_items(
    catalogue: Catalogue,
) -> None:
    book = load_materials(SAMPLE, catalogue)
    assert book.sample and "SAMPLE" in book.notice
    configured = {item_id for region in book.regions.values() for item_id in region.items}
    # Transfer items, and one proxy item the simulator's windows check completeness against.
    assert configured and all(catalogue.get(i).process in TRANSFER_PROCESSES
                              for i in configured - {"b2-21"})
    assert {"b1-7", "b2-16", "b2-60", "b2-26", "b2-3"} <= configured
    guide = materials_guide(book, "b1-7")
    assert guide["configured"] and guide["sample"]
    assert [r["region"] for r in guide["regions"]] == ["150600", "610800"]
    assert guide["regions"][0]["materials"][0]["title"] == "居民身份证"
    assert guide["regions"][0]["fee"] == "0.00 元"
    assert guide["regions"][0]["impl_agency_uscc"] == "not configured"
    assert [r["region"] for r in materials_guide(book, "b1-7", "610800")["regions"]] == ["610800"]


def test_the_guide_says_not_configured_where_nothing_is_supplied(catalogue: Catalogue) -> None:
    book = load_materials(SAMPLE, catalogue)
    assert materials_guide(None, "b1-7") == {
        "item": "b1-7", "configured": False, "message": "not configured"}
    assert materials_guide(book, "b1-1")["message"] == "not configured"
    assert materials_guide(book, "b2-16", "610800")["message"] == "not configured for region 610800"


def _materials(
    item: dict[str, Any], region: str = "150600", item_id: str = "b1-7",
) -> dict[str, Any]:
    return {"format": "tongban.materials/1",
            "regions": {region: {"name": "鄂尔多斯市", "items": {item_id: item}}}}


def test_operator_codes_and_fees_are_kept_as_separate_validated_fields(
    catalogue: Catalogue,
) -> None:
    agency = "91150600MA0N00000"
    agency += uscc.calc_check_digit(agency)
    book = parse_materials(_materials({
        "item_code": "000126007000", "handle_item_code": "01", "impl_agency_uscc": agency,
        "fee_fen": 1050, "fee_note": "工本费",
        "materials": [{"title": "居民身份证", "kind": "original"}]}), catalogue)
    guide = materials_guide(book, "b1-7")["regions"][0]
    assert (guide["item_code"], guide["handle_item_code"], guide["impl_agency_uscc"]) == (
        "000126007000", "01", agency)
    assert (guide["fee_fen"], guide["fee"]) == (1050, "10.50 元")
    assert guide["materials"] == [
        {"title": "居民身份证", "kind": "original", "copies": 1, "required": True, "note": ""}]
    assert materials_guide(parse_materials(_materials({}), catalogue), "b1-7")["regions"][0][
        "fee"] == "not configured"


@pytest.mark.parametrize(("document", "fragments"), [
    (_materials({}, item_id="b9-9"), ["150600", "b9-9", "not in the catalogue"]),
    (_materials({}, region="15060"), ["15060", "region code"]),
    (_materials({"fee_fen": 10.5}), ["150600", "b1-7", "'fee_fen'"]),
    (_materials({"fee_fen": -1}), ["b1-7", "'fee_fen'"]),
    (_materials({"impl_agency_uscc": "91150600MA0N00000X"}), ["b1-7", "'impl_agency_uscc'"]),
    (_materials({"materials": [{"title": "身份证", "kind": "photo"}]}),
     ["b1-7", "materials[0].kind"]),
    (_materials({"materials": [{"kind": "copy"}]}), ["b1-7", "materials[0].title"]),
    (_materials({"price": 1}), ["b1-7", "'price'", "unknown field"]),
    ({"format": "tongban.materials/2", "regions": {}}, ["'format'"]),
])
def test_malformed_materials_are_refused_naming_region_item_and_field(
    catalogue: Catalogue, document: dict[str, Any], fragments: list[str],
) -> None:
    with pytest.raises(MaterialsError) as refused:
        parse_materials(document, catalogue)
    assert refused.value.code == "malformed_materials"
    for fragment in fragments:
        assert fragment in str(refused.value)
