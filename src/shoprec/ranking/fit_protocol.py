"""The ranker's fit protocol: targets, the sources fit before them, and the leakage guard.

A learned ranker must learn from candidates whose sources never saw the item it is asked to
find. :class:`~.ranked.RankedRecommender` fits on a log ``D`` in these steps (see
``docs/ranking.md``):

1. The targets ``T`` are each user's last ``targets_per_user`` events (one event always stays
   in the prefix); the prefix ``P`` is ``D`` without them (:func:`split_targets`). A target's
   request is its user's history before it, earlier targets included: a served request, too,
   holds events the sources were not fit on.
2. The sources are fit on ``P`` less every event of a seeded ``cold_item_share`` of the items
   (:func:`withhold_items`, :func:`fit_sources`): targets on those items reach the ranker as a
   newly listed item does when served (no popularity, no collaborative score, only its text),
   so it learns when a new item deserves a place. The target users are split (seeded) into
   90% for training the ranker and 10% held out (:func:`split_users`); iterative sources
   (SASRec) early-stop on the held-out users' targets.
3. Every target's request gets candidates and features; the target item is
   labelled 1, the rest 0 (a :class:`TrainingSet`). Requests whose target is not among the
   candidates are left out of training (they count in the candidate recall).
4. Leakage guard: the training set is built only by
   :meth:`~.ranked.RankedRecommender.training_data`, which first checks
   (:func:`check_no_leakage`) that no target is in the data the sources saw
   (:attr:`FittedSources.seen`).
5. The learner trains on the 90% and early-stops on the 10%.
6. With ``refit_sources``, the sources are refit on all of ``D`` (iterative ones for the epochs
   found in step 2, :attr:`FittedSources.epochs`) and the item statistics recounted, so the
   served model has seen every event; the ranker is kept.

Fits of the same sources on the same data are memoised in-process (``_FIT_MEMO``), so rankers
trained on one set of sources (LambdaRank and DeepFM in one benchmark run) share one fit.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.data import EvalSet, Interactions, UserSequences
from shoprec.errors import ConfigError, LeakageError
from shoprec.models import BaseRecommender, FitOptions, create_model
from shoprec.models.cold_items import TextNeighbours
from shoprec.types import EVENT_TYPE_ALIASES, Columns

from .candidates import TEXT_SOURCE, Source, SourceSpec, TextSimilarity
from .learners import RankingData

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]


@runtime_checkable
class EarlyStopped(Protocol):
    """A model that reports the epoch its validated fit stopped at (SASRec)."""

    best_epoch: int


@dataclass(frozen=True)
class FittedSources:
    """Candidate sources together with the data they were fit on.

    Attributes:
        models: Source name -> fitted source (config order; dropped sources absent).
        seen: The interactions every source was fit on (what the leakage guard checks).
        epochs: Early-stopping epoch of each iterative source (for the refit).
        dropped: Source name -> why it was dropped.
        neighbours: The items ``seen`` has no event of, with the known items nearest to them
            by text, when the sources describe those items by them
            (:meth:`~.ranked.RankedRecommender.fit`); ``None``: they do not.
    """

    models: dict[str, Source]
    seen: Interactions
    epochs: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)
    neighbours: TextNeighbours | None = None


@dataclass(frozen=True)
class Targets:
    """The ranker's target events with the request each one answers.

    Attributes:
        events: One target event per row (log order).
        cases: Per row, the user's events before the target in the full log (the request's
            history, earlier targets of the user included) and the target item.
    """

    events: Interactions
    cases: EvalSet

    def __len__(self) -> int:
        return len(self.cases)

    @property
    def users(self) -> list[object]:
        """The user of each target row."""
        return list(self.events.events[Columns.USER].to_list())

    def take(self, rows: npt.ArrayLike) -> Targets:
        """A subset of the targets, in the given order."""
        rows = np.asarray(rows, dtype=np.int64)
        return Targets(self.events.with_events(self.events.events[rows]), self.cases.take(rows))


@dataclass(frozen=True)
class TargetSplit:
    """A log cut into the ranker's targets and the prefix before them.

    Attributes:
        prefix: Every event except the targets (what the sources are fit on).
        targets: Each user's last ``per_user`` events (fewer for short histories: one event
            always stays in the prefix), with their requests.
    """

    prefix: Interactions
    targets: Targets


@dataclass(frozen=True)
class TrainingSet:
    """The ranker's training groups of one set of targets, and how well the candidates cover them.

    Attributes:
        data: The groups whose target is among the candidates (``None`` when none is).
        cases: Number of requests (targets).
        found: Targets that are among their request's candidates.
        source_found: Per active source, targets among that source's own candidates.
    """

    data: RankingData | None
    cases: int
    found: int
    source_found: dict[str, int]

    @property
    def recall(self) -> float:
        """Share of targets among the candidates (NaN without cases)."""
        return self.found / self.cases if self.cases else float("nan")

    @property
    def source_recall(self) -> dict[str, float]:
        """Per source, the share of targets among its own candidates."""
        return {
            n: f / self.cases if self.cases else float("nan") for n, f in self.source_found.items()
        }


# -- the steps -------------------------------------------------------------------------------
def split_targets(
    data: Interactions, per_user: int = 1, types: Collection[str] | None = None
) -> TargetSplit:
    """Each user's last ``per_user`` events (of ``types``) as targets, what came before as prefix.

    Users keep at least their first event in the prefix (a user with one event gives no
    target). Events are ordered by timestamp per user, ties in log order. With ``types`` (e.g.
    ``{"purchase"}``) only events of those types are targets, and the prefix ends before a
    user's first target: later events of other types are in no source's data, but they are in
    the requests of the targets after them. An event logged twice (same user, item and timestamp
    as a target) goes with the target. A target's request is the user's history before it in
    ``data``, so later targets see the earlier ones, as a served request sees the events since
    the last fit.
    """
    events = data.events.with_row_index("_row").with_columns(
        pl.col(Columns.TIMESTAMP).fill_null(0.0).alias("_t")
    )
    ordered = events.sort([Columns.USER, "_t", "_row"]).with_columns(
        pl.int_range(pl.len()).over(Columns.USER).alias("_pos")
    )
    if types is not None:  # a coupon redemption is a purchase (EVENT_TYPE_ALIASES)
        types = {*types, *(alias for alias, t in EVENT_TYPE_ALIASES.items() if t in types)}
    kind = pl.col(Columns.EVENT_TYPE).is_in(list(types)) if types is not None else pl.lit(True)
    eligible = kind & (pl.col("_pos") >= 1)
    # Eligible events at or after each position, per user: a target is among the last per_user.
    from_end = eligible.cast(pl.Int64).reverse().cum_sum().reverse().over(Columns.USER)
    ordered = ordered.with_columns((eligible & (from_end <= per_user)).alias("_target"))
    first = pl.col("_pos").filter(pl.col("_target")).min().over(Columns.USER)
    targets = ordered.filter(pl.col("_target")).sort("_row")
    keys = targets.select(Columns.USER, Columns.ITEM, "_t")
    before = ordered.filter(first.is_null() | (pl.col("_pos") < first))
    prefix = before.join(keys, on=[Columns.USER, Columns.ITEM, "_t"], how="anti")
    prefix = prefix.sort("_row").drop("_row", "_t", "_pos", "_target")
    target_events = data.with_events(targets.drop("_row", "_t", "_pos", "_target"))
    positions = targets["_pos"].to_numpy().astype(np.int64)
    return TargetSplit(
        prefix=data.with_events(prefix),
        targets=Targets(target_events, _cases(data, target_events, positions)),
    )


def _cases(data: Interactions, targets: Interactions, positions: IntArray) -> EvalSet:
    """Per target, its user's first ``position`` events in ``data`` and the target item."""
    seqs = data.sequences
    row_of = {u: r for r, u in enumerate(seqs.user_ids)}
    users = targets.events[Columns.USER].to_list()
    rows = np.fromiter((row_of[u] for u in users), dtype=np.int64, count=len(users))
    items = data.item_vocab.lookup(targets.events[Columns.ITEM].to_list())
    starts = seqs.offsets[rows]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(positions, out=offsets[1:])
    pos = np.repeat(starts - offsets[:-1], positions) + np.arange(offsets[-1])
    histories = UserSequences(
        user_ids=users,
        offsets=offsets,
        items=seqs.items[pos],
        types=seqs.types[pos],
        timestamps=seqs.timestamps[pos],
    )
    return EvalSet(histories, items)


