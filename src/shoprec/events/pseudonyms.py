"""Pseudonymous shopper ids: a keyed hash stands for each id wherever shoprec keeps one.

With ``privacy.pseudonymize`` the service, the importer and the CLI replace every shopper id by
``p_`` + the first 128 bits of HMAC-SHA256(key, id), base64url, before it reaches a store (the
event log, live state in memory or Redis, the dashboard). The mapping is deterministic, so a
returning shopper finds their history; without the key it cannot be reversed, and a guess of an
id can only be confirmed by someone who holds the key. Tokens and API requests still name the
raw id: it is hashed at the door.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

import polars as pl
from pydantic import SecretStr

from shoprec.types import Columns, UserId

from .schema import Event

#: Start of every pseudonym (tells them apart from raw ids in a dump).
PREFIX = "p_"


class Pseudonyms:
    """Maps shopper ids to their pseudonyms; with no key, the identity (the default).

    Args:
        key: The secret of the keyed hash (``None``: ids are kept as they are).
    """

    def __init__(self, key: SecretStr | None = None) -> None:
        self._key = key.get_secret_value().encode() if key is not None else None

    @property
    def active(self) -> bool:
        """Whether ids are replaced."""
        return self._key is not None

    def of(self, user_id: UserId) -> UserId:
        """The pseudonym of ``user_id`` (itself when inactive)."""
        if self._key is None:
            return user_id
        digest = hmac.new(self._key, user_id.encode(), hashlib.sha256).digest()[:16]
        return PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def events(self, events: Sequence[Event]) -> list[Event]:
        """``events`` with their shoppers' pseudonyms."""
        if self._key is None:
            return list(events)
        return [e.model_copy(update={"user_id": self.of(e.user_id)}) for e in events]

    def frame(self, events: pl.DataFrame) -> pl.DataFrame:
        """An event frame with its ``user_id`` column replaced by pseudonyms."""
        if self._key is None or Columns.USER not in events.columns:
            return events
        ids = events[Columns.USER].cast(pl.String)
        mapping = {user: self.of(user) for user in ids.unique().drop_nulls().to_list()}
        return events.with_columns(ids.replace_strict(mapping, default=None).alias(Columns.USER))
