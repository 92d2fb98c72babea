"""`python -m voice`: serve voice sessions until interrupted.

Start-up order: bind the port (so a busy port fails before anything else starts), open the
call store (`--db`, unless `--no-record`), start the bundled completions server unless
`--llm-url` names one, load the local models, then serve.
SIGTERM (or Ctrl-C) drains (`voice.drain`): new sessions are refused and `/ready` says 503,
and each live session ends once its current exchange is over, up to `--drain-timeout`. Then,
or at a second signal, every websocket still open is closed (code 1012) and every WebRTC peer
(the app's shutdown, so uvicorn runs with its lifespan on); the sessions end (each closes its
completion request, so the server kills that CLI), then the server child is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator

import uvicorn
from loguru import logger

from server.port_holder import address_in_use
from voice.app import create_app
from voice.calls.store import CallStore, StoreError
from voice.llm_server import BundledLlmServer, LlmEndpoint
from voice.service_factory import preload_models
from voice.sessions import Sessions
from voice.settings import Settings, load_settings
from voice.tracing import start_tracing

# The JS client sends 512-byte audio frames and small RTVI messages.
_WS_MAX_MESSAGE_BYTES = 1024 * 1024
_GRACEFUL_SHUTDOWN_SECS = 10
_PURGE_EVERY_SECS = 3600
_LOG_FORMAT = (
    "<green>{time:HH:mm:ss.SSS}</green> | <level>{level: <7}</level> | {extra[session]} | "
    "<cyan>{name}</cyan>:<cyan>{function}</cyan>:<cyan>{line}</cyan> - <level>{message}</level>"
)


class _Server(uvicorn.Server):
    """uvicorn that announces where it listens, without its own signal handling.

    uvicorn re-raises a captured signal once it returns, which on SIGTERM would kill this
    process before it stops the completions server; `serve()` sets `should_exit` instead.
    """

    def __init__(self, config: uvicorn.Config, announcement: str):
        super().__init__(config)
        self._announcement = announcement

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(self._announcement, flush=True)


def main(argv: list[str] | None = None) -> None:
    """Run the voice app with settings from `argv` (default: the command line) and the env."""
    settings = load_settings(sys.argv[1:] if argv is None else argv, os.environ)
    logger.remove()
    logger.configure(extra={"session": "-"})
    logger.add(sys.stderr, level=settings.log_level.upper(), format=_LOG_FORMAT)
    try:
        listener = socket.create_server((settings.host, settings.port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            sys.exit(f"cannot listen: {address_in_use(settings.host, settings.port)}")
        sys.exit(f"cannot listen on {settings.host}:{settings.port}: {e}")
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        sys.exit(asyncio.run(serve(settings, listener)))


async def serve(settings: Settings, listener: socket.socket) -> int:
    """Serve on `listener` until SIGINT or SIGTERM, then shut everything down.

    Returns the exit code: 0, or 1 if the bundled server died under the running app.
    """
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    server: _Server | None = None
    app = None

    drained: asyncio.Task[None] | None = None

    def on_signal() -> None:
        nonlocal drained
        if app is not None:
            app.state.sessions.shutting_down = True
        if server is None or not server.started:
            assert main_task is not None
            main_task.cancel()  # still starting: unwind, stopping what already started
        elif drained is None and settings.drain_timeout > 0:
            drained = asyncio.create_task(_drain(app.state.sessions, server, settings))
        elif server.should_exit:
            server.force_exit = True
        else:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)

    bundled: BundledLlmServer | None = None
    async with contextlib.AsyncExitStack() as stack:
        # First, so a store that cannot be opened fails before anything slow starts.
        store = await stack.enter_async_context(call_store(settings)) if settings.record else None
        if settings.llm_url:
            endpoint = LlmEndpoint(base_url=settings.llm_url, api_key=settings.llm_api_key)
        else:
            bundled = BundledLlmServer(cli=settings.llm_cli, model=settings.llm_model)
            endpoint = await stack.enter_async_context(bundled)
        await preload_models(settings)
        if settings.tracing:
            stack.callback(start_tracing())
        logger.info(f"answering with {endpoint.base_url}, model {settings.llm_model}")
        host, port = listener.getsockname()[:2]
        app = create_app(settings, endpoint, store)
        server = _Server(
            uvicorn.Config(
                app,
                lifespan="on",  # runs the app's shutdown: open WebRTC peers are closed
                log_level=settings.log_level.lower(),
                access_log=False,
                ws_max_size=_WS_MAX_MESSAGE_BYTES,
                timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECS,
            ),
            announcement=f"Voice agent ready: open http://{host}:{port}/ (the portal widget demo); "
            f"websocket clients connect to ws://{host}:{port}/ws-client; "
            f"Twilio's voice webhook is POST http://{host}:{port}/",
        )
        died = asyncio.Event()
        if bundled is not None:
            # Runs before the bundled server's own exit (the stack unwinds in reverse).
            stack.callback(_watch(bundled, server, died).cancel)
        await server.serve(sockets=[listener])
    logger.info("voice app stopped")
    return 1 if died.is_set() else 0


@contextlib.asynccontextmanager
async def call_store(settings: Settings) -> AsyncIterator[CallStore]:
    """The call records' store, open while the app serves; records past `--keep-calls-days`
    are deleted now and every hour."""
    try:
        store = CallStore.open(settings.db)
    except StoreError as e:
        sys.exit(str(e))
    logger.info(f"recording calls in {store.where} (browse them at /calls; --no-record: off)")

    async def purge() -> None:
        while True:
            cutoff = time.time() - settings.keep_calls_days * 86400
            with contextlib.suppress(Exception):
                if gone := await store.purge(cutoff):
                    logger.info(
                        f"deleted {gone} call records older than {settings.keep_calls_days:g} days"
                    )
            await asyncio.sleep(_PURGE_EVERY_SECS)

    purging = asyncio.create_task(purge())
    try:
        yield store
    finally:
        purging.cancel()
        await store.close()


async def _drain(sessions: Sessions, server: _Server, settings: Settings) -> None:
    """Drain, wait for the live sessions (up to `--drain-timeout`), then stop serving."""
    sessions.drain.begin()
    started = time.monotonic()
    try:
        await asyncio.wait_for(sessions.slots.none_live.wait(), settings.drain_timeout)
        logger.info(f"drained: every session ended within {time.monotonic() - started:.1f} s")
    except TimeoutError:
        logger.warning(
            f"drain timeout: ending the {sessions.slots.live} session(s) still live after "
            f"{settings.drain_timeout:g} s"
        )
    server.should_exit = True


def _watch(bundled: BundledLlmServer, server: _Server, died: asyncio.Event) -> asyncio.Task[int]:
    """Stop serving, and set `died`, if the bundled server exits by itself."""

    def on_exit(task: asyncio.Task[int]) -> None:
        if not task.cancelled():
            logger.error(f"the completions server exited with {task.result()}; stopping")
            died.set()
            server.should_exit = True

    task = asyncio.create_task(bundled.exited())
    task.add_done_callback(on_exit)
    return task


if __name__ == "__main__":
    main()