def check_no_leakage(seen: Interactions, targets: Interactions) -> None:
    """Raise when a target event is in ``seen``, or ``seen`` holds a later event of its user.

    Args:
        seen: The data candidate sources were fit on.
        targets: The ranker's training targets (one event per row).

    Raises:
        LeakageError: Naming how many targets leak and the first of them.
    """
    keys = [Columns.USER, Columns.ITEM, Columns.TIMESTAMP]

    def frame(data: Interactions) -> pl.DataFrame:
        return data.events.select(
            Columns.USER, Columns.ITEM, pl.col(Columns.TIMESTAMP).fill_null(0.0)
        )

    wanted, known = frame(targets), frame(seen)
    same = wanted.join(known, on=keys, how="semi")
    newest = known.group_by(Columns.USER).agg(pl.col(Columns.TIMESTAMP).max().alias("_newest"))
    later = wanted.join(newest, on=Columns.USER).filter(
        pl.col("_newest") > pl.col(Columns.TIMESTAMP)
    )
    leaked = pl.concat([same, later.select(keys)]).unique(maintain_order=True)
    if leaked.height:
        user, item, ts = leaked.row(0)
        raise LeakageError(
            f"{leaked.height} of {wanted.height} ranker targets are in the data the candidate "
            f"sources were fit on, or precede events of their user there (first: user "
            f"{user!r}, item {item!r} at {ts}); fit the sources on the events before the targets"
        )


