"""The dashboard's charts are SVG images with a name, drawn from the figures they are given."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from api.web.charts import handling_days, on_time_rate


def test_on_time_rate_is_a_named_svg_image() -> None:
    svg = on_time_rate([("2026Q3", 0.9), ("2026Q4", 0.75)])
    root = ET.fromstring(svg[svg.index("<svg"):])
    assert root.tag.endswith("svg")
    assert root.get("role") == "img" and root.get("aria-label") == "按期办结率"
    assert "2026Q4" in svg


def test_handling_days_draws_one_bar_per_whole_day() -> None:
    svg = handling_days([0.5, 1.2, 3.0, 3.5])
    assert svg.count("<svg") == 1
    assert "patch_" in svg  # matplotlib's bars


def test_an_empty_period_still_draws() -> None:
    assert "<svg" in handling_days([]) and "<svg" in on_time_rate([])
