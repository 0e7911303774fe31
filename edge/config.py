"""The edge config: YAML parsed once into frozen pydantic models (DESIGN.md, "Edge config").

``load_config(path)`` / ``parse_config(mapping)`` return an :class:`EdgeConfig` or raise
:class:`ConfigError` listing *every* issue found, each at its YAML path
(``machines[1].source.signals.count.type``) with the bad value and, from a file, its line.
Times of day are local to ``edge.timezone``; durations are in seconds (``_s``) or minutes.
Secrets never live in the file: only the names of the environment variables holding them
(``token_env``, ``password_env``). Split by concept, all re-exported here: sources and signals in
:mod:`edge.config_sources`, shifts in :mod:`edge.config_shifts`, the operator tablet in
:mod:`edge.config_tablet`, YAML reading and error reporting in :mod:`edge.config_errors`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from edge.config_errors import ConfigError, ConfigIssue, issues_from, read_yaml
from edge.config_shifts import ALL_DAYS, DAY_NAMES, BreakConfig, ShiftConfig, check_no_overlap
from edge.config_sources import (
    EnvName,
    Frozen,
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
    unique_badges,
    unique_reason_codes,
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
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a directory: OSError
        raise ValueError(
            f"has value {show(value)}. Must be an IANA time zone, e.g. Europe/Paris or UTC"
        ) from None
    return value


class ApiSection(Frozen):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port (tests)


class EdgeSection(Frozen):
    """``data_dir`` is relative to the working directory of the process."""

    id: Slug
    data_dir: Path
    timezone: Annotated[str, AfterValidator(_timezone)]
    api: ApiSection = ApiSection()
    retention_days: int = Field(default=7, ge=1)
    queue_max_samples: int = Field(default=200_000, ge=1)

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


class Defaults(Frozen):
    """Machine settings unless a machine overrides them. 300 s: the common small-stop limit."""

    stop_threshold_s: float = Field(default=300.0, gt=0)
    slow_factor: float = Field(default=2.0, ge=1.0)
    micro_stops_in_availability: bool = False


_BUILT_IN = Defaults()
_COUNTER_BITS = {"int16": 16, "uint16": 16, "int32": 32, "uint32": 32, "int64": 64}


class MachineConfig(Frozen):
    """One machine. ``stop_threshold_s`` and ``slow_factor`` are resolved from ``defaults``."""

    id: Slug
    name: str | None = None
    ideal_cycle_s: float = Field(gt=0)
    stop_threshold_s: float = Field(default=_BUILT_IN.stop_threshold_s, gt=0)
    slow_factor: float = Field(default=_BUILT_IN.slow_factor, ge=1.0)
    counter_width: int | None = Field(default=None, ge=1, le=64)
    max_rate_per_s: float | None = Field(default=None, gt=0)
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
                [
                    (
                        ("stop_threshold_s",),
                        f"has value {self.stop_threshold_s:g}. Must be more "
                        f"than slow_factor x ideal_cycle_s = {self.slow_factor:g} x "
                        f"{self.ideal_cycle_s:g} = {slow_s:g} s",
                    )
                ]
            )
        return self


_UNIQUE_KEYS = {"machines": "id", "shifts": "name", "scrap_reasons": "code", "operators": "id"}
_OPTIONAL_SECTIONS = ("shifts", "defaults", "stop_reasons", "scrap_reasons", "operators")


class EdgeConfig(Frozen):
    edge: EdgeSection
    central: CentralSection | None = None
    shifts: tuple[ShiftConfig, ...] = ()
    defaults: Defaults = Defaults()
    machines: tuple[MachineConfig, ...]
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
        inherited = {
            "stop_threshold_s": defaults.stop_threshold_s,
            "slow_factor": defaults.slow_factor,
        }
        data["machines"] = [{**inherited, **m} if isinstance(m, Mapping) else m for m in machines]
        return data

    @field_validator("shifts")
    @classmethod
    def _shifts_apart(cls, value: tuple[ShiftConfig, ...]) -> tuple[ShiftConfig, ...]:
        unique(value, "name", "shifts")
        check_no_overlap(value)
        return value

    @field_validator("machines", "scrap_reasons", "operators")
    @classmethod
    def _unique(cls, value: tuple[Any, ...], info: ValidationInfo) -> tuple[Any, ...]:
        if info.field_name == "machines" and not value:
            raise ValueError("is empty. An edge needs at least one machine")
        unique(value, _UNIQUE_KEYS[str(info.field_name)], str(info.field_name))
        if info.field_name == "operators":
            unique_badges(value)
        return value

    @field_validator("stop_reasons")
    @classmethod
    def _unique_reasons(cls, value: tuple[StopCategory, ...]) -> tuple[StopCategory, ...]:
        unique(value, "code", "stop_reasons")
        unique_reason_codes(value)
        return value

    def machine(self, machine_id: str) -> MachineConfig:
        for machine in self.machines:
            if machine.id == machine_id:
                return machine
        raise KeyError(machine_id)


def parse_config(data: Mapping[str, Any], *, source: str = "<memory>") -> EdgeConfig:
    """Validate already-loaded YAML data; :class:`ConfigError` lists every issue."""
    if not isinstance(data, Mapping):
        issue = ConfigIssue(
            "",
            f"has value {show(data)}. The top level must be a mapping "
            "with edge:, machines: and optionally central:, shifts:, ...",
        )
        raise ConfigError(source, (issue,))
    try:
        return EdgeConfig.model_validate(data)
    except ValidationError as exc:
        issues = issues_from(exc, data, EdgeConfig)
        # pydantic checks a list's ids only once all its items are valid: report duplicates anyway.
        issues += [i for i in _raw_duplicates(data) if i not in issues]
        raise ConfigError(source, issues) from None


def _raw_duplicates(data: Mapping[str, Any]) -> list[ConfigIssue]:
    issues = []
    for section, key in _UNIQUE_KEYS.items():
        items = data.get(section)
        first: dict[object, int] = {}
        for i, item in enumerate(items if isinstance(items, list | tuple) else ()):
            value = item.get(key) if isinstance(item, Mapping) else None
            if not isinstance(value, str):
                continue
            if value in first:
                message = f"has value {show(value)}, already used by {section}[{first[value]}]"
                issues.append(ConfigIssue.at((section, i, key), message))
            first.setdefault(value, i)
    return issues


def load_config(path: str | Path) -> EdgeConfig:
    """Read and validate the YAML file at ``path``; :class:`ConfigError` lists every issue."""
    source = str(path)
    data, node = read_yaml(Path(path))
    if data is None:
        raise ConfigError(
            source,
            (
                ConfigIssue(
                    "", "the file is empty. Expected the edge config: edge:, machines:, ..."
                ),
            ),
        )
    try:
        return parse_config(data, source=source)
    except ConfigError as exc:
        raise exc.with_lines(node) from None


def check_config_command(path: str | Path) -> int:
    """``atelier-edge check-config``: "ok" and a summary (exit 0), or every error (exit 2)."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        # One write each: a reader that stops early (`| head`) gets no broken-pipe traceback.
        print("\n".join(exc.lines()), file=sys.stderr)
        return 2
    print("\n".join(["ok", *summary(config)]))
    return 0