def withhold_items(data: Interactions, share: float, seed: int) -> Interactions:
    """``data`` without any event of a seeded ``share`` of the items that occur in it.

    The catalogue is unchanged, so the withheld items stay known by their content only, as in
    the cold-item split of :mod:`shoprec.data.splits`.
    """
    interacted = np.unique(data.item_index)
    n = round(share * len(interacted))
    if n == 0:
        return data
    rows = np.random.default_rng(seed).choice(interacted, n, replace=False)
    ids = [data.item_vocab.ids[i] for i in np.sort(rows)]
    return data.with_events(data.events.filter(~pl.col(Columns.ITEM).is_in(ids)))


def split_users(
    users: Sequence[object], holdout_share: float, seed: int, max_train: int | None = None
) -> tuple[IntArray, IntArray]:
    """Seeded split of target rows by their user into (training, held out), each sorted.

    All targets of a user go the same way; at least one user goes each way when there are
    two or more. ``max_train`` caps the training rows (a seeded sample).
    """
    rng = np.random.default_rng(seed)
    index: dict[object, int] = {}
    user_of_row = np.fromiter(
        (index.setdefault(u, len(index)) for u in users), dtype=np.int64, count=len(users)
    )
    n = len(index)
    n_hold = min(max(round(holdout_share * n), 1), n - 1) if n >= 2 else 0
    held_users = np.zeros(n, dtype=bool)
    held_users[rng.permutation(n)[:n_hold]] = True
    held = held_users[user_of_row]
    hold, train = np.flatnonzero(held), np.flatnonzero(~held)
    if max_train is not None and len(train) > max_train:
        train = np.sort(rng.choice(train, max_train, replace=False))
    return train.astype(np.int64), hold.astype(np.int64)


#: Sources fit in this process, by (spec, data, seed, epoch cap, validation): rankers trained
#: on the same sources (LambdaRank and DeepFM in one benchmark run) reuse one fit instead of
#: repeating an 8-minute Transformer fit. Fits are deterministic for a seed, so a reused model
#: is the model the fit would make; only the latest few are kept.
_FIT_MEMO: dict[tuple[object, ...], BaseRecommender] = {}
_FIT_MEMO_SIZE = 12


def _fingerprint(data: Interactions) -> tuple[int, int, int]:
    """Identity of a log's content: event count, catalogue size and a hash of every row."""
    return data.n_events, data.n_items, int(data.events.hash_rows(seed=0).sum())


def _fingerprint_cases(cases: object) -> object:
    """Identity of validation cases (``None`` or an :class:`EvalSet`)."""
    if not isinstance(cases, EvalSet):
        return None if cases is None else id(cases)
    h = cases.histories
    return hash((cases.targets.tobytes(), h.items.tobytes(), h.offsets.tobytes()))


def fit_sources(
    sources: Mapping[str, SourceSpec],
    data: Interactions,
    opts: FitOptions,
    text: TextSimilarity | None,
    *,
    epochs: dict[str, int] | None = None,
    names: Iterable[str] | None = None,
) -> FittedSources:
    """Fit the sources on ``data``; drop (with a warning) those that refuse it.

    Args:
        sources: Source name -> spec, in config order (``RankedConfig.sources``).
        data: What every source is fit on (recorded as ``FittedSources.seen``).
        opts: Run context of every fit (seed, device, validation for iterative sources).
        text: Item text vectors for the text source (``None``: no text; the source is dropped).
        epochs: Per source, the epoch cap of a refit (iterative sources).
        names: Fit only these sources (a refit keeps the first fit's survivors).

    Raises:
        UnknownModelError: For a source key that is not registered.
    """
    wanted = set(names) if names is not None else None
    models: dict[str, Source] = {}
    found: dict[str, int] = {}
    dropped: dict[str, str] = {}
    for name, spec in sources.items():
        if wanted is not None and name not in wanted:
            continue
        if spec.key == TEXT_SOURCE:
            if text is None or not text.has_text.any():
                dropped[name] = "no item has text"
                logger.warning("ranked: source %r dropped: no item has text", name)
            else:
                models[name] = text
            continue
        cap = (epochs or {}).get(name)
        run = replace(opts, max_epochs=cap or opts.max_epochs)
        memo_key: tuple[object, ...] = (
            spec.model_dump_json(),
            _fingerprint(data),
            run.seed,
            run.max_epochs,
            _fingerprint_cases(run.validation),
        )
        model = _FIT_MEMO.get(memo_key)
        if model is None:
            model = create_model(spec.key, spec.params)
            logger.info(
                "ranked: fitting source %r (%s) on %d events", name, spec.key, data.n_events
            )
            try:
                model.fit(data, run)
            except ConfigError as exc:
                dropped[name] = str(exc)
                logger.warning("ranked: source %r dropped: %s", name, exc)
                continue
            _FIT_MEMO[memo_key] = model
            while len(_FIT_MEMO) > _FIT_MEMO_SIZE:
                _FIT_MEMO.pop(next(iter(_FIT_MEMO)))
        if isinstance(model, EarlyStopped) and model.best_epoch > 0:
            found[name] = model.best_epoch
        models[name] = model
    return FittedSources(models, data, found, dropped)
