"""At each shift end an ``oee`` record goes to the outbox, valid against the contract."""

from __future__ import annotations

from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from central.contract import OeeBody
from edge.analytics.calendar import ShiftSpec
from edge.analytics.report import MachineParams
from edge.runtime.analysis import Calendar, current_shift, record_shift_oee, shifts_ended
from edge.runtime.slices import period_report
from edge.store import Store
from tests.unit.edge.conftest import sample_columns

NS = 1_000_000_000
DAY0 = 1_767_571_200 * NS  # 2026-01-05T00:00:00Z, a Monday
CAL = Calendar(
    (ShiftSpec("morning", clock(6), clock(14)), ShiftSpec("afternoon", clock(14), clock(22))),
    ZoneInfo("UTC"),
)


def test_shift_windows_from_the_calendar() -> None:
    assert current_shift(CAL, DAY0 + 7 * 3600 * NS).name == "morning"
    night = current_shift(CAL, DAY0 + 23 * 3600 * NS)  # no shift: the local day
    assert (night.name, night.start_ns) == (None, DAY0)
    ended = shifts_ended(CAL, DAY0 + 13 * 3600 * NS, DAY0 + 23 * 3600 * NS)
    assert [s.name for s in ended] == ["morning", "afternoon"]


def test_record_shift_oee_writes_one_record_per_machine(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.open()
    start = DAY0 + 6 * 3600 * NS
    ts = [start + i * 10 * NS for i in range(8 * 360)]  # one part per 10 s all shift
    store.append_samples(
        sample_columns(
            ts, ["m1"] * len(ts), ["count"] * len(ts), [float(i) for i in range(len(ts))]
        )
    )
    shift = shifts_ended(CAL, start, DAY0 + 14 * 3600 * NS)[0]
    params = MachineParams(ideal_cycle_s=5.0)
    now = shift.end_ns + 3600 * NS
    report = period_report(store, "m1", params, CAL, shift.start_ns, shift.end_ns, shift.name, now)
    assert report is not None
    assert record_shift_oee(store, [report], shift) == 1
    [record] = store.outbox_pending()
    body = OeeBody.model_validate(record.payload)
    assert (body.machine, body.shift, body.total) == ("m1", "morning", 8 * 360 - 1)
    assert body.oee is not None and 0.45 < body.oee < 0.55  # 5 s ideal, 10 s actual
    assert record.ts_ns == shift.end_ns
    store.close()
