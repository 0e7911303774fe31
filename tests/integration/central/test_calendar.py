"""The plant calendar of central's settings drives the ETAs: work stops at the end of the
shift and resumes at the next one, over nights, weekends and breaks (Europe/Paris)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from central.jobs import refresh_etas
from central.settings import CentralSettings
from tests.integration.central.conftest import EDGE
from tests.integration.central.plant import ok, seed, work_order

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")
FRIDAY_1PM_PARIS = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
DAY_SHIFT = {
    "name": "day",
    "start": "06:00",
    "end": "14:00",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "breaks": [{"start": "09:00", "minutes": 15}],
}


@pytest.fixture
def settings(backend_url: str) -> CentralSettings:
    """The conftest's settings with a day shift on weekdays (overrides its fixture)."""
    return CentralSettings(
        database_url=backend_url,
        jobs_enabled=False,
        dispatch_poll_s=0.2,
        token_cache_s=0,
        timezone="Europe/Paris",
        shifts=[DAY_SHIFT],
    )


def z(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


async def test_eta_waits_for_monday_morning_and_skips_the_break(
    client: httpx.AsyncClient,
    planner: dict[str, str],
    settings: CentralSettings,
    sessions: sessionmaker[Session],
) -> None:
    await seed(client, planner)
    # 600 s setup + 15,600 parts at 1 s = 16,200 s of work from Friday 13:00 Paris:
    # 3,600 s until 14:00, then Monday 06:00-09:00 (10,800 s), the 15 min break, 1,800 s more
    await work_order(client, planner, "WO-1", qty=15_600)
    assert refresh_etas(sessions, FRIDAY_1PM_PARIS, settings.working_calendar()) == 1
    wo = await ok(await client.get("/api/v1/work-orders/WO-1", headers=planner))
    assert wo["eta"] == z(datetime(2026, 1, 12, 9, 45, tzinfo=PARIS).astimezone(UTC))
    so = await ok(await client.get("/api/v1/sales-orders/SO-1", headers=planner))
    assert so["eta"] == wo["eta"]
    # the same work on the 24/7 calendar (no shifts configured) ends on Friday evening
    always = CentralSettings(database_url=settings.database_url).working_calendar()
    assert refresh_etas(sessions, FRIDAY_1PM_PARIS, always) == 1
    wo = await ok(await client.get("/api/v1/work-orders/WO-1", headers=planner))
    assert wo["eta"] == z(datetime(2026, 1, 9, 16, 30, tzinfo=UTC))


async def test_live_dispatch_etas_fall_inside_the_shift(
    client: httpx.AsyncClient, planner: dict[str, str], edge_auth: dict[str, str]
) -> None:
    """Dispatch computes ETAs from the real clock through the app's calendar: wherever now
    is in the week, an order finishes on a weekday between 06:00 and 14:00 Paris time."""
    await seed(client, planner)
    for number, qty in (("WO-1", 100), ("WO-2", 40_000), ("WO-3", 70_000)):
        await work_order(client, planner, number, qty=qty)
    dispatch = await ok(await client.get(f"/api/v1/edges/{EDGE}/dispatch", headers=edge_auth))
    listed = await ok(await client.get("/api/v1/machines/press-01/dispatch", headers=planner))
    orders = [*dispatch["work_orders"], *listed]
    assert sorted(o["number"] for o in orders) == ["WO-1", "WO-1", "WO-2", "WO-2", "WO-3", "WO-3"]
    for order in orders:
        local = datetime.fromisoformat(order["eta"]).astimezone(PARIS)
        assert local.weekday() < 5 and time(6) < local.time() <= time(14), order
        assert not time(9) < local.time() < time(9, 15), order  # not inside the break
