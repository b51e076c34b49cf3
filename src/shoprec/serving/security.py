"""Who may call what: API keys that fail closed, signed shopper tokens, rate limits, body size.

Three kinds of API key (``X-API-Key``), each accepted where a weaker one is: *read* keys for
recommendations, *write* keys for events and the catalogue, *admin* keys for everything. With
no key configured the service is open (``shoprec serve`` allows that only on loopback or with
``--insecure``). Once any key is configured it fails closed: a write needs a write or admin
key and an admin route an admin key, even when no key of that kind exists; reads stay public
unless read keys are set.

A shopper's own data (recommendations explained by their history, their cart, their events)
needs a server key or a *shopper token*: ``<expiry>.<signature>``, an HMAC-SHA256 over the
user id and the expiry with ``serving.token_secret``, minted by the shop's backend
(``shoprec token``, or :func:`mint_token`) and handed to that shopper's browser
(``X-Shopper-Token``). Keys and tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from enum import Enum

from fastapi import HTTPException
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoprec.settings import ServingSettings
from shoprec.types import UserId

#: Header carrying the API key.
API_KEY_HEADER = "X-API-Key"
#: Header carrying a shopper token.
TOKEN_HEADER = "X-Shopper-Token"


class Access(Enum):
    """What a route does, hence which keys it accepts."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


def key_matches(given: str, keys: Sequence[SecretStr]) -> bool:
    """Whether ``given`` equals one of ``keys``; each comparison takes constant time."""
    raw = given.encode()
    # No early exit: every key is compared, so timing tells nothing about which matched.
    found = False
    for key in keys:
        found |= hmac.compare_digest(raw, key.get_secret_value().encode())
    return found


def server_keys(config: ServingSettings) -> list[SecretStr]:
    """Every configured API key (empty: the service is open)."""
    return [*config.read_keys, *config.write_keys, *config.admin_keys]


def accepted_keys(config: ServingSettings, access: Access) -> list[SecretStr] | None:
    """The keys a route of ``access`` accepts; ``None`` when it is open to anyone."""
    if not server_keys(config):
        return None
    if access is Access.READ:
        return server_keys(config) if config.read_keys else None
    if access is Access.WRITE:
        return [*config.write_keys, *config.admin_keys]
    return list(config.admin_keys)


def check_key(given: str | None, config: ServingSettings, access: Access) -> None:
    """Demand a key that ``access`` accepts (see :func:`accepted_keys`).

    Raises:
        HTTPException: 401 when the key is missing, 403 when it is wrong or when no key of
            the needed kind is configured (the routes are closed, not open).
    """
    accepted = accepted_keys(config, access)
    if accepted is None:
        return
    if not accepted:
        raise HTTPException(
            403, f"{access.value} routes are closed: no {access.value} key is configured"
        )
    if given is None:
        raise HTTPException(401, f"missing {API_KEY_HEADER} header")
    if not key_matches(given, accepted):
        raise HTTPException(403, f"invalid {API_KEY_HEADER}")


def _signature(secret: SecretStr, user_id: UserId, expiry: int) -> str:
    digest = hmac.new(
        secret.get_secret_value().encode(), f"{user_id}\n{expiry}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def mint_token(secret: SecretStr, user_id: UserId, ttl_s: float, now: float | None = None) -> str:
    """A token letting its holder read and act as ``user_id`` for ``ttl_s`` seconds.

    Anyone with ``secret`` can compute it (the shop's backend, without calling shoprec): the
    expiry in whole seconds since the epoch, a dot, and the unpadded base64url HMAC-SHA256 with
    ``secret`` of the user id, a newline and the expiry (docs/security.md has the recipe).
    """
    expiry = math.ceil((time.time() if now is None else now) + ttl_s)
    return f"{expiry}.{_signature(secret, user_id, expiry)}"


def token_valid(secret: SecretStr, token: str, user_id: UserId, now: float | None = None) -> bool:
    """Whether ``token`` was minted with ``secret`` for ``user_id`` and has not expired."""
    expiry_text, _, signature = token.partition(".")
    if not expiry_text.isdigit() or len(expiry_text) > 12:
        return False
    expiry = int(expiry_text)
    if expiry < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(signature.encode(), _signature(secret, user_id, expiry).encode())


def check_shopper(
    user_ids: Sequence[UserId],
    key: str | None,
    token: str | None,
    config: ServingSettings,
    access: Access = Access.READ,
) -> None:
    """Demand a key for ``access`` (any server key to read), or the token of the one shopper.

    Raises:
        HTTPException: 401 with neither; 403 when the key is wrong or the token is invalid,
            expired or not of the one shopper ``user_ids`` name.
    """
    if not server_keys(config):
        return
    keys = server_keys(config) if access is Access.READ else accepted_keys(config, access)
    if key is not None:
        if key_matches(key, keys or []):
            return
        raise HTTPException(403, f"invalid {API_KEY_HEADER}")
    if token is None:
        raise HTTPException(
            401, f"a shopper's data needs an {API_KEY_HEADER} or their {TOKEN_HEADER}"
        )
    secret = config.token_secret
    if secret is None or len(set(user_ids)) != 1 or not token_valid(secret, token, user_ids[0]):
        raise HTTPException(403, f"{TOKEN_HEADER} is not valid for this shopper (or expired)")


class RateLimiter:
    """A token bucket per client: ``rate`` requests per second, bursts up to ``burst``.

    Args:
        rate: Requests per second refilled.
        burst: Bucket size.
        clients: Buckets kept (the least recently seen dropped first: it starts full again).
    """

    def __init__(self, rate: float, burst: int, clients: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clients = clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, time

    def take(self, client: str, now: float | None = None) -> float:
        """Spend one token of ``client``; 0.0 if allowed, else seconds until one is free.

        Runs on the event loop only (no lock needed).
        """
        now = time.monotonic() if now is None else now
        tokens, then = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens - 1.0 if wait == 0.0 else tokens, now)
        if len(self._buckets) > self._clients:
            self._buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    """Pure ASGI middleware answering 429 with ``Retry-After`` to clients over their rate.

    A client is its API key (hashed: the key is not kept) or, without one, its address. Limits
    are per replica: N replicas admit up to N times the rate.
    """

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 429."""
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        key = dict(scope.get("headers", [])).get(API_KEY_HEADER.lower().encode())
        client = hashlib.sha256(key).hexdigest() if key else str((scope.get("client") or ("?",))[0])
        wait = self.limiter.take(client)
        if wait == 0.0:
            await self.app(scope, receive, send)
            return
        body = b'{"detail":"too many requests: slow down and retry after the Retry-After seconds"}'
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(max(1, math.ceil(wait))).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


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
