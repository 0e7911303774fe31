"""Servers for the browser tests, each on its own thread and event loop (Playwright's sync API
owns the test's thread): an app served by uvicorn, and a real edge (simulators + agent + edge
app + tablet) fed by the bundled PLC simulators."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

T = TypeVar("T")


class LoopThread:
    """Runs ``main(ready)`` on a new loop in a thread until :meth:`stop`."""

    def __init__(self, main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
        self._main = main
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="browser-test-server", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._body())
        except BaseException as exc:  # reported to the test by start()/stop()
            self.error = exc
            self._started.set()

    async def _body(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self._main(self._stop)

    def start(self, ready: Callable[[], bool], timeout_s: float = 60.0) -> None:
        self._thread.start()
        for _ in range(int(timeout_s * 20)):
            if ready() or self.error is not None:
                break
            self._started.wait(0.05)
        if self.error is not None:
            raise RuntimeError("server thread failed") from self.error
        if not ready():
            raise TimeoutError("server did not start")

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def stop(self) -> None:
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        if self.error is not None:
            raise RuntimeError("server thread failed") from self.error


def uvicorn_server(app: FastAPI, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )
    return uvicorn.Server(config)


async def serve_until(server: uvicorn.Server, stop: asyncio.Event) -> None:
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await task


class AppServer:
    """An ASGI app on 127.0.0.1:port (uvicorn, own thread)."""

    def __init__(self, app: FastAPI, port: int) -> None:
        self.server = uvicorn_server(app, port)
        self.url = f"http://127.0.0.1:{port}"
        self._thread = LoopThread(lambda stop: serve_until(self.server, stop))

    def __enter__(self) -> AppServer:
        self._thread.start(lambda: self.server.started)
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.stop()


class RealEdge:
    """Edge agent + the edge app with the tablet, on one background loop; with ``scenario`` the
    bundled simulators feed it, with ``sync`` it pushes its outbox to central and pulls the
    dispatch (the production :class:`edge.sync.SyncClient`)."""

    def __init__(self, scenario: Any, config: Any, port: int, *, sync: bool = False) -> None:
        self.scenario = scenario
        self.config = config
        self.sync = sync
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.agent: Any = None
        self.server: uvicorn.Server | None = None
        self._thread = LoopThread(self._main)

    async def _main(self, stop: asyncio.Event) -> None:
        from edge.agent import Agent
        from edge.api.app import create_app
        from edge.orders import apply_dispatch
        from edge.sync import SyncClient
        from edge.tablet import edge_tablet_router
        from simulators.runner import SimulationRunner

        async with AsyncExitStack() as stack:
            if self.scenario is not None:
                await stack.enter_async_context(SimulationRunner(self.scenario))
            factories = None if self.scenario is not None else {}
            agent = Agent(
                self.config, factories=factories, serve_api=False, analytics_interval_s=0.5
            )
            await stack.enter_async_context(agent)
            if self.sync:

                async def on_dispatch(dispatch: Any) -> None:
                    body = dispatch.model_dump(mode="json")
                    await agent.writer.call(apply_dispatch, body, time.time_ns())

                client = SyncClient(
                    self.config,
                    agent.writer,
                    on_dispatch=on_dispatch,
                    wait_s=2.0,
                    backoff_cap_s=1.0,
                )
                await stack.enter_async_context(client)
            app = create_app(agent.services)
            app.include_router(edge_tablet_router(self.config, agent.writer, agent.services))
            self.agent = agent
            self.server = uvicorn_server(app, self.port)
            await serve_until(self.server, stop)

    def call_store(self, fn: Callable[..., T], *args: Any) -> T:
        return self._thread.call(self.agent.writer.call(fn, *args))

    def __enter__(self) -> RealEdge:
        self._thread.start(lambda: self.server is not None and self.server.started, 90)
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.stop()


ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
