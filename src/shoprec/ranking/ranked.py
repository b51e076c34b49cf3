"""The ranked recommender: candidates from several sources, rich features, a learned ranker.

A request's candidates are the union of the top-K of several sources (registered models and
text similarity), each candidate described by :mod:`.features`, and ordered by a
:class:`~.learners.Learner` (LightGBM LambdaRank by default, or DeepFM). The same three public
steps, :meth:`RankedRecommender.candidates`, :meth:`~RankedRecommender.features` and
:meth:`~RankedRecommender.rank`, serve the pipeline online and ``score_batch`` offline.

:meth:`RankedRecommender.fit` follows the fit protocol of :mod:`.fit_protocol`: the sources
are fit on the log without each user's last event, the ranker learns to find that event among
their candidates, and a leakage guard checks that no source saw it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import Field, model_validator

from shoprec.data import IdVocab, Interactions, UserSequences
from shoprec.errors import ArtifactError, DataError, NotFittedError
from shoprec.features.text import MINILM
from shoprec.models import BaseConfig, BaseRecommender, FitOptions, GrowsCatalogue, load_model
from shoprec.models.base import Scores, new_items
from shoprec.models.cold_items import ImputesColdItems, TextNeighbours
from shoprec.models.textsim import unit_text_vectors
from shoprec.models.weighting import check_history
from shoprec.types import EventType, ItemId

from .candidates import (
    TEXT_SOURCE,
    CandidateGenerator,
    CandidateSet,
    Source,
    SourceSpec,
    TextSimilarity,
    history_rows,
)
from .features import FeatureBuilder, feature_names
from .fit_protocol import (
    FittedSources,
    Targets,
    TrainingSet,
    check_no_leakage,
    fit_sources,
    split_targets,
    split_users,
    withhold_items,
)
from .item_stats import ItemStats
from .learners import Learner, RankingData, create_learner, learner_class

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: Histories per candidate/feature batch (bounds memory at a few catalogue-wide score rows).
BATCH = 256
SOURCES_DIR = "sources"
RANKER_DIR = "ranker"
_STATS_PREFIX = "stats."
_TEXT_ARRAY = "text_vectors"


def default_sources() -> dict[str, SourceSpec]:
    """The default sources and their k: covisit 80, EASE 80, popularity 20, text 40.

    The Transformer is not among them by default: as a source it costs two SASRec fits per
    ranker fit (on the prefix, then the refit); add ``{"key": "sasrec", "k": 100}`` to use it
    (``docs/benchmarks.md`` compares both).
    """
    return {
        "covisit": SourceSpec(key="covisit", k=80),
        "ease": SourceSpec(key="ease", k=80),
        "popularity": SourceSpec(key="popularity", k=20),
        TEXT_SOURCE: SourceSpec(key=TEXT_SOURCE, k=40),
    }


class RankedConfig(BaseConfig):
    """Configuration of :class:`RankedRecommender`."""

    sources: dict[str, SourceSpec] = Field(default_factory=default_sources)
    """Candidate sources by name, in feature-column order; each a registered model key with its
    params and ``k`` (candidates per request), or the key ``"text"``. A source that refuses the
    data (e.g. EASE on a huge catalogue, text without any item text) is dropped at fit with a
    warning; its feature columns stay (NaN), so the layout is fixed by this config."""

    ranker: Literal["lambdarank", "deepfm"] = "lambdarank"
    """The learner ordering the candidates."""

    ranker_params: dict[str, Any] = Field(default_factory=dict)
    """Config values of the learner (validated by its own config)."""

    event_type_features: bool = True
    """Keep the features derived from event types (views, carts, purchases, favourites); off
    is the multi-behaviour ablation."""

    text_encoder: str = MINILM
    """Text encoder spec (``make_text_encoder``) for the item text vectors of the text source
    and the text-similarity features."""

    text_cache_dir: str | None = None
    """Directory of the on-disk text-embedding cache (``None``: no cache)."""

    refit_sources: bool = True
    """After training the ranker, refit the sources (and recount the item statistics) on all
    the data, so the served model has seen the ranker's training targets too."""

    targets_per_user: int = Field(1, ge=1)
    """Training requests per user: each user's last this many events are the ranker's targets
    (the sources are fit on the events before them). More requests per user teach a small
    log more, at the cost of sources fit on a shorter log."""

    target_event_types: list[str] | None = None
    """Event types that are the ranker's targets (``["purchase"]``: it learns the next
    purchase, and later events of other types stay out of the sources' data); ``None``: every
    event."""

    cold_item_share: float = Field(0.2, ge=0.0, lt=1.0)
    """Share of the items whose events the sources do not see while the ranker trains (see
    :func:`~.fit_protocol.withhold_items`): without it the ranker never meets a target without
    history and ranks every new item below the warm ones."""

    max_train_users: int | None = Field(None, ge=1)
    """Cap on the requests the ranker trains on (a seeded sample); ``None``: all."""

    cold_neighbors: int = Field(1, ge=0)
    """A catalogue item without events (never interacted with, withheld while the ranker
    trains, or listed after the fit) is described to the ranker by this many known items
    nearest to it by text: co-visitation, EASE and popularity score it, and its popularity and
    age features read, as the weighted mean of theirs (:mod:`shoprec.models.cold_items`). 1
    (its nearest item's, chosen on Beauty's cold-item validation target over 1, 3 and 10)
    ranks new items best; 0: it reaches the ranker through the text source and its content
    features only, and ranks far lower (docs/benchmarks.md, "Cold items described by their
    text neighbours")."""

    cold_temperature: float = Field(0.02, gt=0.0)
    """Softmax temperature over the neighbours' text cosine similarities (with more than one
    neighbour)."""

    holdout_share: float = Field(0.1, gt=0.0, lt=1.0)
    """Share of the target users held out for early stopping (sources and ranker)."""

    @model_validator(mode="after")
    def _check_sources(self) -> RankedConfig:
        if not self.sources:
            raise ValueError("at least one candidate source is needed")
        for name, spec in self.sources.items():
            if spec.key == TEXT_SOURCE and spec.params:
                raise ValueError(f"source {name!r}: the text source takes no params")
        if self.target_event_types is not None:
            known = {t.value for t in EventType}
            unknown = sorted(set(self.target_event_types) - known)
            if unknown or not self.target_event_types:
                raise ValueError(
                    f"target_event_types: {unknown or 'empty'}; known types: {sorted(known)}"
                )
        return self


