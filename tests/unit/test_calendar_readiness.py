"""/readyz and /metrics warn when the next 60 days have no official holiday data (issue 15,
item 3): the node stays ready — its deadlines are conservative and marked provisional — but says
so, and says how many days lack the data, until the year's schedule is installed."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.http import build_app
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.adapters.worker_lock import ProcessLocalLock
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import build_region
from regions.runtime.driver import NodeDriver
from regions.runtime.metrics import registry_for, render
from regions.runtime.status import NodeStatus

REGION = "150600"
DECEMBER = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)  # 2027 not yet published
MARCH = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
GAUGE = "tongban_calendar_official_days_missing"


class Connection:
    is_connected = True


def active(now: dt.datetime, *files: Path) -> NodeStatus:
    cfg = RegionConfig(region=REGION, holiday_files=files)
    lock = ProcessLocalLock()
    lock.held = True
    status = NodeStatus(cfg, Connection(), lock)
    region = build_region(cfg, clock=lambda: now, ids=uuid.uuid4, broker=None,
                          store=MemoryStore())
    status.activate(NodeDriver(region, MemoryBroker(lambda: now).connect(),
                               fetch_timeout=0.05))
    return status


def gauge(status: NodeStatus) -> float:
    text = render(registry_for(status)).decode()
    return next(s.value for f in text_string_to_metric_families(text) for s in f.samples
                if s.name == GAUGE)


def test_readiness_stays_ready_but_warns_when_the_coming_days_lack_official_data() -> None:
    status = active(DECEMBER)
    with TestClient(build_app(status)) as http:
        answer = http.get("/readyz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["ready"] and body["not_ready"] == []
    # 2026-12-06…2027-02-03: the 元旦 window from 12-30 and all of 2027 fall to the fallback
    assert body["calendar"]["official_days_missing"] == 36
    assert body["calendar"]["first_missing"] == "2026-12-30"
    assert body["calendar"]["horizon_days"] == 60
    assert len(body["warnings"]) == 1 and "install the year's official schedule" in \
        body["warnings"][0]


def test_the_metric_counts_the_days_without_official_data() -> None:
    assert gauge(active(DECEMBER)) == 36
    assert gauge(active(MARCH)) == 0


def test_installing_the_next_years_schedule_clears_the_warning(tmp_path: Path) -> None:
    path = tmp_path / "cn-2027.json"
    path.write_text(json.dumps({"year": 2027, "source": "test", "holidays": ["2027-01-01"],
                                "workdays": []}), encoding="utf-8")
    status = active(DECEMBER, path)
    assert gauge(status) == 0
    with TestClient(build_app(status)) as http:
        body = http.get("/readyz").json()
    assert body["warnings"] == [] and body["calendar"]["official_days_missing"] == 0


def test_a_standby_reports_no_calendar_it_does_not_use() -> None:
    status = NodeStatus(RegionConfig(region=REGION), Connection(), ProcessLocalLock())
    assert gauge(status) == 0
