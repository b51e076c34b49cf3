"""Generating a whole synthetic shop (events, catalogue, truth) and writing it as a folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

import numpy as np
import polars as pl

from shoprec.data.interactions import EVENT_SCHEMA, ITEM_SCHEMA, conform
from shoprec.types import Columns

from .behaviour import (
    EVENT_NAMES,
    PURCHASE,
    EventArrays,
    available,
    browse,
    drop_rebuys,
    follow_complements,
    make_shoppers,
    plan_sessions,
    repeat_consumables,
)
from .catalog import DAY, Catalog, build_catalog, padded_ids
from .config import SyntheticShopConfig
from .coupons import CouponPlan, plan_coupons
from .truth import PlantedTruth, build_truth

#: Number of steps :func:`generate_shop` reports to its ``progress`` callback.
GENERATION_STEPS = 7

EVENTS_FILE = "events.csv.gz"
ITEMS_FILE = "items.csv.gz"
TRUTH_FILE = "truth.json"


@dataclass(frozen=True)
class SyntheticShop:
    """A generated shop.

    Attributes:
        events: The event log in ``EVENT_SCHEMA``, in time order.
        items: The catalogue in ``ITEM_SCHEMA``.
        truth: What was planted.
    """

    events: pl.DataFrame
    items: pl.DataFrame
    truth: PlantedTruth


def _start_timestamp(config: SyntheticShopConfig) -> float:
    """Epoch seconds of the first day's UTC midnight."""
    return datetime.combine(config.start_date, time(), tzinfo=UTC).timestamp()


def _event_frame(
    events: EventArrays, catalog: Catalog, config: SyntheticShopConfig, start: float
) -> pl.DataFrame:
    """The events in time order as an ``EVENT_SCHEMA`` frame, sessions numbered by start."""
    order = np.argsort(events.time, kind="stable")
    session = events.session[order]
    ids, first, index = np.unique(session, return_index=True, return_inverse=True)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(ids))
    item = events.item[order]
    kind = events.kind[order]
    value = np.where(kind == PURCHASE, catalog.price[item], np.nan)
    frame = pl.DataFrame(
        {
            Columns.USER: padded_ids("u", config.n_users).gather(events.user[order]),
            Columns.ITEM: catalog.frame[Columns.ITEM].gather(item),
            Columns.EVENT_TYPE: pl.Series(EVENT_NAMES).gather(kind),
            Columns.TIMESTAMP: start + events.time[order].astype(np.float64),
            Columns.VALUE: pl.Series(value).fill_nan(None),
            Columns.SESSION: padded_ids("s", len(ids)).gather(rank[index]),
        }
    )
    return conform(frame, EVENT_SCHEMA)


def _simulate(
    config: SyntheticShopConfig,
    catalog: Catalog,
    streams: list[np.random.Generator],
    step: Callable[[], None],
) -> tuple[EventArrays, CouponPlan]:
    """Every event: browsing, then complement follow-ups, then consumable repeats.

    A function of its own so that the parts are freed before the event frame is built. Also
    plants the coupons (from the last stream: the events do not depend on it).
    """
    horizon = config.n_days * DAY
    shoppers = make_shoppers(config, catalog, streams[0])
    sessions = plan_sessions(config, catalog, shoppers, streams[1])
    step()
    browsing = browse(config, catalog, shoppers, sessions, streams[2])
    browsing = drop_rebuys(available(browsing, catalog, horizon), catalog)
    step()
    bought = browsing.where(browsing.kind == PURCHASE)
    n_sessions = len(sessions.user)
    follow_ups = available(
        follow_complements(config, catalog, bought, n_sessions, streams[3]), catalog, horizon
    )
    step()
    bought = EventArrays.concat([bought, follow_ups.where(follow_ups.kind == PURCHASE)])
    first_repeat = int(follow_ups.session.max()) + 1 if len(follow_ups) else n_sessions
    repeats = available(
        repeat_consumables(config, catalog, bought, first_repeat, streams[4]), catalog, horizon
    )
    step()
    coupons = plan_coupons(config, catalog, shoppers, streams[5])
    return EventArrays.concat([browsing, follow_ups, repeats]), coupons


def generate_shop(
    config: SyntheticShopConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SyntheticShop:
    """Generate a synthetic shop: catalogue, shoppers' events and the planted truth.

    The same config (seed included) gives identical frames. Each stage draws from its own
    random stream, so changing one knob leaves unrelated stages as they were where possible.

    Args:
        config: What to generate; defaults to the ``demo`` preset.
        progress: Called as ``progress(done, GENERATION_STEPS)`` after each stage.

    Returns:
        The events, the catalogue and the truth.
    """
    config = config or SyntheticShopConfig()
    # The 7th stream (coupons) was added later: spawning 7 leaves the first 6 as they were.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(7)]
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, GENERATION_STEPS)

    catalog = build_catalog(config, streams[0])
    step()
    simulated, coupons = _simulate(config, catalog, streams[1:], step)
    start = _start_timestamp(config)
    events = _event_frame(simulated, catalog, config, start)
    del simulated  # the frame holds the events now; free the arrays before building the truth
    step()
    truth = build_truth(config, catalog, start, coupons)
    step()
    return SyntheticShop(events=events, items=conform(catalog.frame, ITEM_SCHEMA), truth=truth)


def write_shop(shop: SyntheticShop, directory: Path) -> None:
    """Write ``events.csv.gz``, ``items.csv.gz`` and ``truth.json`` into ``directory``.

    The CSV files use the canonical column names and gzip without a timestamp, so the same
    shop always gives the same bytes. Empty columns (``context``) are left out.

    Args:
        shop: The generated shop.
        directory: Folder to write into (created if missing).
    """
    directory.mkdir(parents=True, exist_ok=True)
    frame = shop.events
    events = frame.select([c for c in frame.columns if frame[c].null_count() < frame.height])
    events.write_csv(directory / EVENTS_FILE, compression="gzip")
    shop.items.write_csv(directory / ITEMS_FILE, compression="gzip")
    (directory / TRUTH_FILE).write_text(shop.truth.model_dump_json(indent=1) + "\n")


def read_truth(directory: Path) -> PlantedTruth:
    """Read the ``truth.json`` of a shop written by :func:`write_shop`."""
    return PlantedTruth.model_validate_json((directory / TRUTH_FILE).read_text())