@dataclass(frozen=True)
class RankedBatch:
    """Candidates, their feature rows and their ranker scores, per history of a batch."""

    candidates: list[CandidateSet]
    features: list[FloatArray]
    scores: list[FloatArray]


# -- the recommender ---------------------------------------------------------------------------
class RankedRecommender(BaseRecommender):
    """Candidates from several sources, ordered by a learned ranker over rich features.

    ``score_batch`` gives the ranker's score to each history's candidates and NaN to every
    other item. Deliberately no ``best_epoch``: the benchmark would cap the final fit's epochs
    with it, while the iterative sources find their own epochs inside :meth:`fit`.

    Example:
        >>> model = RankedRecommender(RankedConfig(ranker="deepfm"))  # doctest: +SKIP
    """

    key: ClassVar[str] = "ranked"
    config_cls: ClassVar[type[RankedConfig]] = RankedConfig
    config: RankedConfig
    search_space: ClassVar[dict[str, list[Any]]] = {"targets_per_user": [1, 3, 6]}

    def __init__(self, config: RankedConfig | None = None) -> None:
        super().__init__(config)
        self._sources: dict[str, Source] = {}
        self._dropped: dict[str, str] = {}
        self._stats: ItemStats | None = None
        self._text: TextSimilarity | None = None
        self._learner: Learner | None = None
        self._generator: CandidateGenerator | None = None
        self._builder: FeatureBuilder | None = None
        self._installed: FittedSources | None = None
        self._loaded_arrays: dict[str, npt.NDArray[Any]] = {}
        self._active: list[str] = []  # source names of a loaded artifact
        self.candidate_recall: float | None = None
        """Share of the held-out targets among their candidates (after ``fit``)."""
        self.source_recall: dict[str, float] = {}
        """Per source, the share of held-out targets among its own candidates."""

    # -- public views ----------------------------------------------------------------------
    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature column names (fixed by the config)."""
        return feature_names(list(self.config.sources), self.config.event_type_features)

    @property
    def categorical_features(self) -> tuple[int, ...]:
        """Indices of the categorical feature columns."""
        return self._require_builder().categorical

    @property
    def source_names(self) -> tuple[str, ...]:
        """The sources in use (configured minus dropped), in config order."""
        return tuple(self._sources)

    @property
    def source_models(self) -> dict[str, Source]:
        """The fitted sources by name (the pipeline asks a sequence model for attributions)."""
        return dict(self._sources)

    @property
    def dropped_sources(self) -> dict[str, str]:
        """Sources dropped at fit, with the reason."""
        return dict(self._dropped)

    @property
    def item_stats(self) -> ItemStats:
        """The item statistics the features read (names of categories and brands included)."""
        if self._stats is None:
            raise NotFittedError("RankedRecommender is not fitted: call fit() or load()")
        return self._stats

    @property
    def learner(self) -> Learner:
        """The trained ranker."""
        if self._learner is None:
            raise NotFittedError("RankedRecommender is not fitted: call fit() or load()")
        return self._learner

    # -- training --------------------------------------------------------------------------
    def fit(self, data: Interactions, opts: FitOptions = FitOptions()) -> None:
        """Fit sources and ranker on ``data`` by the protocol of :mod:`.fit_protocol`.

        ``opts.validation`` is not used: the ranker holds out its own users (their targets
        early-stop the iterative sources and the learner). ``opts.max_epochs`` caps the
        iterative sources; ``opts.progress`` is passed on to them, and each step is logged.

        Raises:
            DataError: When no user has two events, or no training request's target is among
                its candidates (nothing to learn from).
            LeakageError: When the sources saw the ranker's targets (a bug, never the data).
        """
        cfg = self.config
        self.item_vocab = IdVocab(data.item_vocab.ids)
        self._text = self._text_similarity(data, opts)
        split = split_targets(data, cfg.targets_per_user, cfg.target_event_types)
        n = len(split.targets)
        if n == 0:
            wanted = cfg.target_event_types or "any type"
            raise DataError(
                f"ranked: no user has an event of {wanted} after their first event; the ranker "
                "has nothing to learn"
            )
        train_rows, hold_rows = split_users(
            split.targets.users, cfg.holdout_share, opts.seed, cfg.max_train_users
        )
        train_t = split.targets.take(train_rows)
        hold_t = split.targets.take(hold_rows)
        validation = hold_t.cases if len(hold_rows) else None
        logger.info(
            "ranked: %d targets, %d for training, %d held out", n, len(train_rows), len(hold_rows)
        )
        fitted = self._with_cold_items(
            fit_sources(
                cfg.sources,
                withhold_items(split.prefix, cfg.cold_item_share, opts.seed),
                replace(opts, validation=validation),
                self._text,
            )
        )
        if not fitted.models:
            raise DataError(f"ranked: every candidate source was dropped ({fitted.dropped})")
        logger.info("ranked: building the ranker's training set")
        train = self.training_data(fitted, train_t)
        held = self.training_data(fitted, hold_t) if len(hold_rows) else None
        report = held if held is not None else train
        self.candidate_recall = report.recall
        self.source_recall = report.source_recall
        logger.info("ranked: candidate recall %.4f %s", report.recall, self.source_recall)
        if train.data is None:
            raise DataError(
                "ranked: no training request has its target among the candidates; "
                "raise the sources' k or add sources"
            )
        learner = create_learner(cfg.ranker, cfg.ranker_params)
        logger.info("ranked: training the %s ranker on %d requests", cfg.ranker, train.found)
        learner.fit(train.data, held.data if held is not None else None, seed=opts.seed)
        self._learner = learner
        if cfg.refit_sources:
            refit = fit_sources(
                cfg.sources,
                data,
                replace(opts, validation=None),
                self._text,
                epochs=fitted.epochs,
                names=fitted.models,
            )
            self._install(self._with_cold_items(refit))
        self._installed = None
        self._fitted = True

    def training_data(self, fitted: FittedSources, targets: Targets) -> TrainingSet:
        """The ranker's training groups for ``targets``, after the leakage guard.

        The only way to a training set: the sources and item statistics of ``fitted`` are put
        in place and every target user's history in ``fitted.seen`` ranked, so a source that
        saw a target can never reach the learner.

        Raises:
            LeakageError: When ``fitted.seen`` holds a target (or a later event of its user).
        """
        check_no_leakage(fitted.seen, targets.events)
        if self._installed is not fitted:
            self._install(fitted)
            self._installed = fitted
        cases = targets.cases
        names = self.source_names
        found = 0
        source_found = np.zeros(len(names), dtype=np.int64)
        xs: list[FloatArray] = []
        ys: list[npt.NDArray[np.float32]] = []
        for start in range(0, len(cases), BATCH):
            part = cases.take(np.arange(start, min(start + BATCH, len(cases))))
            hist = part.histories
            cands = self.candidates(hist, exclude=history_rows(hist))
            labels = [c.rows == t for c, t in zip(cands, part.targets, strict=True)]
            keep = [i for i, y in enumerate(labels) if y.any()]
            found += len(keep)
            for i in keep:
                hit = cands[i].scores[labels[i]][0]
                source_found += np.asarray(
                    [not np.isnan(hit[cands[i].source_names.index(s)]) for s in names]
                )
            feats = self.features(hist.take(keep), [cands[i] for i in keep])
            xs.extend(feats)
            ys.extend(labels[i].astype(np.float32) for i in keep)
        data = None
        if xs:
            builder = self._require_builder()
            data = RankingData(
                x=np.concatenate(xs),
                y=np.concatenate(ys),
                groups=np.asarray([len(x) for x in xs], dtype=np.int64),
                feature_names=builder.names,
                categorical=builder.categorical,
            )
        per_source = {s: int(f) for s, f in zip(names, source_found, strict=True)}
        return TrainingSet(data, len(cases), found, per_source)

    def _text_similarity(self, data: Interactions, opts: FitOptions) -> TextSimilarity | None:
        """Unit text vectors of the catalogue, or ``None`` when no item has text."""
        cfg = self.config
        vectors = unit_text_vectors(
            data.item_texts(), cfg.text_encoder, cfg.text_cache_dir, opts.device
        )
        if vectors is None:
            logger.warning("ranked: no item has text; the text source and features are off")
            return None
        return TextSimilarity(vectors)

    def _with_cold_items(self, fitted: FittedSources) -> FittedSources:
        """``fitted`` with the items it saw no event of described by their text neighbours.

        Sources that can (:class:`~shoprec.models.cold_items.ImputesColdItems`) are replaced
        by copies (a memoised fit stays as it was); the neighbours go with them for the item
        statistics (:meth:`_install`).
        """
        cfg = self.config
        if cfg.cold_neighbors == 0 or self._text is None:
            return fitted
        seen = fitted.seen
        known = np.bincount(seen.item_index, minlength=seen.n_items) > 0
        near = TextNeighbours.find(
            self._text.vectors, known, cfg.cold_neighbors, cfg.cold_temperature
        )
        if not len(near):
            return fitted  # every item has events: nothing to copy
        logger.info("ranked: %d items without events described by their text neighbours", len(near))
        models = {
            name: model.with_cold_items(near) if isinstance(model, ImputesColdItems) else model
            for name, model in fitted.models.items()
        }
        return replace(fitted, models=models, neighbours=near)

    # -- catalogue growth ------------------------------------------------------------------
    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """A copy that :meth:`add_items` can grow without touching this model.

        What it changes in place is copied: the vocabulary and the sources that grow
        themselves (a Transformer). The rest is shared, never changed in place: the trained
        ranker (its compiled trees took seconds to build), the item statistics and text
        vectors (replaced whole) and the sources replaced by copies (an EASE matrix is large).
        """
        out = copy.copy(self)
        memo[id(self)] = out
        out.item_vocab = IdVocab(self.item_vocab.ids)
        out._sources = {
            name: copy.deepcopy(source, memo) if isinstance(source, GrowsCatalogue) else source
            for name, source in self._sources.items()
        }
        out._build()
        return out

    def add_items(
        self,
        item_ids: Sequence[ItemId],
        texts: Sequence[str],
        catalogue: pl.DataFrame | None = None,
    ) -> None:
        """Add items listed after the fit: candidates and ranked at once, without a refit.

        A new item is described as an item without events is at fit: by its
        :attr:`~RankedConfig.cold_neighbors` nearest items with events by text (co-visitation,
        EASE and popularity score it, its popularity and age read, as their weighted mean),
        the text source and features read its text, and its price, stock, category and brand
        come from ``catalogue`` (unknown for items not listed there). Items already known are
        left as they are. When a source cannot take new items (one that is neither
        co-visitation, EASE, popularity, text nor text-based), nothing is added: the items
        wait for the next fit.

        Raises:
            DataError: When ``item_ids`` and ``texts`` differ in length.
        """
        self._require_fitted()
        fresh = new_items(self.item_vocab, item_ids, texts)
        if not fresh:
            return
        rigid = [
            name
            for name, source in self._sources.items()
            if source is not self._text
            and not isinstance(source, ImputesColdItems | GrowsCatalogue)
        ]
        if rigid:
            logger.warning(
                "ranked: sources %s cannot take new items; %d items wait for the next fit",
                rigid,
                len(fresh),
            )
            return
        added, added_texts = list(fresh), list(fresh.values())
        n = len(self.item_vocab) + len(added)
        near = TextNeighbours.none(n)
        text = self._text
        if text is not None:
            cfg = self.config
            vectors = unit_text_vectors(added_texts, cfg.text_encoder, cfg.text_cache_dir, "cpu")
            if vectors is None:  # only empty texts
                vectors = np.zeros((len(added), text.vectors.shape[1]), dtype=np.float32)
            text = self._text = TextSimilarity(np.concatenate([text.vectors, vectors]))
            if cfg.cold_neighbors:
                known = np.concatenate([~self.item_stats.unseen, np.zeros(len(added), bool)])
                near = TextNeighbours.find(
                    text.vectors, known, cfg.cold_neighbors, cfg.cold_temperature
                ).only(np.arange(len(self.item_vocab), n))
        for name, source in self._sources.items():
            if isinstance(source, TextSimilarity) and text is not None:
                self._sources[name] = text
            elif isinstance(source, ImputesColdItems):
                self._sources[name] = source.with_cold_items(near, added)
            elif isinstance(source, GrowsCatalogue):
                source.add_items(added, added_texts)
        self._stats = self.item_stats.with_items(added, catalogue).with_cold_items(near)
        self.item_vocab.add(added)
        self._build()

    def _install(self, fitted: FittedSources) -> None:
        """Serve from ``fitted``'s sources, with item statistics counted on what they saw."""
        self.item_vocab = IdVocab(fitted.seen.item_vocab.ids)
        self._sources = dict(fitted.models)
        self._dropped = dict(fitted.dropped)
        stats = ItemStats.from_interactions(fitted.seen)
        if fitted.neighbours is not None:
            stats = stats.with_cold_items(fitted.neighbours)
        self._stats = stats
        self._build()

    def _build(self) -> None:
        if self._stats is None:
            raise NotFittedError("RankedRecommender is not fitted: call fit() or load()")
        n_items = len(self.item_vocab)
        specs = self.config.sources
        self._generator = CandidateGenerator(
            {name: (source, specs[name].k) for name, source in self._sources.items()}, n_items
        )
        self._builder = FeatureBuilder(
            list(specs), self._stats, self._text, self.config.event_type_features
        )

    # -- the three steps (online and offline) ----------------------------------------------
    def _require_generator(self) -> CandidateGenerator:
        if self._generator is None:
            raise NotFittedError("RankedRecommender is not fitted: call fit() or load()")
        return self._generator

    def _require_builder(self) -> FeatureBuilder:
        if self._builder is None:
            raise NotFittedError("RankedRecommender is not fitted: call fit() or load()")
        return self._builder

    def candidates(
        self,
        histories: UserSequences,
        exclude: Sequence[IntArray] | None = None,
        only: Sequence[IntArray] | None = None,
    ) -> list[CandidateSet]:
        """Each history's candidates: the union of the sources' top-K.

        Args:
            histories: Histories in this model's item rows (``encode`` turns a query into one).
            exclude: Per history, item rows never returned (``score_batch`` passes the
                history's own items).
            only: Per history, the only item rows that may be returned (search re-ranking).
        """
        return self._require_generator().generate(histories, exclude, only)

    def features(
        self, histories: UserSequences, cands: Sequence[CandidateSet], scenario: str = "home"
    ) -> list[FloatArray]:
        """``(C, F)`` float32 feature rows per history (columns :attr:`feature_names`)."""
        return self._require_builder().build(histories, cands, scenario)

    def rank(self, features: FloatArray) -> FloatArray:
        """The ranker's ``(C,)`` scores of feature rows (higher is better)."""
        if not len(features):
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self.learner.predict(features), dtype=np.float32)

    def contributions(self, features: FloatArray) -> FloatArray:
        """``(C, F)``: how much each feature moved each row's score (for explanations)."""
        if not len(features):
            return np.zeros((0, len(self.feature_names)), dtype=np.float32)
        return np.asarray(self.learner.contributions(features), dtype=np.float32)

    def feature_importance(self) -> dict[str, float]:
        """The ranker's importance of every feature, summing to 1."""
        values = self.learner.importance()
        return {n: float(v) for n, v in zip(self.feature_names, values, strict=True)}

    def rank_batch(
        self,
        histories: UserSequences,
        exclude: Sequence[IntArray] | None = None,
        only: Sequence[IntArray] | None = None,
        scenario: str = "home",
    ) -> RankedBatch:
        """Candidates, features and scores per history: the three steps, as ``score_batch`` runs."""
        cands = self.candidates(histories, exclude, only)
        feats = self.features(histories, cands, scenario)
        if not feats:
            return RankedBatch(cands, feats, [])
        scores = self.rank(np.concatenate(feats))
        sizes = np.cumsum([len(f) for f in feats])[:-1]
        return RankedBatch(cands, feats, list(np.split(scores, sizes)))

    def score_batch(self, histories: UserSequences) -> Scores:
        """Ranker scores of each history's candidates ``(B, N)``; NaN for every other item.

        The history's own items are excluded from its candidates, as the benchmark protocol
        excludes them from the ranking.
        """
        self._require_fitted()
        check_history(histories, len(self.item_vocab))
        out = np.full((len(histories), len(self.item_vocab)), np.nan, dtype=np.float32)
        for start in range(0, len(histories), BATCH):
            stop = min(start + BATCH, len(histories))
            part = (
                histories
                if stop - start == len(histories)
                else histories.take(np.arange(start, stop))
            )
            batch = self.rank_batch(part, exclude=history_rows(part))
            for i, (cands, scores) in enumerate(zip(batch.candidates, batch.scores, strict=True)):
                out[start + i, cands.rows] = scores
        return out

    # -- artifacts -------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the ranked model: the base files, ``sources/<name>/`` and ``ranker/``."""
        self._require_fitted()
        path.mkdir(parents=True, exist_ok=True)
        for name, source in self._sources.items():
            if isinstance(source, BaseRecommender):
                source.save(path / SOURCES_DIR / name)
        self.learner.save(path / RANKER_DIR)
        super().save(path)  # config.json last: it marks a complete artifact

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read an artifact written by :meth:`save` (sources and ranker included).

        Raises:
            ArtifactError: When a source or the ranker is missing or unreadable.
        """
        model = super().load(path)
        model._load_parts(path)
        return model

    def _load_parts(self, path: Path) -> None:
        sources: dict[str, Source] = {}
        for name in self._active:
            spec = self.config.sources.get(name)
            if spec is None:
                raise ArtifactError(f"{path}: source {name!r} is not in the config")
            if spec.key == TEXT_SOURCE:
                if self._text is None:
                    raise ArtifactError(f"{path}: text source without text vectors")
                sources[name] = self._text
                continue
            folder = path / SOURCES_DIR / name
            if not folder.is_dir():
                raise ArtifactError(f"{path}: source {name!r} missing ({folder})")
            sources[name] = load_model(folder)
        ranker = path / RANKER_DIR
        if not ranker.is_dir():
            raise ArtifactError(f"{path}: no ranker directory ({ranker})")
        self._sources = sources
        self._learner = learner_class(self.config.ranker).load(ranker)
        self._build()

    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        arrays = {_STATS_PREFIX + k: v for k, v in self.item_stats.arrays().items()}
        if self._text is not None:
            arrays[_TEXT_ARRAY] = self._text.vectors
        return arrays

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self._loaded_arrays = arrays

    def _extra_state(self) -> dict[str, Any]:
        return {
            "sources": list(self._sources),
            "dropped": self._dropped,
            "stats": self.item_stats.state(),
            "feature_names": list(self.feature_names),
            "candidate_recall": self.candidate_recall,
            "source_recall": self.source_recall,
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        arrays = self._loaded_arrays
        self._loaded_arrays = {}
        if state.get("feature_names") != list(self.feature_names):
            raise ArtifactError("ranked artifact: its feature names do not match its config")
        stats = {
            k[len(_STATS_PREFIX) :]: v for k, v in arrays.items() if k.startswith(_STATS_PREFIX)
        }
        self._stats = ItemStats.from_arrays(stats, state.get("stats", {}))
        text = arrays.get(_TEXT_ARRAY)
        self._text = TextSimilarity(text) if text is not None else None
        self._active = list(state.get("sources", []))
        self._dropped = dict(state.get("dropped", {}))
        recall = state.get("candidate_recall")
        self.candidate_recall = float(recall) if recall is not None else None
        self.source_recall = {k: float(v) for k, v in state.get("source_recall", {}).items()}
