"""Per-item statistics the ranker reads: popularity by period and event type, age, price, stock.

One array per statistic, indexed by item row (the item vocabulary of the log they were counted
on), so a batch of candidates reads each one with a single gather. Category and brand are
integer codes with their names kept beside them, for the explanations ("popular in Running
Shoes this week").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.data import ITEM_SCHEMA, Interactions, conform
from shoprec.errors import ArtifactError
from shoprec.models.cold_items import TextNeighbours
from shoprec.types import EVENT_TYPE_CODES, Columns, ItemId

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

SECONDS_PER_DAY = 86_400.0
#: Window of the "recent" popularity, in days before the log's newest event.
RECENT_DAYS = 7.0
#: Event types counted separately (feature name suffix -> event type).
TYPE_COUNTS: dict[str, str] = {
    "view": "view",
    "cart": "addtocart",
    "purchase": "purchase",
    "favorite": "favorite",
}
#: The popularity arrays.
POPULARITY = ("pop_all", "pop_recent", *(f"pop_{name}" for name in TYPE_COUNTS))
#: What :meth:`ItemStats.with_cold_items` imputes.
IMPUTED = (*POPULARITY, "first_seen")
#: Names of the arrays :meth:`ItemStats.arrays` writes (and :meth:`ItemStats.from_arrays` reads).
ARRAY_NAMES = (
    *POPULARITY,
    "first_seen",
    "unseen",
    "price",
    "in_stock",
    "category",
    "brand",
)


@dataclass(frozen=True)
class ItemStats:
    """Statistics of every item row, counted on one interaction log.

    Attributes:
        pop_all: ``log1p`` of the item's event count.
        pop_recent: ``log1p`` of its events in the last :data:`RECENT_DAYS` days of the log.
        pop_view: ``log1p`` of its view events (``pop_cart``, ``pop_purchase``,
            ``pop_favorite`` likewise for add-to-cart, purchase, favourite).
        first_seen: Timestamp of its first event; NaN when it has none.
        unseen: True where the item has had no event (its popularity and first event may be
            its text neighbours': :meth:`with_cold_items`).
        price: Catalogue price; NaN when unknown.
        in_stock: 1 in stock, 0 out of stock, NaN unknown.
        category: Category code (index into ``category_names``); -1 when none.
        brand: Brand code (index into ``brand_names``); -1 when none.
        category_names: Category name of each code (sorted).
        brand_names: Brand name of each code (sorted).
        end_time: Newest timestamp of the log (0 when empty).
    """

    pop_all: FloatArray
    pop_recent: FloatArray
    pop_view: FloatArray
    pop_cart: FloatArray
    pop_purchase: FloatArray
    pop_favorite: FloatArray
    first_seen: npt.NDArray[np.float64]
    unseen: npt.NDArray[np.bool_]
    price: FloatArray
    in_stock: FloatArray
    category: IntArray
    brand: IntArray
    category_names: tuple[str, ...]
    brand_names: tuple[str, ...]
    end_time: float

    def __len__(self) -> int:
        return len(self.pop_all)

    @classmethod
    def from_interactions(cls, data: Interactions, recent_days: float = RECENT_DAYS) -> ItemStats:
        """Count the statistics of every item of ``data``'s vocabulary on its events.

        Args:
            data: The log (its catalogue gives price, stock, category and brand).
            recent_days: Width of the recent-popularity window before the newest event.
        """
        n = data.n_items
        items = data.item_index
        times = data.events[Columns.TIMESTAMP].fill_null(0.0).to_numpy().astype(np.float64)
        end = float(times.max()) if len(times) else 0.0
        codes = data.type_codes

        def counts(mask: npt.NDArray[np.bool_] | None = None) -> FloatArray:
            picked = items if mask is None else items[mask]
            return np.log1p(np.bincount(picked, minlength=n)).astype(np.float32)

        by_type = {
            name: counts(codes == EVENT_TYPE_CODES[event]) for name, event in TYPE_COUNTS.items()
        }
        first = np.full(n, np.inf, dtype=np.float64)
        np.minimum.at(first, items, times)
        first[np.isinf(first)] = np.nan
        catalogue = _catalogue_rows(data)
        category, category_names = _codes(catalogue, Columns.CATEGORY, n)
        brand, brand_names = _codes(catalogue, Columns.BRAND, n)
        return cls(
            pop_all=counts(),
            pop_recent=counts(times > end - recent_days * SECONDS_PER_DAY),
            pop_view=by_type["view"],
            pop_cart=by_type["cart"],
            pop_purchase=by_type["purchase"],
            pop_favorite=by_type["favorite"],
            first_seen=first,
            unseen=np.isnan(first),
            price=_column(catalogue, Columns.PRICE, n),
            in_stock=_column(catalogue, Columns.IN_STOCK, n),
            category=category,
            brand=brand,
            category_names=category_names,
            brand_names=brand_names,
            end_time=end,
        )

    def with_cold_items(self, neighbours: TextNeighbours) -> ItemStats:
        """The statistics with each cold item described by its text neighbours.

        Its popularity (log counts) and first event are the weighted means of theirs, as
        co-visitation and EASE score it as they would them: a never-seen item that still
        looked new would be ranked below every warm one for it (measured in
        docs/benchmarks.md, "Cold items"). :attr:`unseen` keeps the truth (explanations).
        """
        imputed: dict[str, Any] = {n: neighbours.mean(getattr(self, n)) for n in IMPUTED}
        return replace(self, **imputed)

    def with_items(self, added: Sequence[ItemId], catalogue: pl.DataFrame | None) -> ItemStats:
        """The statistics of a catalogue grown by ``added`` (new rows, in that order).

        A new item has no events (:attr:`unseen`, no popularity or first event:
        :meth:`with_cold_items` describes it) and takes its price, stock, category and brand
        from ``catalogue`` (``ITEM_SCHEMA`` columns), unknown where it is not listed there.
        """
        k = len(added)
        if not k:
            return self
        listed = conform(catalogue if catalogue is not None else pl.DataFrame(), ITEM_SCHEMA)
        listed = listed.filter(pl.col(Columns.ITEM).is_in(list(added))).unique(
            Columns.ITEM, keep="last", maintain_order=True
        )
        place = {item: row for row, item in enumerate(added)}
        rows = [place[item] for item in listed[Columns.ITEM].to_list()]
        listed = listed.with_columns(pl.Series("_row", rows, dtype=pl.Int64))
        category, category_names = _grown_codes(
            self.category, self.category_names, listed, Columns.CATEGORY, k
        )
        brand, brand_names = _grown_codes(self.brand, self.brand_names, listed, Columns.BRAND, k)
        empty = np.zeros(k, dtype=np.float32)
        grown: dict[str, Any] = {
            name: np.concatenate([getattr(self, name), empty]) for name in POPULARITY
        }
        return replace(
            self,
            **grown,
            first_seen=np.concatenate([self.first_seen, np.full(k, np.nan)]),
            unseen=np.concatenate([self.unseen, np.ones(k, dtype=bool)]),
            price=np.concatenate([self.price, _column(listed, Columns.PRICE, k)]),
            in_stock=np.concatenate([self.in_stock, _column(listed, Columns.IN_STOCK, k)]),
            category=category,
            brand=brand,
            category_names=category_names,
            brand_names=brand_names,
        )

    # -- names for explanations ------------------------------------------------------------
    def category_name(self, row: int) -> str | None:
        """The category of item ``row`` (``None`` when it has none)."""
        code = int(self.category[row])
        return self.category_names[code] if code >= 0 else None

    def brand_name(self, row: int) -> str | None:
        """The brand of item ``row`` (``None`` when it has none)."""
        code = int(self.brand[row])
        return self.brand_names[code] if code >= 0 else None

    # -- persistence -----------------------------------------------------------------------
    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The per-item arrays, by the names of :data:`ARRAY_NAMES`."""
        return {name: getattr(self, name) for name in ARRAY_NAMES}

    def state(self) -> dict[str, Any]:
        """The JSON-serialisable rest: code names and the log's end time."""
        return {
            "category_names": list(self.category_names),
            "brand_names": list(self.brand_names),
            "end_time": self.end_time,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[Any]], state: dict[str, Any]) -> ItemStats:
        """Rebuild the statistics written by :meth:`arrays` and :meth:`state`.

        Raises:
            ArtifactError: When an array is missing.
        """
        # Artifacts older than the neighbours' imputation: unseen = no first event.
        arrays = {"unseen": np.isnan(arrays.get("first_seen", np.zeros(0))), **arrays}
        missing = [name for name in ARRAY_NAMES if name not in arrays]
        if missing:
            raise ArtifactError(f"item statistics: missing arrays {', '.join(missing)}")
        return cls(
            **{name: arrays[name] for name in ARRAY_NAMES},
            category_names=tuple(state.get("category_names", ())),
            brand_names=tuple(state.get("brand_names", ())),
            end_time=float(state.get("end_time", 0.0)),
        )