def summary(config: EdgeConfig) -> list[str]:
    """A few lines describing the config, for people (no secrets)."""
    edge = config.edge
    lines = [
        f"edge {edge.id}: time zone {edge.timezone}, data in {edge.data_dir}, "
        f"api on {edge.api.host}:{edge.api.port}"
    ]
    if config.central is None:
        lines.append("central: none (records stay in the edge outbox)")
    else:
        has_token = "set" if config.central.token() else "NOT set"
        lines.append(
            f"central {config.central.url} (token from ${config.central.token_env}: {has_token})"
        )
    for m in config.machines:
        lines.append(
            f"machine {m.id}: {_where(m.source)}, ideal cycle {m.ideal_cycle_s:g} s, "
            f"signals {', '.join(m.source.signals)}"
        )
    for s in config.shifts:
        days = "every day" if s.days == ALL_DAYS else ", ".join(DAY_NAMES[d][:3] for d in s.days)
        breaks = ", ".join(f"{b.start:%H:%M} ({b.minutes} min)" for b in s.breaks) or "none"
        night = " (next day)" if s.crosses_midnight else ""
        lines.append(
            f"shift {s.name}: {s.start:%H:%M}-{s.end:%H:%M}{night}, {days}, breaks {breaks}"
        )
    if not config.shifts:
        lines.append("shifts: none")
    reasons = sum(len(c.reasons) for c in config.stop_reasons)
    lines.append(
        f"tablet: {reasons} stop reasons, {len(config.scrap_reasons)} scrap reasons, "
        f"{len(config.operators)} operator(s)"
    )
    return lines


def _where(source: SourceConfig) -> str:
    if isinstance(source, OpcUaSource):
        return f"opcua {source.endpoint} ({source.mode}, security {source.security.policy})"
    if isinstance(source, ModbusSource):
        return f"modbus {source.host}:{source.port} unit {source.unit} every {source.poll_ms} ms"
    return f"mqtt {source.url} topic {source.topic} ({source.format}, qos {source.qos})"
