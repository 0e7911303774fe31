"""The simulated world starts when the servers listen, not when the runner is entered.

The OPC UA server needs seconds to build its address space; parts "made" during that time
could never be seen by a client, so an edge could never match the truth from the start.
"""

from __future__ import annotations

import time
import uuid

import pytest
from asyncua import Client

from simulators.runner import SimulationRunner
from simulators.scenario import parse_scenario
from tests.integration.simulators.test_runner_cli import demo_data
from tests.support.services import free_port, mqtt_broker

pytestmark = pytest.mark.integration


async def test_models_start_together_when_every_server_listens() -> None:
    host, port = mqtt_broker()
    topic = f"atelier-test/{uuid.uuid4().hex[:12]}/oven"
    runner = SimulationRunner(
        parse_scenario(demo_data(topic)),
        opcua_port=free_port(),
        modbus_port=free_port(),
        mqtt_url=f"mqtt://{host}:{port}",
    )
    entered = time.time_ns()
    async with runner:
        up = time.time_ns()
        starts = {m.start_ns for m in runner.models.values()}
        assert len(starts) == 1  # one common instant for every machine
        start = starts.pop()
        assert start is not None and entered < start <= up
        # the OPC UA address space took most of the start-up: the models did not live through it
        assert up - start < start - entered
        assert runner.opcua is not None
        async with Client(runner.opcua.endpoint, timeout=5) as client:
            first = await client.get_node("ns=2;s=Press01.Count").read_value()
        # the first value a client can read holds only parts made after the servers listened
        assert first == runner.truth("press-01").count_at(time.time_ns())
        assert runner.truth("press-01").count_at(up) <= 1
