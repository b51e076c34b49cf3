"""A Redis connection for shoprec's shared live state, opened from a ``redis://`` URL.

Every key shoprec writes starts with one prefix (default ``shoprec:``), so several shops, or
tests, can share one Redis server. The prefix comes from the URL's ``prefix`` query parameter
(``redis://host:6379/0?prefix=shop-a:``). Timeouts are short on purpose: a request that
reads live state must fail fast when Redis is gone, so the service can answer from what it
has instead of hanging (docs/scaling.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shoprec.errors import BackendUnavailableError, ConfigError

#: Key prefix when the URL names none.
DEFAULT_PREFIX = "shoprec:"
#: Seconds a command or a connection attempt may take before Redis counts as unreachable.
DEFAULT_TIMEOUT_S = 0.5
_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class RedisConnection:
    """A Redis client (thread-safe, pooled) and the prefix of shoprec's keys on it.

    Attributes:
        client: The client; replies are bytes.
        prefix: Start of every key shoprec writes.
        where: The server's address without credentials, for messages.
    """

    client: redis.Redis
    prefix: str
    where: str

    def key(self, *parts: str) -> str:
        """The full key of ``parts`` joined with ``:`` under the prefix."""
        return self.prefix + ":".join(parts)

    def unavailable(self, error: Exception) -> BackendUnavailableError:
        """The error to raise when a command failed because Redis cannot be reached."""
        return BackendUnavailableError(f"Redis at {self.where} is unavailable: {error}")

    def ping(self) -> None:
        """Check that the server answers.

        Raises:
            BackendUnavailableError: It does not.
        """
        try:
            self.client.ping()
        except redis.RedisError as error:
            raise self.unavailable(error) from error

    def close(self) -> None:
        """Close the pooled connections."""
        self.client.close()


def connect_redis(url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> RedisConnection:
    """Open a pooled client for ``url`` (no command is sent yet).

    Args:
        url: ``redis://[user:password@]host:port/db[?prefix=...]`` (also ``rediss://``,
            ``unix://``).
        timeout_s: Socket and connect timeout in seconds.

    Raises:
        ConfigError: The URL is not a Redis URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ConfigError(f"state URL {parts.scheme}://...: expected one of {_SCHEMES}")
    query = parse_qsl(parts.query)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    # redis-py passes unknown query parameters on to the connection class, which rejects them.
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    client = redis.Redis.from_url(
        urlunsplit(parts._replace(query=rest)),
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=10,
        # No retries: the caller falls back at once (redis-py retries 3 times by default).
        retry=Retry(NoBackoff(), 0),
    )
    where = parts.hostname or parts.path
    if parts.port:
        where = f"{where}:{parts.port}"
    return RedisConnection(client, prefix, where)
