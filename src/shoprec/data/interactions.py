"""The interaction dataset models train on: an event log, a catalogue and their id vocabularies."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.types import EVENT_TYPE_CODES, MODEL_EVENT_CODES, Columns

from .vocabulary import IdVocab

EVENT_SCHEMA: dict[str, pl.DataType] = {
    Columns.USER: pl.String(),
    Columns.ITEM: pl.String(),
    Columns.EVENT_TYPE: pl.String(),
    Columns.TIMESTAMP: pl.Float64(),
    Columns.VALUE: pl.Float64(),
    Columns.SESSION: pl.String(),
    Columns.CONTEXT: pl.String(),
}

ITEM_SCHEMA: dict[str, pl.DataType] = {
    Columns.ITEM: pl.String(),
    Columns.TITLE: pl.String(),
    Columns.DESCRIPTION: pl.String(),
    Columns.CATEGORY: pl.String(),
    Columns.BRAND: pl.String(),
    Columns.PRICE: pl.Float64(),
    Columns.IN_STOCK: pl.Boolean(),
    Columns.ATTRIBUTES: pl.String(),
}


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select ``schema``'s columns in order, casting them and adding missing ones as nulls."""
    cols = []
    for name, dtype in schema.items():
        if name in frame.columns:
            cols.append(pl.col(name).cast(dtype))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(cols)


