"""OPC UA connector (asyncua ``Client``): subscriptions by default, polling as an option.

Each session: connect (security None or Basic256Sha256 Sign/SignAndEncrypt, certificate, user
and a password read from the environment), then either one subscription with a monitored item
per signal (sampling_interval 0, a per-item server queue, timestamps both) or a ``read`` of all
nodes per ``poll_ms``. asyncua's own auto-reconnect stays off: when its watchdog reports the
connection lost, the session ends and the supervisor builds a new client, session *and*
subscription. Notifications are handled one publish response at a time (one batch each), not
through asyncua's per-item handler tasks, which is the hot path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.subscription import Subscription
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.uaerrors import UaError

from connectors.backoff import Backoff
from connectors.base import BadInput, ConfigurationError, ConnectError, Sample, WriteError
from connectors.opcua_values import data_value_sample, to_variant
from connectors.runtime import SupervisedConnector
from connectors.specs import OpcUaSourceSpec
from connectors.values import ValueMap, state_codes

_IO_ERRORS = (OSError, asyncio.TimeoutError, UaError, ConnectionError)


class _BatchSubscription(Subscription):
    """A Subscription that hands each whole publish result to one callback."""

    def __init__(self, session: Any, params: ua.CreateSubscriptionParameters, sink: Any) -> None:
        super().__init__(session, params, handler=sink)
        self._sink = sink

    async def publish_callback(self, publish_result: ua.PublishResult) -> None:
        self.last_publish_at = time.monotonic()
        data = publish_result.NotificationMessage.NotificationData
        if data:
            await self._sink.on_notifications(data)


class OpcUaConnector(SupervisedConnector):
    """One OPC UA server, the signals of one machine."""

    def __init__(self, spec: OpcUaSourceSpec) -> None:
        super().__init__(spec.machine, backoff=Backoff(spec.reconnect.min_s, spec.reconnect.max_s))
        self.spec = spec
        # sampled signals first, then the write-only ones: index < self._sampled is sampled
        self._signals = (*spec.signals, *spec.write_signals)
        self._sampled = len(spec.signals)
        self._names = [s.name for s in self._signals]
        if len(set(self._names)) < len(self._names):
            raise ConfigurationError(f"source {spec.machine}: a signal name is used twice")
        self._maps = [
            ValueMap(s.scale, s.offset, state_codes(s.states, signal=s.name)) for s in spec.signals
        ]
        self._configured: list[ua.NodeId] = []
        for s in self._signals:
            try:
                self._configured.append(ua.NodeId.from_string(s.node))
            except (ValueError, UaError) as exc:
                raise ConfigurationError(
                    f"signal {s.name!r}: bad node id {s.node!r}: {exc}"
                ) from None
        self._node_ids: list[ua.NodeId | None] = list(self._configured)  # resolved per session
        self._client: Client | None = None
        self._write_types: dict[str, ua.VariantType] = {}

    # -- session -------------------------------------------------------------------------------
    async def _session(self) -> None:
        spec = self.spec
        client = Client(
            spec.endpoint,
            timeout=spec.timeout_ms / 1000,
            watchdog_intervall=spec.watchdog_ms / 1000,
        )
        lost = asyncio.Event()

        async def on_lost(exc: Exception) -> None:
            lost.set()

        client.connection_lost_callback = on_lost
        connected = False
        try:
            await self._secure(client)
            await client.connect()
            connected = True
            self._node_ids = await self._resolve(client)
            self._client = client
            self._write_types.clear()
            if spec.mode == "subscribe":
                await self._subscribe(client)
                self._connected()
                await lost.wait()
            else:
                self._connected()
                await self._poll(client, lost)
            raise ConnectError(f"{spec.endpoint}: connection lost")
        except _IO_ERRORS as exc:
            raise ConnectError(f"{spec.endpoint}: {type(exc).__name__}: {exc}") from exc
        finally:
            self._client = None
            await _close(client, polite=connected)

    async def _resolve(self, client: Client) -> list[ua.NodeId | None]:
        """``nsu=<uri>;...`` node ids -> the index this server gives the URI (servers differ, and
        some refuse ``nsu=`` in requests); an unknown URI is bad input for that signal only."""
        if not any(getattr(n, "NamespaceUri", None) for n in self._configured):
            return list(self._configured)
        namespaces = await client.get_namespace_array()
        resolved: list[ua.NodeId | None] = []
        for signal, node_id in zip(self._signals, self._configured, strict=True):
            uri = getattr(node_id, "NamespaceUri", None)
            if not uri:
                resolved.append(node_id)
            elif uri in namespaces:
                index = namespaces.index(uri)
                resolved.append(ua.NodeId(node_id.Identifier, ua.Int16(index), node_id.NodeIdType))
            else:
                self._bad("unknown_namespace", f"{signal.name}: {uri}")
                resolved.append(None)
        return resolved

    async def _secure(self, client: Client) -> None:
        sec = self.spec.security
        if sec.user:
            client.set_user(sec.user)
        if sec.password_env:
            password = os.environ.get(sec.password_env)
            if password is None:
                raise ConnectError(f"environment variable {sec.password_env} is not set")
            client.set_password(password)
        if sec.policy == "None":
            return
        if not sec.certificate or not sec.private_key:
            raise ConfigurationError("Basic256Sha256 needs a certificate and a private key")
        mode = (
            ua.MessageSecurityMode.Sign
            if sec.mode == "Sign"
            else ua.MessageSecurityMode.SignAndEncrypt
        )
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            certificate=sec.certificate,
            private_key=sec.private_key,
            server_certificate=sec.server_certificate,
            mode=mode,
        )

    async def _subscribe(self, client: Client) -> None:
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=self.spec.publishing_ms,
            RequestedLifetimeCount=10000,
            RequestedMaxKeepAliveCount=client.get_keepalive_count(self.spec.publishing_ms),
            MaxNotificationsPerPublish=0,  # 0 = no limit
            PublishingEnabled=True,
            Priority=0,
        )
        subscription = _BatchSubscription(client.uaclient.session, params, self)
        await subscription.init()
        sampled = self._node_ids[: self._sampled]
        requests = [self._item_request(i, nid) for i, nid in enumerate(sampled) if nid]
        results = await subscription.create_monitored_items(requests)
        for request, result in zip(requests, results, strict=True):
            if isinstance(result, ua.StatusCode):
                index = request.RequestedParameters.ClientHandle - 1
                self._bad("unknown_node", f"{self.spec.signals[index].node}: {result.name}")

    def _item_request(self, index: int, node_id: ua.NodeId) -> ua.MonitoredItemCreateRequest:
        item = ua.ReadValueId(NodeId=node_id, AttributeId=AttributeIds.Value)
        params = ua.MonitoringParameters(
            ClientHandle=index + 1,  # the signal index, so a notification maps without lookups
            SamplingInterval=0.0,  # 0 = as fast as the server samples (default would be 50 ms)
            QueueSize=self.spec.queue_size,
            DiscardOldest=True,
        )
        return ua.MonitoredItemCreateRequest(
            ItemToMonitor=item,
            MonitoringMode=ua.MonitoringMode.Reporting,
            RequestedParameters=params,
        )

    async def on_notifications(self, data: list[Any]) -> None:
        """All notifications of one publish response -> one batch."""
        now_ns = time.time_ns()
        samples: list[Sample] = []
        machine, names, maps = self.name, self._names, self._maps
        for notification in data:
            if not isinstance(notification, ua.DataChangeNotification):
                continue
            for item in notification.MonitoredItems:
                index = item.ClientHandle - 1
                try:
                    ts_ns, value = data_value_sample(item.Value, maps[index], now_ns)
                except BadInput as exc:
                    self._bad(exc.reason, f"{names[index]}: {exc.detail}")
                    if exc.reason == "unmapped_state":
                        samples.append(Sample(now_ns, machine, names[index], 0.0))
                    continue
                samples.append(Sample(ts_ns, machine, names[index], value))
        await self._emit(samples)

    async def _poll(self, client: Client, lost: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        sampled = self._node_ids[: self._sampled]
        indexed = [(i, client.get_node(nid)) for i, nid in enumerate(sampled) if nid]
        period = self.spec.poll_ms / 1000
        due = loop.time()
        while not lost.is_set() and not self._closing:
            results = await client.read_attributes([n for _, n in indexed], AttributeIds.Value)
            now_ns = time.time_ns()
            samples: list[Sample] = []
            for (index, _), dv in zip(indexed, results, strict=True):
                try:
                    ts_ns, value = data_value_sample(dv, self._maps[index], now_ns)
                except BadInput as exc:
                    reason = "unknown_node" if "NodeIdUnknown" in exc.detail else exc.reason
                    self._bad(reason, f"{self._names[index]}: {exc.detail}")
                    if exc.reason == "unmapped_state":
                        samples.append(Sample(now_ns, self.name, self._names[index], 0.0))
                    continue
                samples.append(Sample(ts_ns, self.name, self._names[index], value))
            await self._emit(samples)
            due += period
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), max(0.0, due - loop.time()))

    # -- downlink ------------------------------------------------------------------------------
    async def write(self, signal: str, value: float | str) -> None:
        """Write ``value`` to the node of a sampled signal or of one of ``write_signals``,
        converted to the node's own data type."""
        try:
            index = self._names.index(signal)
        except ValueError:
            raise WriteError(f"source {self.name}: no signal {signal!r}") from None
        client, node_id = self._client, self._node_ids[index]
        if client is None or node_id is None:
            raise WriteError(f"source {self.name}: not connected")
        node = client.get_node(node_id)
        try:
            variant_type = self._write_types.get(signal)
            if variant_type is None:
                variant_type = await node.read_data_type_as_variant_type()
                self._write_types[signal] = variant_type
            await node.write_value(ua.DataValue(to_variant(value, variant_type)))
        except (ValueError, *_IO_ERRORS) as exc:
            raise WriteError(f"source {self.name}: write {signal}={value!r} failed: {exc}") from exc


async def _close(client: Client, *, polite: bool) -> None:
    # disconnect() also cancels the session's tasks (publish loop, watchdog), so it runs after
    # every session that connected, even a lost one (bounded: a dead server never answers);
    # after a failed connect there is only the socket to drop.
    if polite:
        with contextlib.suppress(*_IO_ERRORS, Exception):
            await asyncio.wait_for(client.disconnect(), 2.0)
    with contextlib.suppress(Exception):
        client.disconnect_socket()
