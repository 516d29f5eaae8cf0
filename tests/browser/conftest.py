"""The browser tier: Playwright driving Debian's chromium (`/usr/bin/chromium`, or
`TONGBAN_CHROMIUM`). Playwright's own browser download needs a host this machine cannot reach,
so the tests launch the system browser by path. Under CI=true a missing browser fails the run.

The browser lives for one module: Playwright's sync API keeps an event loop on the main thread
while it runs, which would break every later test that calls `asyncio.run`.

Screenshots go to `reports/screenshots/` (a test artefact, not committed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import nats_server

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "reports" / "screenshots"
CHROMIUM = Path(os.environ.get("TONGBAN_CHROMIUM", "/usr/bin/chromium"))

__all__ = ["nats_server"]


def _strict() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"no chromium at {CHROMIUM} (apt-get install chromium, or set TONGBAN_CHROMIUM)"
        if _strict():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
