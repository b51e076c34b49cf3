"""API keys (constant-time comparison, never logged) and the request body size limit."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from fastapi import HTTPException
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Header carrying the API key.
API_KEY_HEADER = "X-API-Key"


def key_matches(given: str, keys: Sequence[SecretStr]) -> bool:
    """Whether ``given`` equals one of ``keys``; each comparison takes constant time."""
    raw = given.encode()
    # No early exit: every key is compared, so timing tells nothing about which matched.
    found = False
    for key in keys:
        found |= hmac.compare_digest(raw, key.get_secret_value().encode())
    return found


def check_key(given: str | None, keys: Sequence[SecretStr], also: Sequence[SecretStr] = ()) -> None:
    """Demand one of ``keys`` or ``also`` in ``given``; anything passes when ``keys`` is empty.

    ``also`` lists stronger keys accepted too (an admin key may write).

    Raises:
        HTTPException: 401 when the key is missing, 403 when it is wrong; the key itself
            never appears in a response or a log.
    """
    if not keys:
        return
    if given is None:
        raise HTTPException(401, f"missing {API_KEY_HEADER} header")
    if not key_matches(given, [*keys, *also]):
        raise HTTPException(403, f"invalid {API_KEY_HEADER}")


class _TooLarge(Exception):
    """Raised from ``receive`` once a streamed body passes the limit."""


class BodyLimitMiddleware:
    """Pure ASGI middleware answering 413 to bodies over ``max_bytes`` (declared or streamed).

    Args:
        app: The wrapped application.
        max_bytes: Largest accepted body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Reject or pass the request on with a size-counting ``receive``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = f'{{"detail":"request body larger than {self.max_bytes} bytes"}}'.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
