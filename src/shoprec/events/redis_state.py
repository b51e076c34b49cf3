"""Live shopper state shared by every replica, in Redis.

Each shopper's state (latest events, cart, purchases, session) is one JSON value under
``{prefix}shopper:{user_id}``, changed only by two Lua scripts, so each change is atomic and
one round trip:

* ``apply`` adds acknowledged events. Every event carries its store sequence number, and the
  state remembers the last one applied and the last one its store read held, so an event is
  applied once and in sequence order, whichever replica or retry delivers it: a re-delivery
  is skipped, and a batch that arrives after a later one of the same shopper (two requests
  racing) marks the state *partial*, to be rebuilt in order at the next read. A shopper with
  no state yet gets a partial state holding just the new events.
* ``load`` installs the state rebuilt from the event store (:meth:`EventStore.tail`) when a
  read finds none or a partial one, merging the partial state's events newer than the store's
  read (in sequence order), so an event applied while the store was being read is kept.

Forgetting a shopper (#18) deletes the key and leaves a *forget mark*
(``{prefix}forgotten:{tombstone key}``, never the raw id) holding the store's last sequence
number after their events were deleted. ``apply`` skips the shopper's events up to that
number: those are the batches that were stored before the store's tombstone and whose apply
trails the forget (later ones the store dropped), so no replica's late apply brings the
shopper's state back. A rebuild reads the store's last number before the tail and counts it as
loaded, which skips the same events.

Redis is a cache of the event store, as the in-memory state is: a key may expire (``ttl_s``:
anonymous sessions end), Redis may restart empty, and the next read rebuilds the shopper
from the store. When Redis cannot be reached, reads answer from the last state this process
saw (or the store), and shoppers whose events could not be applied are invalidated once Redis
is back, so nothing stale outlives an outage.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from typing import Any

import redis

from shoprec.errors import StoreError
from shoprec.types import Columns, EventType, HistoryEvent, UserId

from .history import HISTORY_LENGTH
from .live_state import ShopperState, replay
from .redis_connection import RedisConnection
from .schema import Event
from .store import SEQ, EventStore, tombstone_key

log = logging.getLogger("shoprec.events")

#: Purchases remembered per shopper (the "already bought" rule reads them).
PURCHASES_KEPT = 500

# One event: [item_id, event_type, timestamp, seq, session_id or ""].
_STEP = f"""
local function remove(list, value)
  for i = #list, 1, -1 do if list[i] == value then table.remove(list, i) end end
end
local function contains(list, value)
  for i = 1, #list do if list[i] == value then return true end end
  return false
end
local function has_seq(list, seq)
  for i = 1, #list do if list[i][4] == seq then return true end end
  return false
end
local function step(s, e, cap)
  if e[4] <= s.loaded or has_seq(s.h, e[4]) then return end  -- already held
  if e[4] < s.seq then  -- older than what is held: keep it, rebuild in order at the next read
    table.insert(s.h, e)
    s.complete = 0
    return
  end
  table.insert(s.h, e)
  while #s.h > cap do table.remove(s.h, 1) end
  local item, kind = e[1], e[2]
  if kind == '{EventType.ADDTOCART.value}' then
    if not contains(s.cart, item) then table.insert(s.cart, item) end
  elseif kind == '{EventType.REMOVEFROMCART.value}' then
    remove(s.cart, item)
  elseif kind == '{EventType.PURCHASE.value}' or kind == '{EventType.COUPON_REDEEM.value}' then
    remove(s.cart, item)
    if not contains(s.bought, item) then table.insert(s.bought, item) end
    while #s.bought > {PURCHASES_KEPT} do table.remove(s.bought, 1) end
  end
  if e[5] ~= '' then s.session = e[5] end
  s.seq = e[4]
end
local function fresh(complete)
  return {{seq = 0, loaded = 0, complete = complete, h = {{}}, cart = {{}}, bought = {{}},
    session = ''}}
end
"""

# KEYS: per shopper their state key and forget-mark key, then the active-shoppers sorted set.
# ARGV: JSON list of event lists (one per shopper), history cap, TTL, now, then user ids.
_APPLY = (
    _STEP
    + """
