"""create_app(ServerConfig) -> the reference server as a Starlette ASGI app.

Routes: the list endpoint, the session calls and (unless ``control=False``) the control
protocol under ``/control`` (PUT/GET state, POST faults). Every body is JSON; every decision
is the configured Behaviour's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from snapconform.contracts import default_contracts
from snapconform.server.behaviour import Behaviour, EndpointError, Reply
from snapconform.server.churn import churn_loop
from snapconform.server.defaults import default_state
from snapconform.server.runtime import Clock, Runtime, utc_now
from snapconform.server.store import serialise
from snapconform.state import (
    State,
    StateDocumentError,
    parse_state_document,
    state_to_document,
)
from snapconform.wire import SESSIONS_PATH, TASKS_PATH

CONTROL_PREFIX = "/control"


@dataclass(frozen=True)
class ServerConfig:
    """Everything that shapes one reference server."""

    #: The initial state; None: the generated default universe (``default_state(seed)``).
    state: State | None = None
    api_version: str = "8.0.3"
    #: Churn events per second (0: a still universe).
    churn_rate: float = 0.0
    behaviour: Behaviour = field(default_factory=Behaviour)
    #: Serve the control protocol under /control.
    control: bool = True
    seed: int = 0
    churn_interval: float = 0.5
    clock: Clock = utc_now
    #: Seconds every endpoint and session response is held back (0: answer at once), so the
    #: server plays a remote one; the control protocol is never delayed.
    latency: float = 0.0
    #: Each delay is ``latency`` plus a uniform draw in ``[-latency_jitter, +latency_jitter]``
    #: (never below 0), from a random stream seeded by ``seed``.
    latency_jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.latency < 0 or self.latency_jitter < 0:
            raise ValueError("latency and latency_jitter must be >= 0")


class _AnyMethod:
    """An endpoint that receives every HTTP method, so the Behaviour answers 405 itself."""

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self._app = request_response(endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


class ResponseDelay:
    """ASGI middleware: waits ``latency ± jitter`` seconds before the app answers.

    The wait is an ``asyncio.sleep``, so concurrent requests are delayed side by side (the event
    loop keeps serving); paths under *exempt_prefix* (the control protocol) are not delayed.
    """

    def __init__(
        self, app: ASGIApp, latency: float, jitter: float, seed: int, exempt_prefix: str
    ) -> None:
        self.app = app
        self._latency = latency
        self._jitter = jitter
        self._random = random.Random(seed)
        self._exempt_prefix = exempt_prefix

    def delay(self) -> float:
        """The next delay in seconds."""
        if self._jitter == 0:
            return self._latency
        return max(0.0, self._latency + self._random.uniform(-self._jitter, self._jitter))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self._exempt_prefix):
            await asyncio.sleep(self.delay())
        await self.app(scope, receive, send)


def _response(reply: Reply) -> Response:
    return Response(content=reply.body, status_code=reply.status, headers=dict(reply.headers))


def create_app(config: ServerConfig) -> Starlette:
    """The ASGI app; ``app.state.runtime`` is the live Runtime, ``app.state.config`` the config."""
    behaviour = config.behaviour
    state = config.state if config.state is not None else default_state(config.seed)
    runtime = Runtime(state, config.api_version, config.clock)

    def invalid_control(message_id: str, text: str) -> Response:
        return _response(
            behaviour.error_reply(
                EndpointError("INVALID_ARGUMENT", f"snapconform.control.{message_id}", text)
            )
        )

    async def tasks_endpoint(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _response(behaviour.method_not_allowed(("GET", "HEAD")))
        return _response(
            behaviour.list_tasks(runtime, request.headers, request.scope["query_string"])
        )

    async def sessions_endpoint(request: Request) -> Response:
        if not runtime.profile.get("sessions_endpoint"):
            # vSphere API 8.0.3 has no snapservice sessions API: Basic on every request.
            return _response(behaviour.not_found(request.url.path))
        handlers = {
            "POST": behaviour.create_session,
            "GET": behaviour.session_info,
            "DELETE": behaviour.end_session,
        }
        handler = handlers.get(request.method)
        if handler is None:
            return _response(behaviour.method_not_allowed(("DELETE", "GET", "POST")))
        return _response(handler(runtime, request.headers))

    async def control_state(request: Request) -> Response:
        if request.method == "GET":
            document = runtime.snapshot.state
            body = await run_in_threadpool(lambda: serialise(state_to_document(document)))
            return Response(body, 200, media_type=behaviour.media_type())
        if request.method != "PUT":
            return _response(behaviour.method_not_allowed(("GET", "PUT")))
        try:
            document = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return invalid_control("state_not_json", f"The state document is not JSON: {exc}.")
        try:
            new_state = await run_in_threadpool(parse_state_document, document)
        except StateDocumentError as exc:
            return invalid_control("invalid_state", str(exc))
        await run_in_threadpool(runtime.replace_state, new_state)
        return Response(status_code=204)

    async def control_faults(request: Request) -> Response:
        if request.method != "POST":
            return _response(behaviour.method_not_allowed(("POST",)))
        try:
            document = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return invalid_control("fault_not_json", f"The fault document is not JSON: {exc}.")
        errors = default_contracts().errors("fault", document)
        if errors:
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in errors[0].path)
            return invalid_control(
                "invalid_fault", f"Invalid fault document at ${path}: {errors[0].message}"
            )
        runtime.faults.arm(document["error_type"], document["count"])
        return Response(status_code=204)

    async def not_found(request: Request, exc: Exception) -> Response:
        return _response(behaviour.not_found(request.url.path))

    async def internal_error(request: Request, exc: Exception) -> Response:
        # A safety net only: no traceback and no request detail leaves the server.
        return _response(
            behaviour.error_reply(
                EndpointError(
                    "ERROR",
                    "snapconform.server.internal_error",
                    f"Internal error in the reference server ({type(exc).__name__}).",
                )
            )
        )

    routes = [
        Route(TASKS_PATH, _AnyMethod(tasks_endpoint)),
        Route(SESSIONS_PATH, _AnyMethod(sessions_endpoint)),
    ]
    if config.control:
        routes += [
            Route(f"{CONTROL_PREFIX}/state", _AnyMethod(control_state)),
            Route(f"{CONTROL_PREFIX}/faults", _AnyMethod(control_faults)),
        ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        churn: asyncio.Task[None] | None = None
        if config.churn_rate > 0:
            churn = asyncio.create_task(
                churn_loop(runtime, config.churn_rate, config.seed, config.churn_interval)
            )
        try:
            yield
        finally:
            if churn is not None:
                churn.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await churn

    handlers: dict[int | type[Exception], Callable[[Request, Exception], Awaitable[Response]]]
    handlers = {404: not_found, Exception: internal_error}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.config = config
    if config.latency > 0 or config.latency_jitter > 0:
        app.add_middleware(
            ResponseDelay,
            latency=config.latency,
            jitter=config.latency_jitter,
            seed=config.seed,
            exempt_prefix=CONTROL_PREFIX + "/",
        )
    return app
