"""The edge config: YAML parsed once into frozen pydantic models (DESIGN.md, "Edge config").

``load_config(path)`` / ``parse_config(mapping)`` return an :class:`EdgeConfig` or raise
:class:`ConfigError` listing *every* issue found, each at its YAML path
(``machines[1].source.signals.count.type``) with the bad value and, from a file, its line.
Times of day are local to ``edge.timezone``; durations are in seconds (``_s``) or minutes.
Secrets never live in the file: only the names of the environment variables holding them
(``token_env``, ``password_env``). The source models live in :mod:`edge.config_sources`, the
YAML reading and error reporting in :mod:`edge.config_errors`; both are re-exported here.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from edge.config_errors import ConfigError, ConfigIssue, issues_from, read_yaml
from edge.config_sources import (
    EnvName,
    Frozen,
    Loc,
    ModbusSignal,
    ModbusSource,
    MqttSignal,
    MqttSource,
    OpcUaSecurity,
    OpcUaSignal,
    OpcUaSource,
    Problems,
    SignalConfig,
    SourceConfig,
    check_url,
    show,
)
from edge.config_tablet import (
    DEFAULT_SCRAP_REASONS,
    DEFAULT_STOP_REASONS,
    Labels,
    Operator,
    ScrapReason,
    StopCategory,
    StopReason,
    unique,
)

__all__ = [
    "ApiSection",
    "BreakConfig",
    "CentralSection",
    "ConfigError",
    "ConfigIssue",
    "Defaults",
    "EdgeConfig",
    "EdgeSection",
    "Labels",
    "MachineConfig",
    "ModbusSignal",
    "ModbusSource",
    "MqttSignal",
    "MqttSource",
    "OpcUaSecurity",
    "OpcUaSignal",
    "OpcUaSource",
    "Operator",
    "ScrapReason",
    "ShiftConfig",
    "SignalConfig",
    "SourceConfig",
    "StopCategory",
    "StopReason",
    "check_config_command",
    "load_config",
    "parse_config",
]


def _slug(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
        raise ValueError(
            f"has value {show(value)}. Must be an id of letters, digits, '_', '.' or '-' "
            "(up to 64, no spaces), e.g. press-01"
        )
    return value


Slug = Annotated[str, AfterValidator(_slug)]


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"has value {show(value)}. Must be an IANA time zone, e.g. Europe/Paris or UTC"
        ) from None
    return value


class ApiSection(Frozen):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)  # 0: any free port (tests)


class EdgeSection(Frozen):
    """``data_dir`` is relative to the working directory of the process."""

    id: Slug
    data_dir: Path
    timezone: Annotated[str, AfterValidator(_timezone)]
    api: ApiSection = ApiSection()
    retention_days: int = Field(7, ge=1)
    queue_max_samples: int = Field(200_000, ge=1)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class CentralSection(Frozen):
    url: str
    token_env: EnvName = "ATELIER_EDGE_TOKEN"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value, ("http", "https"), "http://127.0.0.1:8000")

    def token(self) -> str | None:
        """The bearer token, read from the environment when needed (never stored or logged)."""
        return os.environ.get(self.token_env) or None


_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _time_of_day(value: Any) -> Any:
    if isinstance(value, time):
        return value
    match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match:
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        if (hour, minute, second) == (24, 0, 0):
            return time(0)  # "24:00" as an end of shift: midnight
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    raise ValueError(f"has value {show(value)}. Must be a time of day \"HH:MM\", 00:00 to 23:59")


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)


def _weekday(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 6 else None
    if isinstance(value, str):
        name = value.strip().lower()
        for index, day in enumerate(_DAY_NAMES):
            if name in (day, day[:3]):
                return index
    return None


def _weekdays(value: Any) -> Any:
    if not isinstance(value, list | tuple):
        return value
    if not value:
        raise ValueError("is empty. List the days the shift starts on, or leave days out")
    days = [_weekday(item) for item in value]
    problems: list[tuple[Loc, str]] = [
        ((i,), f"has value {show(item)}. Must be a day: mon..sun or 0 (Monday) to 6 (Sunday)")
        for i, (item, day) in enumerate(zip(value, days, strict=True))
        if day is None
    ]
    if problems:
        raise Problems(problems)
    return tuple(sorted({day for day in days if day is not None}))


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


class BreakConfig(Frozen):
    start: TimeOfDay
    minutes: int = Field(gt=0, le=24 * 60)


class ShiftConfig(Frozen):
    """A shift from ``start`` to ``end`` local time; ``end <= start`` means it ends the next day.
    ``days`` are the days it *starts* on (0 = Monday); breaks lie inside the shift."""

    name: str = Field(min_length=1)
    start: TimeOfDay
    end: TimeOfDay
    days: Annotated[tuple[int, ...], BeforeValidator(_weekdays)] = ALL_DAYS
    breaks: tuple[BreakConfig, ...] = ()

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    @property
    def length_s(self) -> int:
        """Nominal length (a DST change makes the real one an hour shorter or longer)."""
        return (_seconds(self.end) - _seconds(self.start)) % 86400 or 86400

    def offset_s(self, t: time) -> int:
        """Seconds from the shift start to the time of day ``t`` (within the next 24 h)."""
        return (_seconds(t) - _seconds(self.start)) % 86400

    @model_validator(mode="after")
    def _breaks_fit(self) -> ShiftConfig:
        problems: list[tuple[Loc, str]] = []
        inside: list[tuple[int, int]] = []
        for i, brk in enumerate(self.breaks):
            if self.offset_s(brk.start) + brk.minutes * 60 > self.length_s:
                problems.append(
                    (("breaks", i, "start"), f"has value '{brk.start:%H:%M}' ({brk.minutes} min),"
                     f" not inside the shift {self.start:%H:%M}-{self.end:%H:%M}")
                )
            else:
                inside.append((self.offset_s(brk.start), i))
        inside.sort()
        for (prev_off, prev), (off, i) in zip(inside, inside[1:], strict=False):
            prev_break = self.breaks[prev]
            if off < prev_off + prev_break.minutes * 60:
                problems.append(
                    (("breaks", i, "start"), f"has value '{self.breaks[i].start:%H:%M}', which "
                     f"overlaps the break at {prev_break.start:%H:%M} ({prev_break.minutes} min)")
                )
        if problems:
            raise Problems(problems)
        return self


class Defaults(Frozen):
    """Machine settings unless a machine overrides them. 300 s: the common small-stop limit."""

    stop_threshold_s: float = Field(300.0, gt=0)
    slow_factor: float = Field(2.0, ge=1.0)
    micro_stops_in_availability: bool = False


_COUNTER_BITS = {"int16": 16, "uint16": 16, "int32": 32, "uint32": 32, "int64": 64}


class MachineConfig(Frozen):
    """One machine. ``stop_threshold_s`` and ``slow_factor`` are resolved from ``defaults``."""

    id: Slug
    name: str | None = None
    ideal_cycle_s: float = Field(gt=0)
    stop_threshold_s: float = Field(Defaults().stop_threshold_s, gt=0)
    slow_factor: float = Field(Defaults().slow_factor, ge=1.0)
    counter_width: int | None = Field(None, ge=1, le=64)
    max_rate_per_s: float | None = Field(None, gt=0)
    auto_start_order: bool = False
    source: SourceConfig

    @property
    def counter_width_bits(self) -> int | None:
        """Bits at which the counters wrap: explicit, else from the Modbus type, else None."""
        if self.counter_width is not None:
            return self.counter_width
        count = self.source.signals.get("count")
        if isinstance(count, ModbusSignal):
            return _COUNTER_BITS.get(count.type)
        return None

    @model_validator(mode="after")
    def _bands(self) -> MachineConfig:
        # Gaps up to slow_factor x ideal are slow cycles, above stop_threshold_s stops: the
        # micro-stop band in between must exist.
        slow_s = self.slow_factor * self.ideal_cycle_s
        if self.stop_threshold_s <= slow_s:
            raise Problems(
                [(("stop_threshold_s",), f"has value {self.stop_threshold_s:g}. Must be more "
                  f"than slow_factor x ideal_cycle_s = {self.slow_factor:g} x "
                  f"{self.ideal_cycle_s:g} = {slow_s:g} s")]
            )
        return self


_OPTIONAL_SECTIONS = ("shifts", "defaults", "stop_reasons", "scrap_reasons", "operators")


class EdgeConfig(Frozen):
    edge: EdgeSection
    central: CentralSection | None = None
    shifts: tuple[ShiftConfig, ...] = ()
    defaults: Defaults = Defaults()
    machines: tuple[MachineConfig, ...] = Field(min_length=1)
    stop_reasons: tuple[StopCategory, ...] = DEFAULT_STOP_REASONS
    scrap_reasons: tuple[ScrapReason, ...] = DEFAULT_SCRAP_REASONS
    operators: tuple[Operator, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _resolve_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        # `shifts:` with nothing after it is YAML null: the same as leaving the section out.
        data = {k: v for k, v in data.items() if not (k in _OPTIONAL_SECTIONS and v is None)}
        machines = data.get("machines")
        if not isinstance(machines, list | tuple):
            return data
        try:
            defaults = Defaults.model_validate(data.get("defaults", {}))
        except ValidationError:
            return data  # reported at defaults.*; machines keep the built-in defaults
        inherited = {"stop_threshold_s": defaults.stop_threshold_s,
                     "slow_factor": defaults.slow_factor}
        data["machines"] = [
            {**inherited, **m} if isinstance(m, Mapping) else m for m in machines
        ]
        return data

    @field_validator("machines", "shifts", "scrap_reasons", "operators")
    @classmethod
    def _unique(cls, value: tuple[Any, ...], info: ValidationInfo) -> tuple[Any, ...]:
        key = {"machines": "id", "shifts": "name", "scrap_reasons": "code", "operators": "id"}
        unique(value, key[str(info.field_name)], str(info.field_name))
        if info.field_name == "operators":
            unique([o for o in value if o.badge], "badge", "operators")
        return value

    @field_validator("stop_reasons")
    @classmethod
    def _unique_reasons(cls, value: tuple[StopCategory, ...]) -> tuple[StopCategory, ...]:
        unique(value, "code", "stop_reasons")
        problems: list[tuple[Loc, str]] = []
        seen: dict[str, str] = {}
        for c, category in enumerate(value):
            for r, reason in enumerate(category.reasons):
                where = f"stop_reasons[{c}].reasons[{r}]"
                if reason.code in seen:
                    problems.append(((c, "reasons", r, "code"), f"has value {reason.code!r}, "
                                     f"already used by {seen[reason.code]}"))
                seen.setdefault(reason.code, where)
        if problems:
            raise Problems(problems)
        return value

    def machine(self, machine_id: str) -> MachineConfig:
        for machine in self.machines:
            if machine.id == machine_id:
                return machine
        raise KeyError(machine_id)


def parse_config(data: Mapping[str, Any], *, source: str = "<memory>") -> EdgeConfig:
    """Validate already-loaded YAML data; :class:`ConfigError` lists every issue."""
    if not isinstance(data, Mapping):
        issue = ConfigIssue("", f"has value {show(data)}. The top level must be a mapping "
                            "with edge:, machines: and optionally central:, shifts:, ...")
        raise ConfigError(source, (issue,))
    try:
        return EdgeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, issues_from(exc, data, EdgeConfig)) from None


def load_config(path: str | Path) -> EdgeConfig:
    """Read and validate the YAML file at ``path``; :class:`ConfigError` lists every issue."""
    source = str(path)
    data, node = read_yaml(Path(path))
    if data is None:
        raise ConfigError(source, (ConfigIssue("", "the file is empty. Expected the edge "
                                               "config: edge:, machines:, ..."),))
    try:
        return parse_config(data, source=source)
    except ConfigError as exc:
        raise exc.with_lines(node) from None


def check_config_command(path: str | Path) -> int:
    """``atelier-edge check-config``: "ok" and a summary (exit 0), or every error (exit 2)."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 2
    print("ok")
    for line in summary(config):
        print(line)
    return 0