local batches = cjson.decode(ARGV[1])
local cap, ttl, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local active = KEYS[#KEYS]
for i = 1, #batches do
  local forgotten = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  local raw = redis.call('GET', KEYS[2 * i - 1])
  local s = raw and cjson.decode(raw) or fresh(0)
  local applied = false
  for _, e in ipairs(batches[i]) do
    if e[4] > forgotten then
      step(s, e, cap)
      applied = true
    end
  end
  if raw or applied then
    redis.call('SET', KEYS[2 * i - 1], cjson.encode(s), 'EX', ttl)
    redis.call('ZADD', active, now, ARGV[4 + i])
  end
end
redis.call('ZREMRANGEBYSCORE', active, '-inf', now - ttl)
return 0
"""
)

# KEYS: the state key, the active-shoppers set. ARGV: JSON list of the stored events, the
# store's last seq among them, history cap, TTL, now, user id. Returns the state's JSON.
_LOAD = (
    _STEP
    + """
local raw = redis.call('GET', KEYS[1])
local old = raw and cjson.decode(raw)
if old and old.complete == 1 then return raw end
local loaded_seq, cap, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local s = fresh(1)
for _, e in ipairs(cjson.decode(ARGV[1])) do step(s, e, cap) end
s.seq = math.max(s.seq, loaded_seq)
s.loaded = s.seq
if old then
  local newer = {}
  for _, e in ipairs(old.h) do if e[4] > loaded_seq then table.insert(newer, e) end end
  table.sort(newer, function(a, b) return a[4] < b[4] end)
  for _, e in ipairs(newer) do step(s, e, cap) end
end
local out = cjson.encode(s)
redis.call('SET', KEYS[1], out, 'EX', ttl)
redis.call('ZADD', KEYS[2], tonumber(ARGV[5]), ARGV[6])
return out
"""
)


def _state(user_id: UserId, value: dict[str, Any]) -> ShopperState:
    # An empty Lua table encodes as {}: ``or []`` reads it as an empty list.
    history = tuple(HistoryEvent(e[0], e[1], float(e[2])) for e in value["h"] or [])
    return ShopperState(
        user_id=user_id,
        history=history,
        cart=tuple(value["cart"] or []),
        purchased=frozenset(value["bought"] or []),
        session_id=value["session"] or None,
    )


class RedisStateStore:
    """A :class:`~shoprec.events.StateStore` in Redis, shared by every replica.

    Args:
        connection: The connection (and key prefix).
        store: The durable event log the state is rebuilt from.
        history_length: Latest events kept per shopper.
        ttl_s: A shopper's state expires after this long without an event (rebuilt on return).
        fallback_capacity: Shoppers whose last read state this process keeps to answer from
            while Redis is unreachable.
    """

    def __init__(
        self,
        connection: RedisConnection,
        store: EventStore,
        history_length: int = HISTORY_LENGTH,
        ttl_s: float = 7 * 86_400.0,
        fallback_capacity: int = 10_000,
    ) -> None:
        self._redis = connection
        self._store = store
        self._length = history_length
        self._ttl = max(1, int(ttl_s))
        self._apply = connection.client.register_script(_APPLY)
        self._load = connection.client.register_script(_LOAD)
        self._active = connection.key("shoppers")
        self._fallback: OrderedDict[UserId, bytes] = OrderedDict()
        self._fallback_capacity = fallback_capacity
        self._stale: set[UserId] = set()  # events durable but not applied: invalidate later
        self._lock = threading.Lock()

    def _key(self, user_id: UserId) -> str:
        return self._redis.key("shopper", user_id)

    def get(self, user_id: UserId) -> ShopperState:
        """The shopper's current state (rebuilt from the store if Redis holds none).

        While Redis (or the store, to rebuild from) is unreachable: the last state this process
        saw of the shopper, else the one rebuilt from the store, else an empty state (never an
        error).
        """
        try:
            self._invalidate_stale()
            raw: bytes | None = self._redis.client.get(self._key(user_id))  # type: ignore[assignment]
            value: dict[str, Any] = json.loads(raw) if raw is not None else {}
            if raw is None or value["complete"] != 1:
                raw = self._rebuild(user_id)
                value = json.loads(raw)
        except (redis.RedisError, StoreError) as error:
            log.warning("live state unavailable, answering from a local copy: %s", error)
            return self._fallback_state(user_id)
        with self._lock:
            # The raw JSON, not the parsed state: bytes are not tracked by the garbage
            # collector, while 10,000 parsed histories are millions of objects each full
            # collection would walk (20 ms pauses on the request path, measured).
            self._fallback[user_id] = raw
            self._fallback.move_to_end(user_id)
            while len(self._fallback) > self._fallback_capacity:
                self._fallback.popitem(last=False)
        return _state(user_id, value)

    def _forget_mark(self, user_id: UserId) -> str:
        return self._redis.key("forgotten", tombstone_key(user_id))

    def _rebuild(self, user_id: UserId) -> Any:
        # Read before the tail, which then holds every event of the shopper up to here (see
        # the module docstring): the rebuilt state counts them all as loaded.
        loaded = self._store.last_seq()
        frame = self._store.tail(user_id, self._length)
        columns = (Columns.ITEM, Columns.EVENT_TYPE, Columns.TIMESTAMP, SEQ, Columns.SESSION)
        events = [
            [item, kind, ts, seq, session or ""]
            for item, kind, ts, seq, session in frame.select(columns).iter_rows()
        ]
        last = max(loaded, events[-1][3] if events else 0)
        return self._load(
            keys=[self._key(user_id), self._active],
            args=[json.dumps(events), last, self._length, self._ttl, time.time(), user_id],
        )

    def _fallback_state(self, user_id: UserId) -> ShopperState:
        with self._lock:
            raw = self._fallback.get(user_id)
        if raw is not None:
            return _state(user_id, json.loads(raw))
        try:
            return replay(user_id, self._store.latest(user_id, self._length), self._length)
        except StoreError:
            return ShopperState(user_id=user_id)

    def apply(self, events: Sequence[Event], last_seq: int) -> None:
        """Apply an acknowledged batch whose events hold the sequence numbers up to ``last_seq``.

        One round trip for the whole batch. If Redis cannot be reached the batch is durable
        anyway; its shoppers' states are invalidated once Redis answers again.
        """
        if not events:
            return
        first = last_seq - len(events) + 1
        batches: defaultdict[UserId, list[list[Any]]] = defaultdict(list)
        for seq, e in enumerate(events, start=first):
            batches[e.user_id].append(
                [e.item_id, e.event_type.value, e.timestamp, seq, e.session_id or ""]
            )
        users = list(batches)
        args: list[str | float] = [json.dumps(list(batches.values())), self._length, self._ttl]
        try:
            self._invalidate_stale()
            keys = [key for user in users for key in (self._key(user), self._forget_mark(user))]
            self._apply(keys=[*keys, self._active], args=[*args, time.time(), *users])
        except redis.RedisError as error:
            log.warning("live state not updated for %d shoppers: %s", len(users), error)
            with self._lock:
                self._stale.update(users)
        with self._lock:
            for user_id in users:
                self._fallback.pop(user_id, None)

    def _invalidate_stale(self) -> None:
        with self._lock:
            stale, self._stale = self._stale, set()
        if not stale:
            return
        try:
            self._redis.client.delete(*map(self._key, stale))
        except redis.RedisError:
            with self._lock:
                self._stale |= stale
            raise

    def forget(self, user_id: UserId) -> None:
        """Drop the shopper's state here and in Redis, and mark them forgotten there.

        Tombstone the shopper and forget their stored events first: the mark holds the
        store's last sequence number read now, and every apply skips the shopper's events up
        to it (see the module docstring). It lives as long as a state would.

        Raises:
            BackendUnavailableError: Redis cannot be reached (nothing was dropped there).
        """
        with self._lock:
            self._fallback.pop(user_id, None)
        forgotten_through = self._store.last_seq()
        try:
            pipe = self._redis.client.pipeline()
            pipe.delete(self._key(user_id))
            pipe.zrem(self._active, user_id)
            pipe.set(self._forget_mark(user_id), forgotten_through, ex=self._ttl)
            pipe.execute()
        except redis.RedisError as error:
            raise self._redis.unavailable(error) from error

    def size(self) -> int:
        """Shoppers with live state (an event or a read within the TTL); 0 if unreachable."""
        try:
            return int(self._redis.client.zcount(self._active, time.time() - self._ttl, "+inf"))
        except redis.RedisError:
            return 0
