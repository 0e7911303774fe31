"""SQLAlchemy tables of the central service (ERP/CRM side).

Natural keys where the business has one (item code, customer code, work-order number, machine
id, edge id): the ingest path then writes facts without looking up surrogate ids. Every time is
stored as UTC (:class:`UTCDateTime`), quantities in the item's unit of measure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, also on SQLite (which stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PKs only


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        str: String(200),
        float: Float(),
    }


# ---------------------------------------------------------------- plant


class Edge(Base):
    __tablename__ = "edges"
    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str | None]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    software_version: Mapped[str | None]
    timezone: Mapped[str | None]
    dispatch_version: Mapped[int] = mapped_column(default=1)
    max_seq: Mapped[int] = mapped_column(BigInteger, default=0)  # highest seq stored
    acked_through: Mapped[int] = mapped_column(BigInteger, default=0)  # contiguous prefix


class Machine(Base):
    __tablename__ = "machines"
    id: Mapped[str] = mapped_column(primary_key=True)
    edge_id: Mapped[str | None] = mapped_column(ForeignKey("edges.id"), index=True)
    name: Mapped[str | None]
    line: Mapped[str | None]
    protocol: Mapped[str | None]
    ideal_cycle_s: Mapped[float | None]
    announced_at: Mapped[datetime | None]


# ---------------------------------------------------------------- ERP master data


class Item(Base):
    __tablename__ = "items"
    code: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    uom: Mapped[str] = mapped_column(default="pcs")
    kind: Mapped[str] = mapped_column(default="finished")  # finished | component | raw
    lead_time_days: Mapped[int] = mapped_column(default=0)
    safety_stock: Mapped[float] = mapped_column(default=0.0)


class BomLine(Base):
    __tablename__ = "bom_lines"
    __table_args__ = (UniqueConstraint("parent", "component"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    parent: Mapped[str] = mapped_column(ForeignKey("items.code"), index=True)
    component: Mapped[str] = mapped_column(ForeignKey("items.code"))
    qty_per: Mapped[float]
    uom: Mapped[str | None]
    backflush: Mapped[bool] = mapped_column(Boolean, default=False)


class RoutingOperation(Base):
    __tablename__ = "routing_operations"
    __table_args__ = (UniqueConstraint("item", "op_no"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item: Mapped[str] = mapped_column(ForeignKey("items.code"), index=True)
    op_no: Mapped[int] = mapped_column(default=10)
    machine: Mapped[str] = mapped_column(ForeignKey("machines.id"))
    ideal_cycle_s: Mapped[float]
    setup_s: Mapped[float] = mapped_column(default=0.0)


# ---------------------------------------------------------------- CRM


class Customer(Base):
    __tablename__ = "customers"
    code: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    priority_class: Mapped[str] = mapped_column(String(1), default="B")  # A | B | C


class SalesOrder(Base):
    __tablename__ = "sales_orders"
    number: Mapped[str] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(ForeignKey("customers.code"), index=True)
    item: Mapped[str] = mapped_column(ForeignKey("items.code"))
    qty: Mapped[float]
    requested_date: Mapped[datetime]
    promised_date: Mapped[datetime | None]
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(default="open")
    eta: Mapped[datetime | None]
    created_at: Mapped[datetime]


class QualitySpec(Base):
    """Limits of a characteristic for an item; with ``customer`` set, that customer's limits."""

    __tablename__ = "quality_specs"
    __table_args__ = (UniqueConstraint("item", "customer", "characteristic"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item: Mapped[str] = mapped_column(ForeignKey("items.code"), index=True)
    customer: Mapped[str | None] = mapped_column(ForeignKey("customers.code"))
    characteristic: Mapped[str]
    lsl: Mapped[float | None]
    usl: Mapped[float | None]
    unit: Mapped[str | None]


# ---------------------------------------------------------------- production


class WorkOrder(Base):
    __tablename__ = "work_orders"
    number: Mapped[str] = mapped_column(primary_key=True)
    item: Mapped[str] = mapped_column(ForeignKey("items.code"), index=True)
    qty: Mapped[float]
    machine: Mapped[str | None] = mapped_column(ForeignKey("machines.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    due: Mapped[datetime | None]
    priority: Mapped[int] = mapped_column(default=0)  # higher runs earlier within a class
    expedite: Mapped[bool] = mapped_column(Boolean, default=False)
    sales_order: Mapped[str | None] = mapped_column(ForeignKey("sales_orders.number"))
    customer: Mapped[str | None] = mapped_column(ForeignKey("customers.code"))
    revision: Mapped[int] = mapped_column(default=1)
    qty_good: Mapped[float] = mapped_column(default=0.0)
    qty_scrap: Mapped[float] = mapped_column(default=0.0)
    closed_short: Mapped[bool] = mapped_column(Boolean, default=False)
    eta: Mapped[datetime | None]
    created_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class Stock(Base):
    __tablename__ = "stock"
    item: Mapped[str] = mapped_column(String(200), primary_key=True)
    lot: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    qty: Mapped[float] = mapped_column(default=0.0)
    updated_at: Mapped[datetime]


class StockMove(Base):
    """Every stock change; consumption moves with ``work_order`` set are the lot genealogy."""

    __tablename__ = "stock_moves"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item: Mapped[str] = mapped_column(index=True)
    lot: Mapped[str] = mapped_column(default="")
    qty: Mapped[float]  # signed: + into stock, - out of stock
    kind: Mapped[str] = mapped_column(String(20))  # produce | consume | receipt | adjust
    work_order: Mapped[str | None] = mapped_column(index=True)
    edge_id: Mapped[str | None]
    seq: Mapped[int | None] = mapped_column(BigInteger)
    ts: Mapped[datetime]
    note: Mapped[str | None]  # a receipt's reference, an adjustment's reason


class ProductionLog(Base):
    """Production per work order and machine, one row per ingested batch (ETA learning)."""

    __tablename__ = "production_log"
    __table_args__ = (Index("ix_production_log_machine_end", "machine", "period_end"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    edge_id: Mapped[str]
    seq: Mapped[int] = mapped_column(BigInteger)
    work_order: Mapped[str | None] = mapped_column(index=True)
    machine: Mapped[str]
    good: Mapped[int]
    scrap: Mapped[int]
    run_s: Mapped[float]  # sum of the records' periods
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]


class QualityResult(Base):
    __tablename__ = "quality_results"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    edge_id: Mapped[str]
    seq: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[datetime]
    work_order: Mapped[str | None] = mapped_column(index=True)
    machine: Mapped[str | None]
    item: Mapped[str | None]
    characteristic: Mapped[str]
    value: Mapped[float]
    unit: Mapped[str | None]
    verdict: Mapped[str | None]
    in_spec: Mapped[bool | None] = mapped_column(Boolean)


class NonConformity(Base):
    __tablename__ = "nonconformities"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    work_order: Mapped[str | None] = mapped_column(index=True)
    customer: Mapped[str | None]
    item: Mapped[str | None]
    characteristic: Mapped[str]
    value: Mapped[float]
    lsl: Mapped[float | None]
    usl: Mapped[float | None]
    edge_id: Mapped[str]
    seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(default="open")


class StopLog(Base):
    __tablename__ = "stop_log"
    __table_args__ = (UniqueConstraint("machine", "start"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    machine: Mapped[str]
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    reason: Mapped[str | None]
    category: Mapped[str] = mapped_column(String(20))
    work_order: Mapped[str | None]
    edge_id: Mapped[str]
    seq: Mapped[int] = mapped_column(BigInteger)


class OeeReport(Base):
    __tablename__ = "oee_reports"
    __table_args__ = (UniqueConstraint("machine", "window_start", "window_end"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    machine: Mapped[str]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    shift: Mapped[str | None]
    work_order: Mapped[str | None]
    planned_s: Mapped[float]
    run_s: Mapped[float]
    stop_s: Mapped[float]
    micro_stops: Mapped[int]
    micro_stop_s: Mapped[float]
    total: Mapped[int]
    good: Mapped[int]
    reject: Mapped[int]
    availability: Mapped[float | None]
    performance: Mapped[float | None]
    quality: Mapped[float | None]
    oee: Mapped[float | None]
    edge_id: Mapped[str]
    seq: Mapped[int] = mapped_column(BigInteger)  # a later seq replaces an earlier report


class Declaration(Base):
    __tablename__ = "declarations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    edge_id: Mapped[str]
    seq: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[datetime]
    machine: Mapped[str]
    action: Mapped[str] = mapped_column(String(30))
    work_order: Mapped[str | None]
    reason: Mapped[str | None]
    qty: Mapped[float | None]
    operator: Mapped[str | None]
    note: Mapped[str | None] = mapped_column(Text)
    applied: Mapped[bool] = mapped_column(Boolean, default=False)


class RecordBatch(Base):
    """A request body that stored at least one new record, kept as received (the audit trail).

    With :class:`RecordRun` this is the record log: each record of an edge is stored once,
    the first time its seq arrives; a replayed batch stores nothing. One row per batch, not
    per record: the log costs the database a row and a few index entries per batch.
    """

    __tablename__ = "record_batches"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    edge_id: Mapped[str] = mapped_column(String(200), index=True)
    received_at: Mapped[datetime]
    records: Mapped[int]  # records in the body, replays included
    body: Mapped[str] = mapped_column(Text)  # the JSON ``{"records": [...]}`` as received


class RecordRun(Base):
    """Seqs ``first_seq..last_seq`` of an edge were first stored by batch ``batch_id``.

    Runs of one edge never overlap (ingest locks the edge's row and stores only seqs no run
    holds yet), so a seq is in at most one run: the record log is unique per edge and seq. A
    record is the first entry with its seq in that batch's body
    (:func:`central.services.ingest.logged_records`).
    """

    __tablename__ = "record_runs"
    edge_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    first_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[int] = mapped_column(Id, ForeignKey("record_batches.id"), index=True)


# ---------------------------------------------------------------- planning output


class Alert(Base):
    """An open or resolved alert; ``key`` dedupes (one row per late order, per item short…)."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    severity: Mapped[str] = mapped_column(String(10), default="warning")
    subject: Mapped[str | None]
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class PurchaseProposal(Base):
    __tablename__ = "purchase_proposals"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    item: Mapped[str] = mapped_column(ForeignKey("items.code"), index=True)
    qty: Mapped[float]
    need_by: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(default="proposed")  # proposed | ordered | cancelled
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str]
    role: Mapped[str] = mapped_column(String(20))  # planner | viewer | admin | edge
    edge_id: Mapped[str | None] = mapped_column(ForeignKey("edges.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # first characters, to recognise a token
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
