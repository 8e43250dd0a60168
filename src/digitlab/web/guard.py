"""What one client may cost the server: time, connections, requests in flight and body bytes.

Deadlines for what a client controls: a socket that sends nothing, or half a request, is closed.

uvicorn's ``timeout_keep_alive`` only runs between two requests: a connection that never finishes
its headers, or stops sending its body, stays open for ever, and with ``limit_concurrency`` such
sockets count as busy connections, so 64 of them made every user's request a 503. This protocol is
uvicorn's own h11 one with three additions:

- the request line and headers must arrive within ``HEADERS_TIMEOUT_S`` of the connection opening
  (or of the previous response): a total deadline, so a byte every few seconds does not extend it;
- a body must arrive within ``BODY_TIMEOUT_S`` of its headers (a 20 MB photo at 350 kB/s);
- one client address may hold at most ``MAX_WAITING_PER_CLIENT`` connections that have not sent a
  whole request: a connection beyond that is *busy*: it has ``BUSY_HEADERS_TIMEOUT_S`` to send its
  request, which is answered 503 with Retry-After, and then closed. A school class behind one NAT
  address sending 150 drawings at once gets an answer for each (the page tries again); one
  machine's idle sockets are closed within a second;
- the server holds at most ``MAX_CONNECTIONS``: beyond that a new connection is closed at once, the
  one case without an answer, so that no number of sockets uses up the server's file descriptors.

The app then limits requests in progress itself (``InFlightLimit``): idle sockets are no requests.
And it caps request bodies (``BodySizeLimit``): a declared ``Content-Length`` over the cap is refused
without reading a byte; a body sent without one (chunked) is counted as it arrives and refused once it
passes the cap, so an upload never fills memory. Every refusal is :func:`reply`'s JSON.
"""

from __future__ import annotations

import asyncio
import json

import h11
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from digitlab.preprocess.decode import MAX_PHOTO_MEGABYTES, MEGABYTE

HEADERS_TIMEOUT_S = 10.0  # a browser sends its headers in one packet; 10 s allows a very bad link
BODY_TIMEOUT_S = 60.0  # the largest allowed body (a 20 MB photo) at 350 kB/s: a slow school uplink
MAX_WAITING_PER_CLIENT = 32  # a browser opens at most 6 connections per host
MAX_CONNECTIONS = 200  # well under the usual file-descriptor limits (256 on macOS, 1024 on Linux)
MAX_IN_FLIGHT = 64  # requests being answered at once; beyond this a 503 at once instead of a queue
BUSY_HEADERS_TIMEOUT_S = 1.0  # a burst's requests follow their connections within milliseconds; idle sockets go fast
RETRY_AFTER_S = 1  # a drawing is answered in milliseconds: a second later the burst is over
MULTIPART_ALLOWANCE = 64 * 1024  # the form's boundaries and headers around the file


def body_limit(photo_megabytes: float) -> int:
    """The request body that carries a photo of up to ``photo_megabytes`` in the page's multipart form."""
    return int(photo_megabytes * MEGABYTE) + MULTIPART_ALLOWANCE


DEFAULT_MAX_BODY_BYTES = body_limit(MAX_PHOTO_MEGABYTES)


async def reply(send: Send, status: int, detail: str, error: str, close: bool = False) -> None:
    """Answer with the app's error JSON without involving the app; a 503 (busy) says when to try again."""
    body = json.dumps({"detail": detail, "error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(b"retry-after", str(RETRY_AFTER_S).encode())] if status == 503 else []
    headers += [(b"connection", b"close")] if close else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def answer_busy(scope: Scope, receive: Receive, send: Send) -> None:
    """The app of a busy connection: its body is read (and dropped) first, so that closing it resets nothing."""
    if scope["type"] != "http":
        return
    message = await receive()
    while message["type"] == "http.request" and message.get("more_body", False):
        message = await receive()
    await reply(send, 503, "too many connections from your address at once; try again in a moment", "busy", close=True)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header and body deadlines and caps on waiting connections."""

    deadline: asyncio.TimerHandle | None = None
    # "headers" (a request is due), "body" (reading one), "app" (answering it), "idle" (kept alive
    # after a response: uvicorn's keep-alive timer closes it; its first new byte starts "headers")
    phase: str = "headers"
    busy: bool = False  # over its address's share of waiting connections: answered 503 (see the module docstring)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else None
        waiting = sum(1 for other in self.connections
                      if getattr(other, "phase", None) in ("headers", "idle") and other.client and other.client[0] == host)
        if len(self.connections) > MAX_CONNECTIONS:
            transport.close()  # connection_lost follows and forgets it
            return
        self.busy = waiting > MAX_WAITING_PER_CLIENT
        if self.busy:
            self.app = answer_busy  # this connection's request gets the 503 (uvicorn runs self.app per request)
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
            self.deadline = self.loop.call_later(BUSY_HEADERS_TIMEOUT_S if self.busy else HEADERS_TIMEOUT_S, self._expire)
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
            await reply(send, 503, f"the server is answering {self.limit} requests; try again in a moment", "busy")
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        size = f"{limit / MEGABYTE:.0f} MB" if limit >= MEGABYTE else f"{limit:,} bytes"  # a server's own smaller cap
        super().__init__(413, f"the upload is larger than {size}; send a smaller photo (or crop it)")


class BodySizeLimit:
    """ASGI middleware: request bodies over ``max_body_bytes`` get a 413 before they fill memory."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await reply(send, 400, f"Content-Length must be a number of bytes, got {declared[:40]!r}", "bad_request", close=True)
                return
            if int(declared) > self.max_body_bytes:
                await reply(send, 413, str(BodyTooLarge(self.max_body_bytes).detail), "too_large", close=True)
                return
        await self.app(scope, self.counting(receive), send)

    def counting(self, receive: Receive) -> Receive:
        """``receive`` that raises :class:`BodyTooLarge` (a 413 for the app) past the cap."""
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        return counted
