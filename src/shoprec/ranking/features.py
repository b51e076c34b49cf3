"""Ranking features of (shopper, candidate) pairs, one code path for training, offline and online.

For a batch of histories and their :class:`~.candidates.CandidateSet` s, every feature is an
array operation over all candidates of the batch at once (gathers from :class:`ItemStats`,
per-history counts, sorted-key lookups for "is this item in the history"); nothing loops over
candidates in Python. Each history's rows depend only on that history and its candidates, so a
request scored alone gets exactly the rows it gets inside a batch.

Features, in column order (:func:`feature_names`):

- per source ``<name>_score``, ``<name>_rank`` (NaN where the source did not propose it), and
  ``n_sources`` (how many did);
- item: ``pop_all``, ``pop_recent``, ``pop_view``, ``pop_cart``, ``pop_purchase``,
  ``pop_favorite`` (log1p counts), ``age_days`` (since its first event), ``log_price``,
  ``in_stock``;
- shopper: ``hist_len``, ``n_view``, ``n_cart``, ``n_purchase``, ``n_favorite``,
  ``gap_last_hours`` (between the last two events), ``n_categories``, ``mean_log_price``;
- shopper x item: ``same_category_last``, ``same_brand_last``, ``category_share``,
  ``brand_share`` (of the history's events), ``price_ratio`` (log1p price minus the history's
  mean), ``text_sim_last``, ``text_sim_recent`` (cosine to the last item / to the text query
  vector), ``seen_before``, ``carted_before``, ``purchased_before``;
- context: ``scenario`` (categorical code of :data:`SCENARIOS`), ``hour`` (UTC hour of the
  latest history event).

"Now" is the latest history event's time everywhere (offline there is no request time).
Unknown timestamps (0) leave the time features NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from shoprec.data import UserSequences
from shoprec.types import EVENT_TYPE_CODES

from .candidates import CandidateSet, TextSimilarity
from .item_stats import SECONDS_PER_DAY, ItemStats

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: Request scenarios with a code of their own; any other name gets ``len(SCENARIOS)``.
SCENARIOS = (
    "home",
    "product",
    "similar",
    "bought_together",
    "cart",
    "rebuy",
    "search",
    "explore",
)
#: Per-source feature suffixes.
SOURCE_FEATURES = ("score", "rank")
#: Features of the shopper's history alone, in column order.
SHOPPER_FEATURES = (
    "hist_len",
    "n_view",
    "n_cart",
    "n_purchase",
    "n_favorite",
    "gap_last_hours",
    "n_categories",
    "mean_log_price",
)
#: Every feature that does not depend on the configured sources, in column order.
FEATURE_NAMES = (
    "n_sources",
    # item
    "pop_all",
    "pop_recent",
    "pop_view",
    "pop_cart",
    "pop_purchase",
    "pop_favorite",
    "age_days",
    "log_price",
    "in_stock",
    *SHOPPER_FEATURES,
    # shopper x item
    "same_category_last",
    "same_brand_last",
    "category_share",
    "brand_share",
    "price_ratio",
    "text_sim_last",
    "text_sim_recent",
    "seen_before",
    "carted_before",
    "purchased_before",
    # context
    "scenario",
    "hour",
)
#: Features derived from event types (dropped by ``event_type_features=False``).
EVENT_TYPE_FEATURES = frozenset(
    {
        "pop_view",
        "pop_cart",
        "pop_purchase",
        "pop_favorite",
        "n_view",
        "n_cart",
        "n_purchase",
        "n_favorite",
        "carted_before",
        "purchased_before",
    }
)
#: Features holding category codes (small non-negative integers).
CATEGORICAL_FEATURES = frozenset({"scenario"})

_N_CODES = len(EVENT_TYPE_CODES)
_VIEW, _CART = EVENT_TYPE_CODES["view"], EVENT_TYPE_CODES["addtocart"]
_PURCHASE, _FAVORITE = EVENT_TYPE_CODES["purchase"], EVENT_TYPE_CODES["favorite"]


def feature_names(sources: Sequence[str], event_type_features: bool = True) -> tuple[str, ...]:
    """Column names for the given source names (config order), with or without event types."""
    names = [f"{s}_{f}" for s in sources for f in SOURCE_FEATURES] + list(FEATURE_NAMES)
    if not event_type_features:
        names = [n for n in names if n not in EVENT_TYPE_FEATURES]
    return tuple(names)


class FeatureBuilder:
    """Computes the feature rows of candidates for a batch of histories.

    Args:
        sources: Configured source names: the per-source columns, in order (a source missing
            from a candidate set, e.g. one dropped at fit, leaves its columns NaN).
        stats: Item statistics (same item rows as the candidates).
        text: Item text vectors, or ``None`` when the catalogue has no text.
        event_type_features: Keep the features derived from event types.
    """

    def __init__(
        self,
        sources: Sequence[str],
        stats: ItemStats,
        text: TextSimilarity | None,
        event_type_features: bool = True,
    ) -> None:
        self.sources = tuple(sources)
        self.stats = stats
        self.text = text
        self.names = feature_names(self.sources, event_type_features)
        self.categorical = tuple(i for i, n in enumerate(self.names) if n in CATEGORICAL_FEATURES)
        self._log_price = np.log1p(np.maximum(stats.price, 0.0)).astype(np.float32)

    def build(
        self, histories: UserSequences, cands: Sequence[CandidateSet], scenario: str = "home"
    ) -> list[FloatArray]:
        """``(C_i, F)`` float32 feature rows per history (NaN = missing).

        Args:
            histories: The requests' histories.
            cands: One candidate set per history.
            scenario: The request's scenario name (see :data:`SCENARIOS`).
        """
        if len(cands) != len(histories):
            raise ValueError(f"{len(histories)} histories but {len(cands)} candidate sets")
        if not cands:
            return []
        sizes = np.fromiter((len(c) for c in cands), dtype=np.int64, count=len(cands))
        cb = np.repeat(np.arange(len(cands), dtype=np.int64), sizes)
        rows = np.concatenate([c.rows for c in cands])
        cols = self._source_columns(cands, len(rows))
        cols.update(self._item_columns(rows))
        cols.update(self._history_columns(histories, cb, rows, scenario))
        out = np.empty((len(rows), len(self.names)), dtype=np.float32)
        for j, name in enumerate(self.names):
            out[:, j] = cols[name]
        return np.split(out, np.cumsum(sizes)[:-1])

    # -- column groups ---------------------------------------------------------------------
    def _source_columns(self, cands: Sequence[CandidateSet], n: int) -> dict[str, FloatArray]:
        scores = np.full((n, len(self.sources)), np.nan, dtype=np.float32)
        ranks = np.full((n, len(self.sources)), np.nan, dtype=np.float32)
        start = 0
        # Usually every set comes from one generator (same source columns): one block copy.
        if cands and all(c.source_names == cands[0].source_names for c in cands):
            groups: list[tuple[tuple[str, ...], slice, list[CandidateSet]]] = [
                (cands[0].source_names, slice(0, n), list(cands))
            ]
        else:
            groups = []
            for c in cands:
                groups.append((c.source_names, slice(start, start + len(c)), [c]))
                start += len(c)
        for names, where, members in groups:
            got = [self.sources.index(s) for s in names if s in self.sources]
            src = [j for j, s in enumerate(names) if s in self.sources]
            if not members or not got:
                continue
            scores[where, got] = np.concatenate([m.scores for m in members])[:, src]
            ranks[where, got] = np.concatenate([m.ranks for m in members])[:, src]
        cols = {}
        for j, s in enumerate(self.sources):
            cols[f"{s}_score"] = scores[:, j]
            cols[f"{s}_rank"] = ranks[:, j]
        cols["n_sources"] = (~np.isnan(scores)).sum(axis=1).astype(np.float32)
        return cols

    def _item_columns(self, rows: IntArray) -> dict[str, FloatArray]:
        st = self.stats
        return {
            "pop_all": st.pop_all[rows],
            "pop_recent": st.pop_recent[rows],
            "pop_view": st.pop_view[rows],
            "pop_cart": st.pop_cart[rows],
            "pop_purchase": st.pop_purchase[rows],
            "pop_favorite": st.pop_favorite[rows],
            "log_price": self._log_price[rows],
            "in_stock": st.in_stock[rows],
        }

    def _history_columns(
        self, histories: UserSequences, cb: IntArray, rows: IntArray, scenario: str
    ) -> dict[str, FloatArray]:
        st = self.stats
        n_hist = len(histories)
        lengths = histories.lengths()
        eb = np.repeat(np.arange(n_hist, dtype=np.int64), lengths)
        items, types = histories.items, histories.types
        has = lengths > 0
        last = np.where(has, histories.offsets[1:] - 1, 0)
        times = histories.timestamps
        if len(items):
            t_last_raw, t_prev_raw = times[last], times[np.maximum(last - 1, 0)]
            last_item = items[last]
        else:  # no events at all: nothing to gather from
            t_last_raw = t_prev_raw = np.zeros(n_hist)
            last_item = np.zeros(n_hist, dtype=np.int64)
        # Timestamp 0 means unknown (a query without times): those features stay NaN.
        t_last = np.where(has & (t_last_raw > 0), t_last_raw, np.nan)
        gap = np.where((lengths >= 2) & (t_prev_raw > 0), (t_last - t_prev_raw) / 3600.0, np.nan)
        hour = np.floor((t_last % SECONDS_PER_DAY) / 3600.0)
        # Mean log price of the history's priced events (float64 sums, per history in order).
        logp = self._log_price[items].astype(np.float64)
        priced = np.isfinite(logp)
        n_priced = np.bincount(eb[priced], minlength=n_hist)
        sum_logp = np.bincount(eb[priced], weights=logp[priced], minlength=n_hist)
        mean_logp = np.divide(sum_logp, n_priced, out=np.full(n_hist, np.nan), where=n_priced > 0)
        type_counts = np.bincount(eb * _N_CODES + types, minlength=n_hist * _N_CODES).reshape(
            n_hist, _N_CODES
        )
        # Shopper x item: (history, item) keys of the history events looked up per candidate.
        seen = _KeyRanges(eb * len(st) + items, cb * len(st) + rows)
        cats, ccat = st.category[items], st.category[rows]
        by_cat = _KeyRanges(*_code_keys(eb, cats, cb, ccat, len(st.category_names)))
        brands, cbrand = st.brand[items], st.brand[rows]
        by_brand = _KeyRanges(*_code_keys(eb, brands, cb, cbrand, len(st.brand_names)))
        share_ok = has[cb]
        per_history = np.stack(
            [
                lengths,
                type_counts[:, _VIEW],
                type_counts[:, _CART],
                type_counts[:, _PURCHASE],
                type_counts[:, _FAVORITE],
                gap,
                by_cat.distinct_per_group(n_hist, len(st.category_names) + 1),
                mean_logp,
                hour,
            ],
            axis=1,
        ).astype(np.float32)[cb]  # (C, 9): one gather for every shopper feature
        cols: dict[str, FloatArray] = {
            name: per_history[:, j] for j, name in enumerate((*SHOPPER_FEATURES, "hour"))
        }
        cols.update(
            {
                "age_days": ((t_last[cb] - st.first_seen[rows]) / SECONDS_PER_DAY).astype(
                    np.float32
                ),
                "same_category_last": _same(np.where(has, st.category[last_item], -1)[cb], ccat),
                "same_brand_last": _same(np.where(has, st.brand[last_item], -1)[cb], cbrand),
                "category_share": _share(by_cat.counts(), lengths[cb], share_ok & (ccat >= 0)),
                "brand_share": _share(by_brand.counts(), lengths[cb], share_ok & (cbrand >= 0)),
                "price_ratio": self._log_price[rows] - cols["mean_log_price"],
                "seen_before": (seen.counts() > 0).astype(np.float32),
                "carted_before": (seen.counts_where(types == _CART) > 0).astype(np.float32),
                "purchased_before": (seen.counts_where(types == _PURCHASE) > 0).astype(np.float32),
                "scenario": np.full(len(rows), _scenario_code(scenario), dtype=np.float32),
            }
        )
        cols.update(self._text_columns(histories, has, last_item, cb, rows))
        return cols

    def _text_columns(
        self,
        histories: UserSequences,
        has: npt.NDArray[np.bool_],
        last_item: IntArray,
        cb: IntArray,
        rows: IntArray,
    ) -> dict[str, FloatArray]:
        if self.text is None:
            missing = np.full(len(rows), np.nan, dtype=np.float32)
            return {"text_sim_last": missing, "text_sim_recent": missing}
        vec, has_text = self.text.vectors, self.text.has_text
        query = self.text.query_vectors(histories)  # (B, D)
        anchors = np.stack([vec[last_item], query], axis=1)  # (B, 2, D): last item, recent
        # Elementwise products summed per row: a row's value never depends on the batch (a
        # matrix product's summation order does).
        sims = np.einsum("cd,ckd->ck", vec[rows], anchors[cb])  # (C, 2)
        ok = has_text[rows]
        last_ok = (has & has_text[last_item])[cb]
        query_ok = np.any(query != 0, axis=1)[cb]
        return {
            "text_sim_last": np.where(ok & last_ok, sims[:, 0], np.nan).astype(np.float32),
            "text_sim_recent": np.where(ok & query_ok, sims[:, 1], np.nan).astype(np.float32),
        }


def _scenario_code(scenario: str) -> int:
    return SCENARIOS.index(scenario) if scenario in SCENARIOS else len(SCENARIOS)


def _same(last_code: IntArray, cand_code: IntArray) -> FloatArray:
    """1 where both codes are known and equal, 0 where known and different, else NaN."""
    known = (last_code >= 0) & (cand_code >= 0)
    return np.where(known, (last_code == cand_code).astype(np.float32), np.nan).astype(np.float32)


class _KeyRanges:
    """Where each query key's run of equal keys lies in the sorted history keys."""

    def __init__(self, keys: IntArray, queries: IntArray) -> None:
        self.order = np.argsort(keys, kind="stable")
        self.sorted = keys[self.order]
        self.lo = np.searchsorted(self.sorted, queries, side="left")
        self.hi = np.searchsorted(self.sorted, queries, side="right")

    def counts(self) -> IntArray:
        """How many history keys equal each query key."""
        return (self.hi - self.lo).astype(np.int64)

    def counts_where(self, mask: npt.NDArray[np.bool_]) -> IntArray:
        """As :meth:`counts`, counting only the history keys where ``mask`` holds."""
        cum = np.zeros(len(self.sorted) + 1, dtype=np.int64)
        np.cumsum(mask[self.order], out=cum[1:])
        return (cum[self.hi] - cum[self.lo]).astype(np.int64)

    def distinct_per_group(self, n_groups: int, width: int) -> IntArray:
        """Distinct history keys per group (``key // width``)."""
        first = np.ones(len(self.sorted), dtype=bool)
        first[1:] = self.sorted[1:] != self.sorted[:-1]
        return np.bincount(self.sorted[first] // width, minlength=n_groups)


def _code_keys(
    eb: IntArray, codes: IntArray, cb: IntArray, cand_codes: IntArray, n_codes: int
) -> tuple[IntArray, IntArray]:
    """(history, code) keys of the events with a code, and the candidates' keys.

    A candidate without a code (-1) gets a key no event has: each history's key range is
    ``n_codes + 1`` wide and its last slot is never used.
    """
    width = n_codes + 1
    known = codes >= 0
    return eb[known] * width + codes[known], cb * width + cand_codes


def _share(counts: IntArray, total: IntArray, ok: npt.NDArray[np.bool_]) -> FloatArray:
    """``counts / total`` where ``ok``, else NaN."""
    share: FloatArray = np.divide(counts, total, out=np.full(len(counts), np.nan), where=ok).astype(
        np.float32
    )
    return share
