"""The Recommender contract: what every model guarantees, whatever it computes.

Use it by subclassing :class:`RecommenderContract` in a test module and providing a
``make_model`` fixture (a callable returning a fresh, unfitted model); ``test_models.py`` does
that for every registered key. Each check is a plain method, so a meta-test can also call one
directly on a deliberately broken model and expect it to fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import safetensors.numpy
from pydantic import ValidationError as PydanticValidationError

from shoprec.data import Interactions, UserSequences
from shoprec.errors import DataError, NotFittedError
from shoprec.models import BaseRecommender, FitOptions, load_model, model_class
from shoprec.models.base import CONFIG_FILE, ITEMS_FILE, SCHEMA_VERSION, WEIGHTS_FILE
from shoprec.types import Candidates, HistoryEvent, Query

MakeModel = Callable[[], BaseRecommender]

#: Seed and device of every contract fit (CPU so that results do not depend on the machine).
FIT = FitOptions(seed=0, device="cpu")


def planted_log(n_users: int = 40) -> Interactions:
    """Two shops in one: ``face`` shoppers browse f0..f4, ``hair`` shoppers h0..h4, in order.

    Every user views three consecutive items of their cluster's cycle and then adds to cart or
    buys the next one, a day apart. The catalogue also lists ``cold`` (never interacted with)
    and ``plain`` (no category). Titles are distinct so text encoders can tell items apart.
    """
    rows = []
    for u in range(n_users):
        cluster = "f" if u % 2 == 0 else "h"
        start = (u // 2) % 5
        for step in range(4):
            item = f"{cluster}{(start + step) % 5}"
            kind = "view" if step < 3 else ("purchase" if u % 4 < 2 else "addtocart")
            rows.append((f"u{u}", item, kind, 86_400.0 * (u + step)))
    events = pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )
    ids = [f"f{i}" for i in range(5)] + [f"h{i}" for i in range(5)] + ["cold", "plain"]
    categories = ["face"] * 5 + ["hair"] * 5 + ["face", None]
    titles = [
        f"{c or 'misc'} product number {i} {name}"
        for i, (c, name) in enumerate(zip(categories, ids, strict=True))
    ]
    items = pl.DataFrame(
        {"item_id": ids, "title": titles, "category": categories},
        schema={"item_id": pl.String, "title": pl.String, "category": pl.String},
    )
    return Interactions(events, items)


def _scores(model: BaseRecommender, data: Interactions) -> np.ndarray:
    return model.score_batch(data.sequences)


class RecommenderContract:
    """Checks every Recommender passes; subclasses provide the ``make_model`` fixture."""

    @pytest.fixture(scope="class")
    @classmethod
    def data(cls) -> Interactions:
        return planted_log()

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, make_model: MakeModel, data: Interactions) -> BaseRecommender:
        model = make_model()
        model.fit(data, FIT)
        return model

    # -- fitting and scoring ---------------------------------------------------------------
    def test_unfitted_model_refuses_to_score(self, make_model: MakeModel) -> None:
        model = make_model()
        assert not model.is_fitted()
        with pytest.raises(NotFittedError):
            model.score(Query.from_items(["f0"]))

    def test_fit_adopts_the_data_vocabulary(
        self, fitted: BaseRecommender, data: Interactions
    ) -> None:
        assert fitted.is_fitted()
        assert fitted.item_vocab.ids == data.item_vocab.ids

    def test_score_batch_is_float32_catalogue_wide_and_never_infinite(
        self, fitted: BaseRecommender, data: Interactions
    ) -> None:
        scores = _scores(fitted, data)
        assert scores.shape == (len(data.sequences), data.n_items)
        assert scores.dtype == np.float32
        assert not np.isinf(scores).any()
        # A fitted model scores something for a real shopper.
        assert np.isfinite(scores).any(axis=1).all()

    def test_history_index_outside_the_vocabulary_is_a_data_error(
        self, fitted: BaseRecommender, data: Interactions
    ) -> None:
        bad = UserSequences.from_lists([[0, data.n_items]])
        with pytest.raises(DataError, match=re.escape(f"[0, {data.n_items})")):
            fitted.score_batch(bad)

    def test_same_seed_gives_identical_scores(
        self, make_model: MakeModel, fitted: BaseRecommender, data: Interactions
    ) -> None:
        again = make_model()
        again.fit(data, FIT)
        np.testing.assert_array_equal(_scores(again, data), _scores(fitted, data))

    # -- queries ---------------------------------------------------------------------------
    def test_unknown_user_and_unknown_items_are_ignored(self, fitted: BaseRecommender) -> None:
        known = fitted.score(Query.from_items(["f1", "f2"]))
        query = Query(
            user_id="never-seen",
            history=(HistoryEvent("no-such-item"), HistoryEvent("f1"), HistoryEvent("f2")),
        )
        np.testing.assert_array_equal(fitted.score(query).scores, known.scores)

    def test_empty_history_scores_finite_or_nan_and_recommend_works(
        self, fitted: BaseRecommender
    ) -> None:
        n = len(fitted.item_vocab)
        for query in (Query(), Query.from_items(["no-such-item"]), Query(user_id="u0")):
            scores = fitted.score(query).scores
            assert scores.shape == (n,)
            assert not np.isinf(scores).any()
            top = fitted.recommend(query, k=5)
            assert len(top) <= 5
            assert set(top.item_ids) <= set(fitted.item_vocab.ids)
            assert np.isfinite(top.scores).all()

    def test_recommend_never_returns_history_items(
        self, fitted: BaseRecommender, data: Interactions
    ) -> None:
        seqs = data.sequences
        ids = fitted.item_vocab.ids
        n = len(ids)
        for u in range(len(seqs)):
            history = [ids[i] for i in seqs.items_of(u)]
            top = fitted.recommend(Query.from_items(history), k=n)
            assert not set(top.item_ids) & set(history), f"user {u}"
            assert (np.diff(top.scores) <= 0).all(), "not best first"

    def test_scoring_given_candidates_matches_the_catalogue_scores(
        self, fitted: BaseRecommender
    ) -> None:
        query = Query.from_items(["h1"])
        scored = fitted.score(query)
        full = dict(zip(scored.item_ids, scored.scores, strict=True))
        wanted = ("not-an-item", "h2", "f0")
        picked = fitted.score(query, Candidates(wanted, np.zeros(3, dtype=np.float32)))
        assert np.isnan(picked.scores[0])
        np.testing.assert_array_equal(picked.scores[1:], [full["h2"], full["f0"]])

    def test_similar_items_exclude_the_item_itself(self, fitted: BaseRecommender) -> None:
        ids = fitted.item_vocab.ids
        for item in ids:
            assert item not in fitted.similar_items(item, k=len(ids)).item_ids
        assert len(fitted.similar_items("no-such-item")) <= 10

    # -- configuration and artifacts -------------------------------------------------------
    def test_config_round_trips_and_rejects_unknown_keys(self, fitted: BaseRecommender) -> None:
        cls = type(fitted.config)
        dumped = fitted.config.model_dump(mode="json")
        assert cls.model_validate(json.loads(json.dumps(dumped))) == fitted.config
        with pytest.raises(PydanticValidationError, match="no_such_setting"):
            cls.model_validate({**dumped, "no_such_setting": 1})

    def test_save_load_round_trip(
        self, fitted: BaseRecommender, data: Interactions, tmp_path: Path
    ) -> None:
        path = tmp_path / "artifact"
        fitted.save(path)
        meta = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        assert meta["model"] == fitted.key
        assert meta["schema_version"] == SCHEMA_VERSION
        # JSON, safetensors and plain text only: nothing that unpickles on load. A model made
        # of parts (the ranked recommender) keeps each part as such an artifact of its own.
        assert {CONFIG_FILE, WEIGHTS_FILE, ITEMS_FILE} <= {p.name for p in path.iterdir()}
        files = {p.suffix for p in path.rglob("*") if p.is_file()}
        assert files <= {".json", ".safetensors", ".txt"}, files
        json.loads((path / ITEMS_FILE).read_text(encoding="utf-8"))
        safetensors.numpy.load_file(path / WEIGHTS_FILE)
        loaded = type(fitted).load(path)
        assert loaded.config == fitted.config
        assert loaded.item_vocab.ids == fitted.item_vocab.ids
        np.testing.assert_array_equal(_scores(loaded, data), _scores(fitted, data))
        query = Query.from_items(["f3", "no-such-item"])
        before, after = fitted.recommend(query, k=4), loaded.recommend(query, k=4)
        assert after.item_ids == before.item_ids
        np.testing.assert_array_equal(after.scores, before.scores)
        assert isinstance(load_model(path), model_class(fitted.key))
