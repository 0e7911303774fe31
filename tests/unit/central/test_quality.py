"""Judging a measurement: the customer's limits win over the item's; open-ended limits."""

from __future__ import annotations

from types import SimpleNamespace

from central.contract import QualityBody
from central.services.apply_quality import judge, within

ORDERS = {
    "WO-1": SimpleNamespace(item="BRACKET", customer="ACME"),
    "WO-2": SimpleNamespace(item="BRACKET", customer=None),
}
SPECS = {
    ("BRACKET", None, "width"): (9.0, 11.0),
    ("BRACKET", "ACME", "width"): (9.5, 10.5),
    ("BRACKET", None, "burr"): (None, 0.2),
}


def q(value: float, wo: str | None, characteristic: str = "width") -> QualityBody:
    return QualityBody(characteristic=characteristic, value=value, work_order=wo)


def test_customer_limits_override_the_item_limits() -> None:
    j = judge(q(10.8, "WO-1"), ORDERS, SPECS)
    assert (j.limits, j.in_spec, j.customer) == ((9.5, 10.5), False, "ACME")
    assert judge(q(10.8, "WO-2"), ORDERS, SPECS).in_spec is True  # item limits only


def test_missing_limits_or_order_give_no_verdict() -> None:
    assert judge(q(1.0, "WO-1", "colour"), ORDERS, SPECS).in_spec is None
    assert judge(q(1.0, "WO-404"), ORDERS, SPECS).item is None
    assert judge(q(1.0, None), ORDERS, SPECS).limits is None


def test_open_ended_limits() -> None:
    assert within(0.2, (None, 0.2)) and not within(0.21, (None, 0.2))
    assert within(-5.0, (None, None))
    assert judge(q(0.3, "WO-2", "burr"), ORDERS, SPECS).in_spec is False