def _catalogue_rows(data: Interactions) -> pl.DataFrame:
    """The catalogue with each item's vocabulary row as ``_row``."""
    rows = data.item_vocab.lookup(data.items[Columns.ITEM].to_list())
    return data.items.with_columns(pl.Series("_row", rows, dtype=pl.Int64))


def _column(catalogue: pl.DataFrame, name: str, n: int) -> FloatArray:
    """A numeric catalogue column per item row as float32 (NaN where null or not listed)."""
    out = np.full(n, np.nan, dtype=np.float32)
    values = catalogue[name].cast(pl.Float32).to_numpy()
    out[catalogue["_row"].to_numpy()] = np.where(np.isfinite(values), values, np.nan)
    return out


def _grown_codes(
    codes: IntArray, names: tuple[str, ...], listed: pl.DataFrame, column: str, k: int
) -> tuple[IntArray, tuple[str, ...]]:
    """``codes`` and ``names`` grown by ``k`` rows of ``listed``: a new name gets a new code."""
    new_codes, new_names = _codes(listed, column, k)
    known = set(names)
    names = names + tuple(name for name in new_names if name not in known)
    index = {name: code for code, name in enumerate(names)}
    # The trailing -1 maps "no name" (-1) to itself.
    remap = np.asarray([index[name] for name in new_names] + [-1], dtype=np.int64)
    return np.concatenate([codes, remap[new_codes]]), names


def _codes(catalogue: pl.DataFrame, name: str, n: int) -> tuple[IntArray, tuple[str, ...]]:
    """Integer codes of a text column per item row (sorted names; -1 where null or absent)."""
    listed = catalogue.filter(pl.col(name).is_not_null() & (pl.col(name) != ""))
    names = tuple(sorted(set(listed[name].to_list())))
    index = {value: code for code, value in enumerate(names)}
    out = np.full(n, -1, dtype=np.int64)
    codes = np.fromiter((index[v] for v in listed[name].to_list()), np.int64, count=listed.height)
    out[listed["_row"].to_numpy()] = codes
    return out, names
