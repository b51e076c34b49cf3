"""Category affinity: which categories share shoppers, and each category's best-sellers.

The explore rail's source: a shopper who bought running shoes and socks is shown the
categories that shoppers of running shoes and socks also touched (sports watches, say), not
more shoes. Built from the event log and the catalogue's categories at each engine build, like
the all-time popularity.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp

from shoprec.types import Candidates, Columns, ItemId

#: Best-selling items kept per category (room for exclusions beyond what a rail shows).
TOP_ITEMS = 50


class CategoryAffinity:
    """Shopper overlap between categories (Jaccard), and the best-selling items of each.

    The affinity of categories ``a`` and ``b`` is ``|S(a) & S(b)| / |S(a) | S(b)|``, where
    ``S(c)`` is the set of shoppers with any event on an item of ``c``: 1 when the same
    shoppers touch both, 0 when no shopper touches both. Unlike a raw co-occurrence count it
    does not send every shopper to the largest category. Immutable; safe to share.

    Args:
        categories: The ``K`` category names.
        overlap: ``(K, K)`` Jaccard affinities, zero diagonal.
        best: Per category, its items by event-weighted count, best first (relative scores).
    """

    def __init__(
        self,
        categories: list[str],
        overlap: sp.csr_array,
        best: Mapping[str, Candidates] | None = None,
    ) -> None:
        self.categories = categories
        self.overlap = overlap
        self.best = dict(best or {})
        self._index = {c: k for k, c in enumerate(categories)}

    @classmethod
    def from_events(
        cls,
        events: pl.DataFrame,
        categories: Mapping[ItemId, str],
        event_weights: Mapping[str, float] | None = None,
        top_items: int = TOP_ITEMS,
    ) -> CategoryAffinity:
        """The affinities of a canonical event frame's shoppers over the items' categories.

        Args:
            events: Events (``user_id``, ``item_id``, ``event_type``).
            categories: Category of each item (items without one do not count).
            event_weights: Weight of an event in the best-seller counts (types not listed
                weigh 1; weight 0 drops the event from both counts).
            top_items: Best-sellers kept per category.
        """
        weights = dict(event_weights or {})
        mapping = pl.DataFrame(
            {Columns.ITEM: list(categories), Columns.CATEGORY: list(categories.values())},
            schema={Columns.ITEM: pl.String, Columns.CATEGORY: pl.String},
        )
        if not events.height or not mapping.height:
            return cls([], sp.csr_array((0, 0), dtype=np.float32))
        frame = (
            events.select(Columns.USER, Columns.ITEM, Columns.EVENT_TYPE)
            .with_columns(
                pl.col(Columns.EVENT_TYPE)
                .replace_strict(weights, default=1.0, return_dtype=pl.Float64)
                .alias("weight")
            )
            .filter(pl.col("weight") > 0)
            .join(mapping, on=Columns.ITEM, how="inner")
            .filter(pl.col(Columns.CATEGORY).is_not_null())
        )
        names = sorted(frame[Columns.CATEGORY].unique().to_list())
        return cls(names, _jaccard(frame, names), _best_sellers(frame, top_items))

    def __len__(self) -> int:
        return len(self.categories)

    def affinity(self, a: str, b: str) -> float:
        """The affinity of two categories (0 for an unknown one, or ``a == b``)."""
        i, j = self._index.get(a), self._index.get(b)
        return 0.0 if i is None or j is None else float(self.overlap[i, j])

    def related(self, categories: Collection[str], k: int) -> list[tuple[str, float]]:
        """The ``k`` categories most related to ``categories``, none of them, best first.

        A category's weight is its mean affinity to the given ones; categories no shopper
        shares with them are left out. Ties keep name order.
        """
        rows = [self._index[c] for c in categories if c in self._index]
        if not rows or k <= 0:
            return []
        weight = np.asarray(self.overlap[rows].sum(axis=0)).ravel() / len(rows)
        weight[rows] = 0.0
        order = np.argsort(-weight, kind="stable")[:k]
        return [(self.categories[c], float(weight[c])) for c in order if weight[c] > 0]

    def best_sellers(self, category: str, k: int, exclude: Collection[ItemId] = ()) -> Candidates:
        """Up to ``k`` best-selling items of ``category`` not in ``exclude`` (scores: best 1)."""
        found = self.best.get(category)
        if found is None or k <= 0:
            return Candidates(())
        keep = [p for p, i in enumerate(found.item_ids) if i not in exclude][:k]
        return Candidates(tuple(found.item_ids[p] for p in keep), found.scores[keep])


def _jaccard(frame: pl.DataFrame, names: list[str]) -> sp.csr_array:
    """``(K, K)`` Jaccard overlap of the categories' shopper sets, zero diagonal."""
    # Dense ranks of the sorted names are the categories' indices in ``names``.
    pairs = frame.select(
        pl.col(Columns.USER).rank("dense").cast(pl.Int64) - 1,
        pl.col(Columns.CATEGORY).rank("dense").cast(pl.Int64) - 1,
    ).unique()
    users, cats = pairs[Columns.USER].to_numpy(), pairs[Columns.CATEGORY].to_numpy()
    touched = sp.csr_array(
        (np.ones(len(cats), dtype=np.float32), (users, cats)),
        shape=(int(users.max()) + 1, len(names)),
    )
    both = (touched.T @ touched).tocoo()  # (K, K) shoppers who touched both
    size = np.asarray(touched.sum(axis=0)).ravel()  # (K,) shoppers per category
    off = both.row != both.col
    rows, cols, shared = both.row[off], both.col[off], both.data[off]
    values = shared / (size[rows] + size[cols] - shared)
    return sp.csr_array((values.astype(np.float32), (rows, cols)), shape=(len(names), len(names)))


def _best_sellers(frame: pl.DataFrame, top_items: int) -> dict[str, Candidates]:
    """Per category, its ``top_items`` items by summed event weight, relative to the best."""
    counts = (
        frame.group_by(Columns.CATEGORY, Columns.ITEM)
        .agg(pl.col("weight").sum())
        .sort([Columns.CATEGORY, "weight", Columns.ITEM], descending=[False, True, False])
        .group_by(Columns.CATEGORY, maintain_order=True)
        .head(top_items)
    )
    out: dict[str, Candidates] = {}
    for (category,), group in counts.group_by(Columns.CATEGORY, maintain_order=True):
        scores: npt.NDArray[np.float64] = group["weight"].to_numpy()
        out[str(category)] = Candidates(
            tuple(group[Columns.ITEM].to_list()), (scores / scores[0]).astype(np.float32)
        )
    return out
