"""Messages between the replicas of one shop over Redis pub/sub: a new model, catalogue changes.

Everything a replica holds in memory that another replica can change is announced here: the
replica that swapped in a model version announces it (the others reload within a round trip
instead of waiting for their pointer watcher), and one that changed the catalogue names the
items (the others re-read them from the shared catalogue store). Pub/sub delivers only to
those listening, so a replica that was cut off from Redis cannot know what it missed: when
its subscription comes back it calls ``on_resync``, which re-reads everything.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import redis

from shoprec.events import RedisConnection

log = logging.getLogger("shoprec.serving")

#: Handler of one topic's messages (the decoded JSON payload).
Handler = Callable[[Any], object]
# Seconds between attempts to resubscribe while Redis is unreachable.
_RETRY_S = 0.5


class ReplicaBus:
    """Publish to and listen on one shop's replica channel (one listener thread).

    Args:
        connection: The connection (and key prefix; the channel is ``{prefix}replicas``).
        handlers: What to do with each topic's messages.
        on_resync: Called when the subscription starts again after it was lost.
    """

    def __init__(
        self,
        connection: RedisConnection,
        handlers: Mapping[str, Handler],
        on_resync: Callable[[], None],
    ) -> None:
        self._redis = connection
        self._channel = connection.key("replicas")
        self._handlers = dict(handlers)
        self._on_resync = on_resync
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pubsub: redis.client.PubSub | None = None
        #: This replica's id: its own announcements come back to it and are skipped.
        self.replica_id = uuid.uuid4().hex

    def publish(self, topic: str, payload: Any) -> None:
        """Announce ``payload`` (JSON-serialisable) on ``topic`` to the other replicas.

        Best effort: while Redis is unreachable nothing is sent (the others resync when
        their subscription comes back).
        """
        message = json.dumps({"topic": topic, "payload": payload, "from": self.replica_id})
        try:
            self._redis.client.publish(self._channel, message)
        except redis.RedisError as error:
            log.warning("replicas not told of %s: %s", topic, error)

    def start(self) -> None:
        """Start listening in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, name="shoprec-bus", daemon=True)
            self._thread.start()

    def _listen(self) -> None:
        subscribed_before = False
        while not self._stop.is_set():
            try:
                self._pubsub = self._redis.client.pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(self._channel)
                if subscribed_before:
                    self._on_resync()
                subscribed_before = True
                while not self._stop.is_set():
                    message = self._pubsub.get_message(timeout=0.2)
                    if message is not None:
                        self._dispatch(message["data"])
            except (redis.RedisError, OSError, ValueError) as error:
                if self._stop.is_set():
                    return
                log.warning("replica channel lost, resubscribing: %s", error)
                self._stop.wait(_RETRY_S)
            finally:
                if self._pubsub is not None:
                    self._pubsub.close()

    def _dispatch(self, data: bytes) -> None:
        try:
            message = json.loads(data)
            if message["from"] == self.replica_id:
                return
            handler = self._handlers[message["topic"]]
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed replica message: %.200r", data)
            return
        try:
            handler(message["payload"])
        except Exception:  # one bad message must not stop the listener
            log.exception("handling a %s message failed", message["topic"])

    def close(self) -> None:
        """Stop listening."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