def summary(config: EdgeConfig) -> list[str]:
    """A few lines describing the config, for people (no secrets)."""
    edge = config.edge
    lines = [f"edge {edge.id}: time zone {edge.timezone}, data in {edge.data_dir}, "
             f"api on {edge.api.host}:{edge.api.port}"]
    if config.central is None:
        lines.append("central: none (records stay in the edge outbox)")
    else:
        has_token = "set" if config.central.token() else "NOT set"
        lines.append(f"central {config.central.url} (token from ${config.central.token_env}: "
                     f"{has_token})")
    for m in config.machines:
        lines.append(f"machine {m.id}: {_where(m.source)}, ideal cycle {m.ideal_cycle_s:g} s, "
                     f"signals {', '.join(m.source.signals)}")
    for s in config.shifts:
        days = "every day" if s.days == ALL_DAYS else ", ".join(_DAY_NAMES[d][:3] for d in s.days)
        breaks = ", ".join(f"{b.start:%H:%M} ({b.minutes} min)" for b in s.breaks) or "none"
        night = " (next day)" if s.crosses_midnight else ""
        lines.append(f"shift {s.name}: {s.start:%H:%M}-{s.end:%H:%M}{night}, {days}, "
                     f"breaks {breaks}")
    if not config.shifts:
        lines.append("shifts: none")
    reasons = sum(len(c.reasons) for c in config.stop_reasons)
    lines.append(f"tablet: {reasons} stop reasons, {len(config.scrap_reasons)} scrap reasons, "
                 f"{len(config.operators)} operators")
    return lines


def _where(source: SourceConfig) -> str:
    if isinstance(source, OpcUaSource):
        return f"opcua {source.endpoint} ({source.mode}, security {source.security.policy})"
    if isinstance(source, ModbusSource):
        return f"modbus {source.host}:{source.port} unit {source.unit} every {source.poll_ms} ms"
    return f"mqtt {source.url} topic {source.topic} ({source.format}, qos {source.qos})"
