"""Downlink-only signals against a real OPC UA PLC (simulator): written, never sampled.

The ActiveOrder node is a String: sampled, it would be bad input (``wrong_type``) on every
change. The edge puts order and target into the spec's ``write_signals``: the source's one
connection writes them and never samples them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from connectors.base import ConnectionState
from edge.config import EdgeConfig, parse_config
from edge.sources import connector_factories
from simulators.layout import OpcUaLayout
from simulators.machine import Behaviour, MachineModel, MachineSpec
from simulators.opcua_plc import OpcUaPlc
from tests.support.services import free_port

pytestmark = pytest.mark.integration


def _config(tmp_path: Path, port: int) -> EdgeConfig:
    return parse_config(
        {
            "edge": {"id": "e1", "data_dir": str(tmp_path), "timezone": "UTC"},
            "machines": [
                {
                    "id": "press-01",
                    "ideal_cycle_s": 0.1,
                    "source": {
                        "protocol": "opcua",
                        "endpoint": f"opc.tcp://127.0.0.1:{port}",
                        "signals": {
                            "count": {"node": "ns=2;s=Press01.Count"},
                            "order": {"node": "ns=2;s=Press01.ActiveOrder"},
                            "target": {"node": "ns=2;s=Press01.TargetQty"},
                        },
                    },
                }
            ],
        }
    )


async def test_order_and_target_are_written_and_never_bad_input(tmp_path: Path) -> None:
    port = free_port()
    spec = MachineSpec(
        "press-01", 0.1, Behaviour(setup_s=0.2), order="WO-1000", target=500,
        source=OpcUaLayout("Press01"),
    )  # fmt: skip
    model = MachineModel(spec, 1)
    signals: set[str] = set()
    async with (
        OpcUaPlc([model], port=port, tick_s=0.05),
        connector_factories(_config(tmp_path, port))["press-01"]() as source,
    ):

        async def consume() -> None:
            async for batch in source.batches():
                signals.update(s.signal for s in batch.samples)

        reader = asyncio.create_task(consume())
        deadline = time.monotonic() + 15
        while source.state is not ConnectionState.connected or "count" not in signals:
            assert time.monotonic() < deadline, source.status
            await asyncio.sleep(0.05)
        for order in ("WO-1001", "WO-1002"):  # writes on the sampling session
            await source.write("order", order)
            await source.write("target", 40.0)
            while model.order != order:  # the PLC scans its downlink nodes every tick
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # more samples, and time for any notification of the nodes
        status = source.status
        reader.cancel()
    assert [(e.order, e.target) for e in model.truth.order_changes()][-2:] == [
        ("WO-1001", 40),
        ("WO-1002", 40),
    ]
    assert signals == {"count"}  # order/target are not sampled
    assert dict(status.errors) == {}  # so no wrong_type (nor any other bad input) for them
    assert status.samples > 0
