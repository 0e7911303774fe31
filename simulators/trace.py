"""Recorded traces without any network: run the models over a period, write what a gateway
would have recorded (CSV ``ts,machine,signal,value``, ts ISO 8601 ``Z``) plus the ground truth.

Rows: at the start every machine's ``count``, ``reject`` and ``state``; then ``count`` at every
cycle end, ``reject`` at every reject and ``state`` at every change of the wire state code.
Counters are written as the wire shows them: wrapped at the register width (uint16 Modbus
counters wrap at 65536, OPC UA UInt32 at 2^32; MQTT JSON numbers never wrap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from simulators.layout import DEFAULT_STATE_CODES, ModbusLayout, OpcUaLayout
from simulators.machine import NS, MachineModel
from simulators.scenario import Scenario
from simulators.truth import TruthWriter

SIGNALS = ("count", "reject", "state")


@dataclass(frozen=True)
class TraceResult:
    rows: int
    models: list[MachineModel]


def counter_modulus(model: MachineModel, signal: str) -> int | None:
    """Wrap modulus of a counter on the wire, None when it never wraps."""
    layout = model.spec.source
    if isinstance(layout, ModbusLayout):
        reg = layout.registers.get(signal)
        if reg is None:
            return None
        return 1 << (16 * reg.words)
    if isinstance(layout, OpcUaLayout):
        return 1 << 32
    return None


def _wrap(values: npt.NDArray[np.int64], modulus: int | None) -> npt.NDArray[np.int64]:
    return values if modulus is None else values % modulus


def _machine_rows(
    model: MachineModel, start_ns: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(ts_ns, signal index, value) of one machine."""
    truth = model.truth
    codes = getattr(model.spec.source, "state_codes", DEFAULT_STATE_CODES)
    cycles = np.asarray(truth.cycle_end_ns, dtype=np.int64)
    rejects = np.asarray(truth.reject_ns, dtype=np.int64)
    count_values = model.spec.counter_start + np.arange(1, len(cycles) + 1, dtype=np.int64)
    reject_values = np.arange(1, len(rejects) + 1, dtype=np.int64)
    state_ts: list[int] = []
    state_codes: list[int] = []
    for event in truth.state_changes():
        code = codes.get(event.state, 0)
        if state_codes and state_codes[-1] == code:
            continue  # e.g. running -> micro_stop: the PLC shows no change
        if state_ts and state_ts[-1] == event.ts_ns:
            state_codes[-1] = code
            continue
        state_ts.append(event.ts_ns)
        state_codes.append(code)
    initial = np.array([start_ns, start_ns], dtype=np.int64)
    ts = np.concatenate([initial, cycles, rejects, np.asarray(state_ts, dtype=np.int64)])
    sig = np.concatenate(
        [
            np.array([0, 1]),
            np.zeros(len(cycles), dtype=np.int64),
            np.ones(len(rejects), dtype=np.int64),
            np.full(len(state_ts), 2, dtype=np.int64),
        ]
    )
    counts = np.concatenate([[model.spec.counter_start], count_values])
    values = np.concatenate(
        [
            _wrap(counts[:1], counter_modulus(model, "count")),
            [0],
            _wrap(counts[1:], counter_modulus(model, "count")),
            _wrap(reject_values, counter_modulus(model, "reject")),
            np.asarray(state_codes, dtype=np.int64),
        ]
    )
    return ts, sig.astype(np.int64), values.astype(np.int64)


def write_trace(
    scenario: Scenario,
    *,
    hours: float,
    out: str | Path,
    truth_path: str | Path | None = None,
    start: datetime | None = None,
) -> TraceResult:
    """Simulate ``hours`` from ``start`` (default: the scenario's) and write the trace."""
    begin = start or scenario.start
    start_ns = int(begin.timestamp()) * NS + begin.microsecond * 1000
    end_ns = start_ns + round(hours * 3600 * NS)
    models = scenario.models(start_ns=start_ns)
    parts_ts, parts_machine, parts_sig, parts_val = [], [], [], []
    for index, model in enumerate(models):
        model.advance(end_ns)
        ts, sig, val = _machine_rows(model, start_ns)
        parts_ts.append(ts)
        parts_sig.append(sig)
        parts_val.append(val)
        parts_machine.append(np.full(len(ts), index, dtype=np.int64))
    ts = np.concatenate(parts_ts)
    machine = np.concatenate(parts_machine)
    sig = np.concatenate(parts_sig)
    val = np.concatenate(parts_val)
    order = np.lexsort((sig, machine, ts))
    stamps = np.datetime_as_string(ts[order].astype("datetime64[ns]"), unit="us", timezone="UTC")
    names = np.array([m.id for m in models])[machine[order]]
    signals = np.array(SIGNALS)[sig[order]]
    values = val[order].astype(str)
    lines = "\n".join(map(",".join, zip(stamps, names, signals, values, strict=True)))
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("ts,machine,signal,value\n" + lines + "\n", encoding="utf-8")
    if truth_path is not None:
        writer = TruthWriter(truth_path, [m.truth for m in models])
        writer.start()
        writer.finish()
    return TraceResult(rows=len(order), models=models)
