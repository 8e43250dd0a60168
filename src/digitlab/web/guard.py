"""Deadlines for what a client controls: a socket that sends nothing, or half a request, is closed.

uvicorn's ``timeout_keep_alive`` only runs between two requests: a connection that never finishes
its headers, or stops sending its body, stays open for ever, and with ``limit_concurrency`` such
sockets count as busy connections, so 64 of them made every user's request a 503. This protocol is
uvicorn's own h11 one with three additions:

- the request line and headers must arrive within ``HEADERS_TIMEOUT_S`` of the connection opening
  (or of the previous response): a total deadline, so a byte every few seconds does not extend it;
- a body must arrive within ``BODY_TIMEOUT_S`` of its headers (5 MB at 170 kB/s);
- one client address may hold at most ``MAX_WAITING_PER_CLIENT`` connections that have not sent a
  whole request, and the server at most ``MAX_CONNECTIONS``: beyond them a new connection is closed
  at once, so one machine's idle sockets cannot use up the server's file descriptors.

The app then limits requests in progress itself (``InFlightLimit``): idle sockets are no requests.
"""

from __future__ import annotations

import asyncio
import json

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADERS_TIMEOUT_S = 10.0  # a browser sends its headers in one packet; 10 s allows a very bad link
BODY_TIMEOUT_S = 30.0  # the largest allowed body (5 MB) at 170 kB/s
MAX_WAITING_PER_CLIENT = 32  # a browser opens at most 6 connections per host
MAX_CONNECTIONS = 200  # well under the usual file-descriptor limits (256 on macOS, 1024 on Linux)
MAX_IN_FLIGHT = 64  # requests being answered at once; beyond this a 503 at once instead of a queue


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header and body deadlines and caps on waiting connections."""

    deadline: asyncio.TimerHandle | None = None
    # "headers" (a request is due), "body" (reading one), "app" (answering it), "idle" (kept alive
    # after a response: uvicorn's keep-alive timer closes it; its first new byte starts "headers")
    phase: str = "headers"

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else None
        waiting = sum(1 for other in self.connections
                      if getattr(other, "phase", None) in ("headers", "idle") and other.client and other.client[0] == host)
        if len(self.connections) > MAX_CONNECTIONS or waiting > MAX_WAITING_PER_CLIENT:
            transport.close()  # connection_lost follows and forgets it
            return
        self._enter("headers")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        phase = "headers" if state is h11.IDLE else "body" if state is h11.SEND_BODY else "app"
        if phase != self.phase:
            self._enter(phase)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # arms uvicorn's keep-alive timer for the idle wait
        self._cancel()
        self.phase = "idle"  # the next request's first bytes start a fresh header deadline (data_received)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _enter(self, phase: str) -> None:
        self._cancel()
        self.phase = phase
        if phase == "headers":
            self.deadline = self.loop.call_later(HEADERS_TIMEOUT_S, self._expire)
        elif phase == "body":
            self.deadline = self.loop.call_later(BODY_TIMEOUT_S, self._expire)

    def _cancel(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _expire(self) -> None:
        """Too slow: close. A request's app sees a disconnect; nothing was promised to a half request."""
        self.deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class InFlightLimit:
    """ASGI middleware: at most ``limit`` HTTP requests answered at once; more get a JSON 503 at once."""

    def __init__(self, app: ASGIApp, limit: int = MAX_IN_FLIGHT) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            body = json.dumps({"detail": f"the server is answering {self.limit} requests; try again in a moment",
                               "error": "busy"}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"retry-after", b"1")]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
