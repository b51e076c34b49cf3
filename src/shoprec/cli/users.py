"""``shoprec users forget`` / ``unforget``: an erasure request, and letting a shopper back (#18).

Both work on the stores the settings name, so they run with or without a server. A running
server whose live state is in its own memory (no ``state_url``) keeps what it held of the
shopper until it restarts: on a running server, ``DELETE /v1/users/{id}`` forgets them there
too (live state, dashboard, co-visitation pairs) and is the call to prefer.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shoprec.events import (
    REJECTS_FOLDER,
    RedisConnection,
    RedisStateStore,
    connect_redis,
    forget_shopper,
    open_event_store,
    unforget_shopper,
)

from .app import ConfigOption, console, settings_from, users_app

UserArgument = Annotated[str, typer.Argument(help="The shopper's id.")]


@users_app.command("forget")
def forget(user_id: UserArgument, config: ConfigOption = None) -> None:
    """Forget a shopper: their events, shared live state and rows in HOME/rejects.

    From then on their events are acknowledged but not stored (a tombstone, kept as a hash of
    the id), by the API and by `shoprec data import` alike, until `shoprec users unforget`.
    A rejects file written elsewhere (`data import --rejects PATH`) is not searched.
    """
    settings = settings_from(config)
    store = open_event_store(settings.events_url, settings.store_path)
    redis: RedisConnection | None = None
    try:
        state = None
        if settings.state_url is not None:
            redis = connect_redis(settings.state_url)
            state = RedisStateStore(redis, store, ttl_s=settings.serving.state_ttl_s)
        rejects = settings.home / REJECTS_FOLDER
        erased = forget_shopper(user_id, store, state, rejects, settings.privacy.pseudonyms())
    finally:
        store.close()
        if redis is not None:
            redis.close()
    console.print(
        f"forgot the shopper: {erased.events_deleted} events and "
        f"{erased.rejects_deleted} rejected rows deleted; their events are refused from now on"
    )


@users_app.command("unforget")
def unforget(user_id: UserArgument, config: ConfigOption = None) -> None:
    """Accept a forgotten shopper's events again (what was forgotten stays forgotten)."""
    settings = settings_from(config)
    store = open_event_store(settings.events_url, settings.store_path)
    try:
        lifted = unforget_shopper(settings.privacy.pseudonyms().of(user_id), store)
    finally:
        store.close()
    console.print("their events are accepted again" if lifted else "the shopper was not forgotten")
