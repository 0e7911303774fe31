"""Recorded traces without any network: run the models over a period, write what a gateway
would have recorded (CSV ``ts,machine,signal,value``, ts ISO 8601 ``Z``) plus the ground truth.

The period is half-open, ``[start, start + hours)``, like a report window. Every machine has a
``count`` and ``reject`` row at the start (baseline) and at the end (closing values); between
them ``count`` at every cycle end, ``reject`` at every reject and ``state`` at every change of
state as a PLC shows it (a micro-stop shows as running). Like the samples a gateway stores:
counters as the wire shows them, wrapped at the register width (uint16 Modbus counters wrap at
65536, OPC UA UInt32 at 2^32; MQTT JSON numbers never wrap), and ``state`` as canonical codes
(running 1, idle 2, stopped 3, fault 4, setup 5), not the machine's own wire codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from simulators.layout import CANONICAL_STATE_CODES, ModbusLayout, OpcUaLayout
from simulators.machine import NS, MachineModel
from simulators.scenario import Scenario
from simulators.truth import write_jsonl

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


def _state_rows(model: MachineModel) -> tuple[list[int], list[int]]:
    """Times and canonical codes of the visible state changes (one per instant, no repeats)."""
    times: list[int] = []
    codes: list[int] = []
    for event in model.truth.state_changes():
        code = CANONICAL_STATE_CODES.get(event.state, 0)
        if times and times[-1] == event.ts_ns:
            times.pop()  # several changes at one instant: the last one is what shows
            codes.pop()
        if codes and codes[-1] == code:
            continue  # running -> micro_stop: the PLC shows no change
        times.append(event.ts_ns)
        codes.append(code)
    return times, codes


def _machine_rows(
    model: MachineModel, start_ns: int, end_ns: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(ts_ns, signal index, value) of one machine over ``[start_ns, end_ns)``."""
    truth = model.truth
    count_mod = counter_modulus(model, "count")
    reject_mod = counter_modulus(model, "reject")
    cycles = np.asarray(truth.cycle_end_ns, dtype=np.int64)
    rejects = np.asarray(truth.reject_ns, dtype=np.int64)
    counts = model.spec.counter_start + np.arange(len(cycles) + 1, dtype=np.int64)
    reject_totals = np.arange(len(rejects) + 1, dtype=np.int64)
    state_ts, state_codes = _state_rows(model)
    n_states = len(state_ts)
    ts = np.concatenate(
        [[start_ns], cycles, [end_ns], [start_ns], rejects, [end_ns], np.asarray(state_ts)]
    )
    sig = np.repeat([0, 1, 2], [len(cycles) + 2, len(rejects) + 2, n_states])
    values = np.concatenate(
        [
            _wrap(np.append(counts, counts[-1]), count_mod),
            _wrap(np.append(reject_totals, reject_totals[-1]), reject_mod),
            np.asarray(state_codes, dtype=np.int64),
        ]
    )
    return ts.astype(np.int64), sig.astype(np.int64), values.astype(np.int64)


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
        model.advance(end_ns - 1)
        ts, sig, val = _machine_rows(model, start_ns, end_ns)
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
        write_jsonl(truth_path, [m.truth for m in models])
    return TraceResult(rows=len(order), models=models)
