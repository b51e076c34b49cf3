"""Forgetting a shopper in the stores (an erasure request), and letting a forgotten one back.

:func:`forget_shopper` is the one sequence the service's ``DELETE /v1/users/{id}`` and the
``shoprec users forget`` command both run (#18):

1. tombstone the shopper in the event store, so every append that commits from then on drops
   their events (a concurrent ingest, a client's retry, a re-imported file);
2. delete their stored events and event ids: the ones that committed before the tombstone;
3. drop their live state (after 2, so a shared state store can mark what it must not take
   back, see :class:`~shoprec.events.RedisStateStore`);
4. delete their rows from the rejects files under the home's ``rejects`` folder, where
   ``shoprec data import --skip-invalid`` writes them by default.

A rejects file the operator named elsewhere (``--rejects PATH``) is the operator's file: it is
not searched. :func:`unforget_shopper` lifts the tombstone; nothing forgotten comes back.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from shoprec.errors import DataError
from shoprec.types import UserId

from .live_state import StateStore
from .pseudonyms import Pseudonyms
from .store import EventStore

log = logging.getLogger("shoprec.events")

#: The folder under the home where imports write rejected rows by default.
REJECTS_FOLDER = "rejects"


@dataclass(frozen=True)
class Erasure:
    """What forgetting a shopper removed.

    Attributes:
        events_deleted: Stored events deleted.
        rejects_deleted: Rows deleted from rejects files.
    """

    events_deleted: int
    rejects_deleted: int


def forget_shopper(
    user_id: UserId,
    store: EventStore,
    state: StateStore | None = None,
    rejects: Path | None = None,
    pseudonyms: Pseudonyms | None = None,
) -> Erasure:
    """Forget a shopper: tombstone, stored events, live state, rejected rows (in that order).

    Args:
        user_id: The shopper (their real id).
        store: The event store.
        state: Their live state's store (``None``: none to drop here).
        rejects: The folder of rejects files to clean (``None``: none).
        pseudonyms: How the stores name shoppers (``None``: by their real ids). Rejects files
            are rows of the input files, so they are cleaned of the real id too.

    Returns:
        What was removed.

    Raises:
        StoreError: A store failed; call again (every step is idempotent).
        DataError: A rejects file cannot be rewritten.
    """
    stored_as = pseudonyms.of(user_id) if pseudonyms is not None else user_id
    store.tombstone(stored_as)
    deleted = store.forget_user(stored_as)
    if state is not None:
        state.forget(stored_as)
    rows = 0
    if rejects is not None:
        rows = sum(forget_in_rejects(rejects, name) for name in {user_id, stored_as})
    return Erasure(deleted, rows)


def unforget_shopper(user_id: UserId, store: EventStore) -> bool:
    """Accept a forgotten shopper's events again; whether they were forgotten."""
    return store.untombstone(user_id)


def forget_in_rejects(folder: Path, user_id: UserId) -> int:
    """Delete every row holding ``user_id`` as a whole value from the CSV files under ``folder``.

    Any column counts, not only ``user_id``: a rejected row may be rejected precisely because
    its columns are not where they belong. A file is replaced by its cleaned copy at once.

    Returns:
        How many rows were deleted.

    Raises:
        DataError: A file holding the id cannot be rewritten.
    """
    if not folder.is_dir():
        return 0
    deleted = 0
    for path in sorted(folder.rglob("*.csv")):
        try:
            frame = pl.read_csv(path, infer_schema=False)
        except (OSError, pl.exceptions.PolarsError) as error:
            log.warning("%s: not a readable rejects file, left as it is: %s", path, error)
            continue
        holds = pl.any_horizontal(pl.col(c) == user_id for c in frame.columns).fill_null(False)
        kept = frame.filter(~holds) if frame.width else frame
        if kept.height == frame.height:
            continue
        scratch = path.with_name(f".{path.name}.tmp")
        try:
            kept.write_csv(scratch)
            os.replace(scratch, path)
        except OSError as error:
            scratch.unlink(missing_ok=True)
            raise DataError(f"{path}: cannot remove a forgotten shopper's rows: {error}") from error
        deleted += frame.height - kept.height
    return deleted
