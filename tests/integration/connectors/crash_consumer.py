"""Child process for the MQTT crash test: receives, never acknowledges, waits to be killed.

``python -m tests.integration.connectors.crash_consumer URL TOPIC CLIENT_ID`` prints
``connected`` and then the running sample count after each batch.
"""

from __future__ import annotations

import asyncio
import sys

from connectors import MqttSignalSpec, MqttSourceSpec, build
from connectors.base import ConnectionState


async def main(url: str, topic: str, client_id: str) -> None:
    spec = MqttSourceSpec(
        machine="oven-03",
        url=url,
        topic=topic,
        client_id=client_id,
        session_expiry_s=60,
        signals=(MqttSignalSpec("count", "counters.total"),),
    )
    async with build(spec) as conn:
        for _ in range(1000):
            if conn.state is ConnectionState.connected:
                break
            await asyncio.sleep(0.02)
        print("connected", flush=True)
        received = 0
        async for batch in conn.batches():  # never batch.ack(): as if the store never committed
            received += len(batch.samples)
            print(received, flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
