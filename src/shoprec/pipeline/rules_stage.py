"""The rules stage and pins: what a response may contain, merchandising, fixed positions.

Filters (availability, the scenario's exclusions, category, price) and boosts from
:mod:`shoprec.rules` applied to a ranked slate; pins placed last, once the slate is cut.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

import numpy as np

from shoprec.rules import CatalogView, apply_boosts, apply_pins, passes

from .request import Context
from .slate import Slate

T = TypeVar("T")

#: Source of an item a pin placed that the ranking did not choose.
PINNED = "pinned"


def apply_rules(
    slate: Slate, ctx: Context, catalog: CatalogView, everything: bool = False
) -> Slate:
    """The ranked slate's eligible candidates, boosted and re-sorted, best first.

    The slate is best first: without boosts (which reorder it) only as many eligible
    candidates as the answer (or the diversity pool) needs are checked against the rules.

    Args:
        slate: Ranked candidates.
        ctx: The request.
        catalog: Stock, categories and prices.
        everything: Check every candidate (a later stage needs them all, e.g. explore's
            round-robin over categories).
    """
    request = ctx.request
    whole = everything or bool(request.boosts)
    wanted = len(slate) if whole else pool_size(request.n, ctx.diversity)
    keep = first(range(len(slate)), lambda r: passes(slate.item_ids[r], catalog, ctx.spec), wanted)
    out = slate.take(keep)
    if not request.boosts:
        return out
    scores = apply_boosts(out.item_ids, out.scores, catalog, request.boosts)
    return replace(out, scores=scores).take(np.argsort(-scores, kind="stable"))


def pin(slate: Slate, ctx: Context, catalog: CatalogView) -> Slate:
    """The slate cut to ``n`` with each vetted pin at its position (pins not chosen added)."""
    request = ctx.request
    pins = {
        i: p
        for i, p in request.pins.items()
        if i not in ctx.spec.exclude and catalog.is_available(i)
    }
    order = apply_pins(list(slate.item_ids), pins, request.n)
    have = set(slate.item_ids)
    extra = [i for i in order if i not in have]
    pinned = slate.append(extra, np.zeros(len(extra), dtype=np.float32), [PINNED] * len(extra))
    position = {item_id: row for row, item_id in enumerate(pinned.item_ids)}
    return pinned.take([position[i] for i in order])


def pool_size(n: int, diversity: float) -> int:
    """How many candidates to rank before picking ``n``.

    A few times ``n`` when diversifying: room to spread while keeping the relevance of what is
    shown.
    """
    return max(3 * n, 30) if diversity > 0 else n


def first(items: Sequence[T], keep: Callable[[T], bool], n: int) -> list[T]:
    """The first ``n`` of ``items`` that ``keep`` accepts, checking no more than needed."""
    out: list[T] = []
    for item in items:
        if len(out) == n:
            break
        if keep(item):
            out.append(item)
    return out
