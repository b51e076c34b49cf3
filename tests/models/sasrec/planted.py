"""Tiny synthetic shops with planted sequential and textual signal for the SASRec tests."""

from __future__ import annotations

import numpy as np
import polars as pl

from shoprec.data import Interactions
from shoprec.models import FitOptions
from shoprec.models.sasrec import SASRecConfig
from shoprec.types import Query

#: A small, fast configuration: trains a planted shop in well under a second per epoch.
TINY = SASRecConfig(
    hidden=32,
    n_layers=1,
    max_len=8,
    dropout=0.0,
    emb_dropout=0.0,
    lr=5e-3,
    batch_size=32,
    max_epochs=30,
    patience=30,
    text_encoder="hashing-64",
)

#: Seeded CPU fits.
FIT = FitOptions(seed=0, device="cpu")

COLOURS = ["red", "blue", "green", "black", "white", "pink", "grey", "gold"]
PRODUCTS = ["lipstick", "mascara", "shampoo", "perfume", "serum", "blush", "toner", "balm"]


def chain_shop(
    rng: np.random.Generator, n_chains: int = 6, n_users: int = 240, chains_per_user: int = 2
) -> Interactions:
    """Sessions made of chains ``a_k -> b_k -> c_k``: each user does distinct chains in a row.

    Item ids are ``a0, b0, c0, a1, ...``; every item has a distinct two-word title.
    """
    rows = []
    for u in range(n_users):
        for step, k in enumerate(rng.choice(n_chains, size=chains_per_user, replace=False)):
            for j, letter in enumerate("abc"):
                rows.append((f"u{u}", f"{letter}{k}", float(step * 10 + j)))
    events = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    events = events.with_columns(pl.lit("view").alias("event_type"))
    ids = [f"{letter}{k}" for k in range(n_chains) for letter in "abc"]
    titles = [f"{COLOURS[i % 8]} {PRODUCTS[i // 8 % 8]} {i}" for i in range(len(ids))]
    return Interactions(events, pl.DataFrame({"item_id": ids, "title": titles}))


def twin_shop(rng: np.random.Generator, n_users: int = 200) -> Interactions:
    """After ``x0`` or ``x1`` shoppers buy the popular ``star``; ``twin`` has star's exact title
    but no interactions at all (a cold item), the fillers have unrelated titles."""
    rows = []
    fillers = [f"f{i}" for i in range(8)]
    for u in range(n_users):
        first = rng.choice(fillers, size=2, replace=False)
        seq = [*first, f"x{u % 2}", "star"]
        rows += [(f"u{u}", item, float(t)) for t, item in enumerate(seq)]
    events = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    items = pl.DataFrame(
        {
            "item_id": ["star", "twin", "x0", "x1", *fillers],
            "title": [
                "velvet matte lipstick ruby red",
                "velvet matte lipstick ruby red",
                "cleansing foam",
                "exfoliating scrub",
                *[f"{c} {p}" for c, p in zip(COLOURS, PRODUCTS[::-1], strict=True)],
            ],
        }
    )
    return Interactions(events, items)


def chain_top1(model: object, k: int) -> str:
    """``model``'s first recommendation after ``a_k, b_k`` (planted: ``c_k``)."""
    return model.recommend(Query.from_items([f"a{k}", f"b{k}"]), k=1).item_ids[0]  # type: ignore[attr-defined]
