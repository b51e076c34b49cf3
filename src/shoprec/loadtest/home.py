"""What the servers under load serve: a home with the dataset and a model, and scratch backends.

:func:`build_home` stores a dataset in a home folder (SQLite) and publishes a model there;
:func:`fill_stores` stores it in whichever event store and catalogue a deployment names.
The shared backends a bench runs on are scratch space inside the user's servers, made and
removed here, so a bench never reads or writes the user's own data: a PostgreSQL schema of
its own (:func:`scratch_schema`; the stores use unqualified table names, so the connection's
``search_path`` puts every table there) and a Redis key prefix of its own
(:func:`scratch_prefix`).
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from shoprec.data import Interactions
from shoprec.events import connect_redis, open_catalog, open_event_store
from shoprec.jobs import train_and_publish
from shoprec.models import FitOptions, ModelVersions, read_artifact_meta
from shoprec.settings import ServingSettings, Settings
from shoprec.types import Columns

from .servers import Deployment

# Events per append_many chunk: big enough for COPY to pay off, small enough to bound memory.
_CHUNK = 50_000
# Keys deleted per Redis round trip when a scratch prefix is removed.
_DELETE_CHUNK = 1000


def home_settings(home: Path, deployment: Deployment) -> Settings:
    """Settings of a server on ``home`` over ``deployment``'s backends (model reloads off).

    Every backend is given explicitly, so none comes from the user's environment.
    """
    return Settings(
        home=home,
        events_url=deployment.events_url,
        state_url=deployment.state_url,
        serving=ServingSettings(reload_interval_s=0),
    )


def fill_stores(data: Interactions, settings: Settings, progress: Callable[[str], None]) -> None:
    """Store ``data``'s catalogue and events where ``settings`` say (SQLite or PostgreSQL)."""
    progress(f"storing {data.n_events:,} events and {data.n_items:,} items")
    with closing(open_catalog(settings.events_url, settings.store_path)) as catalogue:
        catalogue.upsert(data.items)
    with closing(open_event_store(settings.events_url, settings.store_path)) as store:
        events = data.events
        store.append_many(events.slice(o, _CHUNK) for o in range(0, events.height, _CHUNK))


def build_home(
    home: Path,
    data: Interactions,
    model: str,
    model_dir: Path | None,
    progress: Callable[[str], None],
) -> None:
    """Store ``data`` under ``home``; publish ``model_dir`` (a copy) or a new ``model``."""
    home.mkdir(parents=True, exist_ok=True)
    settings = home_settings(home, Deployment())
    fill_stores(data, settings, progress)
    versions = ModelVersions(settings.models_dir)
    if model_dir is not None:
        progress(f"publishing a copy of {model_dir}")
        target = versions.new_version(read_artifact_meta(model_dir)["model"])
        shutil.copytree(model_dir, target)
        versions.publish(target)
    else:
        progress(f"training {model}")
        train_and_publish(data, model, {}, versions, FitOptions(), validate=False)


def workload(data: Interactions) -> tuple[list[str], tuple[str, str]]:
    """The 2,000 most active shoppers, and the probe: the most popular item and its title."""
    counts = data.events.group_by(Columns.USER).len().sort("len", descending=True)
    users = counts[Columns.USER].head(2000).to_list()
    popular = data.events[Columns.ITEM].value_counts(sort=True)[Columns.ITEM][0]
    titles = dict(zip(data.items[Columns.ITEM], data.items[Columns.TITLE], strict=True))
    return users, (popular, titles.get(popular) or popular)


@dataclass(frozen=True)
class Scratch:
    """Scratch space on a shared backend.

    Attributes:
        url: The URL that confines shoprec to it.
        name: The PostgreSQL schema or the Redis key prefix.
    """

    url: str
    name: str


def _with_query(url: str, key: str, value: str) -> str:
    """``url`` with its query parameter ``key`` set to ``value`` (replacing any)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != key] + [(key, value)]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


@contextmanager
def scratch_schema(url: str) -> Iterator[Scratch]:
    """A new, empty PostgreSQL schema, dropped with all it holds on exit.

    Args:
        url: The user's PostgreSQL URL (``postgresql://...``).

    Yields:
        The schema and ``url`` with ``options=-csearch_path=<schema>``, so every
        connection opened with it creates and reads its tables there.
    """
    name = f"shoprec_bench_{secrets.token_hex(6)}"
    options = dict(parse_qsl(urlsplit(url).query)).get("options", "")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield Scratch(_with_query(url, "options", f"{options} -csearch_path={name}".strip()), name)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@contextmanager
def scratch_prefix(url: str) -> Iterator[Scratch]:
    """A new Redis key prefix; every key under it is deleted on exit.

    Args:
        url: The user's Redis URL (``redis://...``; a ``prefix`` in it is replaced).

    Yields:
        The prefix and ``url`` with ``prefix=<it>``, under which shoprec writes every key.
    """
    prefix = f"shoprec-bench-{secrets.token_hex(6)}:"
    try:
        yield Scratch(_with_query(url, "prefix", prefix), prefix)
    finally:
        redis = connect_redis(url)
        try:
            keys = list(redis.client.scan_iter(match=f"{prefix}*", count=_DELETE_CHUNK))
            for start in range(0, len(keys), _DELETE_CHUNK):
                redis.client.delete(*keys[start : start + _DELETE_CHUNK])
        finally:
            redis.close()
