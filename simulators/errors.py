"""Errors of the simulators package.

SimulatorError
├── ScenarioError      a scenario file is unreadable or invalid (message names the YAML path)
├── PortInUseError     a protocol server could not bind its port
└── BrokerError        the MQTT broker is unreachable or refused us
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of every error raised by ``simulators``."""


class ScenarioError(SimulatorError):
    def __init__(self, source: str, issues: list[tuple[str, str]]) -> None:
        self.source = source
        self.issues = tuple(issues)
        lines = "; ".join(f"{path}: {message}" for path, message in issues)
        super().__init__(f"{source}: {lines}")


class PortInUseError(SimulatorError):
    def __init__(self, what: str, host: str, port: int) -> None:
        self.what, self.host, self.port = what, host, port
        super().__init__(f"{what}: cannot listen on {host}:{port} (port in use?)")


class BrokerError(SimulatorError):
    """The MQTT broker could not be reached or refused the connection."""