@dataclass(frozen=True)
class UserSequences:
    """Every user's events in time order, CSR-packed (user ``u`` owns ``offsets[u]:offsets[u+1]``).

    Ties in timestamp keep the log's order, as the benchmark protocol requires.
    """

    user_ids: list[str]
    offsets: npt.NDArray[np.int64]  # (U + 1,)
    items: npt.NDArray[np.int64]  # (E,) item indices in the dataset's item vocabulary
    types: npt.NDArray[np.int8]  # (E,) event type codes (EVENT_TYPE_CODES)
    timestamps: npt.NDArray[np.float64]  # (E,)

    def __len__(self) -> int:
        return len(self.user_ids)

    def items_of(self, u: int) -> npt.NDArray[np.int64]:
        """Item indices of user ``u``, oldest first."""
        return self.items[self.offsets[u] : self.offsets[u + 1]]

    def lengths(self) -> npt.NDArray[np.int64]:
        """Number of events per user."""
        return np.diff(self.offsets)

    def take(self, rows: npt.ArrayLike) -> UserSequences:
        """The sequences of the given user rows, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        lengths = ends - starts
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # Gather positions of every kept event without a Python loop.
        pos = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return UserSequences(
            user_ids=[self.user_ids[r] for r in rows],
            offsets=offsets,
            items=self.items[pos],
            types=self.types[pos],
            timestamps=self.timestamps[pos],
        )

    @classmethod
    def from_lists(
        cls,
        items: list[list[int]],
        user_ids: list[str] | None = None,
        types: list[list[int]] | None = None,
    ) -> UserSequences:
        """Build sequences from Python lists of item indices (handy for queries and tests)."""
        lengths = np.asarray([len(s) for s in items], dtype=np.int64)
        offsets = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter((i for s in items for i in s), dtype=np.int64, count=int(offsets[-1]))
        if types is None:
            codes = np.zeros(len(flat), dtype=np.int8)
        else:
            codes = np.fromiter((c for s in types for c in s), dtype=np.int8, count=len(flat))
        return cls(
            user_ids=user_ids if user_ids is not None else [str(u) for u in range(len(items))],
            offsets=offsets,
            items=flat,
            types=codes,
            timestamps=np.zeros(len(flat), dtype=np.float64),
        )


class Interactions:
    """An event log plus a catalogue, with dense id vocabularies for users and items.

    The item vocabulary lists the catalogue first (its order), then items that appear only in
    events; an ``item_vocab`` passed in is extended, never reordered, so a model trained on an
    earlier vocabulary keeps its indices.

    Args:
        events: Canonical event frame (see :class:`~shoprec.types.Columns`); extra columns dropped.
        items: Canonical catalogue frame; ``None`` derives a bare catalogue from the events.
        item_vocab: Vocabulary to extend (defaults to a new one).
    """

    def __init__(
        self,
        events: pl.DataFrame,
        items: pl.DataFrame | None = None,
        item_vocab: IdVocab | None = None,
    ) -> None:
        self.events = conform(events, EVENT_SCHEMA)
        if items is None:
            items = self.events.select(Columns.ITEM).unique(maintain_order=True)
        self.items = conform(items, ITEM_SCHEMA).unique(
            Columns.ITEM, keep="last", maintain_order=True
        )
        self.item_vocab = IdVocab(item_vocab.ids if item_vocab is not None else ())
        self.item_vocab.add(self.items[Columns.ITEM].to_list())
        self.item_vocab.add(self.events[Columns.ITEM].unique(maintain_order=True).to_list())

    @property
    def n_items(self) -> int:
        """Size of the item vocabulary."""
        return len(self.item_vocab)

    @property
    def n_events(self) -> int:
        """Number of events."""
        return self.events.height

    def with_events(self, events: pl.DataFrame) -> Interactions:
        """The same catalogue and item vocabulary with another event log (e.g. a split)."""
        return Interactions(events, self.items, self.item_vocab)

    @cached_property
    def item_index(self) -> npt.NDArray[np.int64]:
        """Item index of every event (log order)."""
        mapping = pl.DataFrame(
            {Columns.ITEM: self.item_vocab.ids, "_idx": np.arange(self.n_items, dtype=np.int64)}
        )
        joined = self.events.select(Columns.ITEM).join(
            mapping, on=Columns.ITEM, how="left", maintain_order="left"
        )
        return joined["_idx"].to_numpy()

    @cached_property
    def type_codes(self) -> npt.NDArray[np.int8]:
        """Event type code of every event (log order); unknown types map to ``view``.

        An alias reads as its type (``coupon_redeem`` as ``purchase``, see ``MODEL_EVENT_CODES``).
        """
        codes = self.events[Columns.EVENT_TYPE].replace_strict(
            MODEL_EVENT_CODES, default=EVENT_TYPE_CODES["view"], return_dtype=pl.Int8
        )
        return codes.to_numpy()

    @cached_property
    def sequences(self) -> UserSequences:
        """Per-user time-ordered sequences (users in order of first appearance)."""
        frame = pl.DataFrame(
            {
                "u": self.events[Columns.USER],
                "t": self.events[Columns.TIMESTAMP].fill_null(0.0),
                "i": self.item_index,
                "c": self.type_codes,
                "row": np.arange(self.n_events, dtype=np.int64),
            }
        )
        users = frame["u"].unique(maintain_order=True)
        uidx = pl.DataFrame({"u": users, "ui": np.arange(len(users), dtype=np.int64)})
        frame = frame.join(uidx, on="u", how="left").sort(["ui", "t", "row"])
        counts = np.bincount(frame["ui"].to_numpy(), minlength=len(users))
        offsets = np.zeros(len(users) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return UserSequences(
            user_ids=users.to_list(),
            offsets=offsets,
            items=frame["i"].to_numpy().astype(np.int64),
            types=frame["c"].to_numpy().astype(np.int8),
            timestamps=frame["t"].to_numpy().astype(np.float64),
        )

    def item_texts(self) -> list[str]:
        """Per-item text in vocab order: title, brand, category, description (encoder input)."""
        parts = [Columns.TITLE, Columns.BRAND, Columns.CATEGORY, Columns.DESCRIPTION]
        text = self.items.select(
            Columns.ITEM,
            pl.concat_str([pl.col(c).fill_null("") for c in parts], separator=" | ")
            .str.replace_all(r"(\s\|\s)+", " | ")
            .str.strip_chars(" |")
            .alias("text"),
        )
        lookup = dict(zip(text[Columns.ITEM].to_list(), text["text"].to_list(), strict=True))
        return [lookup.get(i) or "" for i in self.item_vocab.ids]
