"""A cap on request bodies: an upload larger than the cap gets a 413 before it fills memory.

A pure ASGI middleware: a declared ``Content-Length`` over the cap is refused without reading a
byte; a body sent without one (chunked) is counted as it arrives and refused once it passes the cap.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MEGABYTE = 1024 * 1024
MAX_PHOTO_MEGABYTES = 20  # a phone photo as it leaves the camera; the page shrinks large ones before sending
MULTIPART_ALLOWANCE = 64 * 1024  # the form's boundaries and headers around the file
DEFAULT_MAX_BODY_BYTES = MAX_PHOTO_MEGABYTES * MEGABYTE + MULTIPART_ALLOWANCE


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        size = f"{limit / MEGABYTE:.0f} MB" if limit >= MEGABYTE else f"{limit:,} bytes"  # a server's own smaller cap
        super().__init__(413, f"the upload is larger than {size}; send a smaller photo (or crop it)")


class BodySizeLimit:
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
                await reply(send, 400, f"Content-Length must be a number of bytes, got {declared[:40]!r}", "bad_request")
                return
            if int(declared) > self.max_body_bytes:
                await reply(send, 413, str(BodyTooLarge(self.max_body_bytes).detail), "too_large")
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


async def reply(send: Send, status: int, detail: str, error: str) -> None:
    """Answer with the app's error JSON without involving the app."""
    body = json.dumps({"detail": detail, "error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
