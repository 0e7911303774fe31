"""Faults between edge and central: nothing lost, nothing counted twice.

Each test runs the whole plant as separate processes, injects a fault mid-run, and then checks
central's good/scrap per order against the simulators' ground truth, and the stock moves.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from simulators.demo_procs import free_port
from simulators.demo_seed import Planner
from tests.e2e.proxy import FlappingProxy
from tests.e2e.support import all_completed, check_against_truth, make_plant, seed, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _progress(planner: Planner, number: str) -> float:
    return float(planner.work_order(number)["qty_good"])


def test_central_down_for_30_s_mid_run(tmp_path: Path) -> None:
    plant = make_plant(tmp_path)
    try:
        tokens = plant.start_central()
        with Planner(plant.central_url, tokens.admin) as planner:
            seed(plant, planner)
            plant.start_edge()
            plant.start_sims()
            wait_for(lambda: _progress(planner, "WO-1001") > 0, 60, "first parts at central")
            assert plant.central is not None
            plant.central.stop()
            time.sleep(30)  # the plant keeps producing; the edge holds its outbox
            plant.start_central()
            check_against_truth(plant, planner)
    finally:
        plant.stop()


def test_edge_killed_with_sigkill_and_restarted(tmp_path: Path) -> None:
    plant = make_plant(tmp_path)
    try:
        tokens = plant.start_central()
        with Planner(plant.central_url, tokens.admin) as planner:
            seed(plant, planner)
            edge = plant.start_edge()
            plant.start_sims()
            wait_for(lambda: _progress(planner, "WO-1001") > 0, 60, "first parts at central")
            edge.kill()  # SIGKILL: no shutdown, whatever was in memory is gone
            time.sleep(2)
            plant.start_edge()
            check_against_truth(plant, planner)
    finally:
        plant.stop()


def test_network_between_edge_and_central_flaps(tmp_path: Path) -> None:
    plant = make_plant(tmp_path)
    proxy_port = free_port()
    plant.edge_url_for_central = f"http://127.0.0.1:{proxy_port}"
    try:
        tokens = plant.start_central()
        with (
            Planner(plant.central_url, tokens.admin) as planner,
            FlappingProxy(proxy_port, plant.ports.central, flap_s=1.0, down_s=1.0) as proxy,
        ):
            seed(plant, planner)
            plant.start_edge()
            plant.start_sims()
            wait_for(lambda: all_completed(planner), 120, "every order completed, flapping")
            proxy.flapping = False  # then let the last records through in bounded time
            check_against_truth(plant, planner)
            assert proxy.stats.cut + proxy.stats.refused > 0, proxy.stats
    finally:
        plant.stop()
