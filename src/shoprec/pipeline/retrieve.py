"""The retrieve stage: a request's candidates as a slate, from the blend's sources or the ranker.

Two ways in, one slate out. Without a learned ranker every weighted source of the blend (model
scores, co-visitation, text, trending, a search text) proposes its top ``k`` and the slate is
their union, each source's own score in its column. A learned ranker retrieves its own
candidates (``candidates``: the union of its sources, with their scores) and the slate keeps
that candidate set for the featurize stage.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import numpy as np

from shoprec.data import IdVocab, UserSequences
from shoprec.retrieval import CandidateSource, Retrieved, TextSource
from shoprec.types import ItemId

from .capabilities import RankedModel, Rows
from .request import Context
from .slate import Slate

#: Source of a ranked candidate that none of the ranker's sources proposed (``only`` rows).
RANKED = "ranked"


def blend_weights(ctx: Context, weights: Mapping[str, float], can_search: bool) -> dict[str, float]:
    """The source weights of a request: the scenario's, and ``search`` when it searches."""
    out = dict(ctx.scenario.blend_weights or weights)
    if ctx.search and can_search:
        out = {**out, "search": out.get("search", 1.0)}
    return out


def retrieve(
    ctx: Context,
    sources: Mapping[str, CandidateSource],
    weights: Mapping[str, float],
    k: int,
    text: TextSource | None = None,
    extra: Mapping[str, Retrieved] | None = None,
) -> Slate:
    """The union of the top ``k`` of every source with a positive weight (the blend's input).

    Args:
        ctx: The request.
        sources: Sources by name.
        weights: Source weights (:func:`blend_weights`); sources listed with weight 0 are not
            asked.
        k: Candidates per source.
        text: The text source that answers a search text.
        extra: Candidates found elsewhere, by source name (the explore rail's best-sellers).

    Returns:
        The candidates in the blend's first-seen order (sources in ``weights`` order), each
        source's score in its column and anchors.
    """
    exclude = ctx.spec.exclude
    found: dict[str, Retrieved] = {
        name: sources[name].retrieve(ctx.query, k, exclude)
        for name, w in weights.items()
        if w > 0 and name in sources
    }
    if ctx.search and text is not None:
        found["search"] = text.search(ctx.search, k, exclude)
    found.update(extra or {})
    # Columns in weights order (sources not weighted last): the union is then listed in the
    # order the blend first sees each item, which breaks its ties.
    order = {name: p for p, name in enumerate(weights)}
    names = sorted(found, key=lambda name: order.get(name, len(order)))
    return union({name: found[name] for name in names})


def union(found: Mapping[str, Retrieved]) -> Slate:
    """One slate from several sources' candidates: first-seen order, a score column each."""
    position: dict[ItemId, int] = {}
    lead: list[str] = []
    for name, got in found.items():
        for item_id in got.candidates.item_ids:
            if item_id not in position:
                position[item_id] = len(position)
                lead.append(name)
    matrix = np.full((len(position), len(found)), np.nan, dtype=np.float32)
    for col, got in enumerate(found.values()):
        rows = [position[i] for i in got.candidates.item_ids]
        matrix[rows, col] = got.candidates.scores
    return Slate(
        tuple(position),
        np.zeros(len(position), dtype=np.float32),
        tuple(lead),
        tuple(found),
        matrix,
        {name: got.because for name, got in found.items() if got.because},
    )


def retrieve_ranked(
    ctx: Context,
    ranker: RankedModel,
    vocab: IdVocab,
    histories: UserSequences,
    only: Rows | None = None,
) -> Slate:
    """The ranker's candidates for the request, the request's exclusions left out.

    Args:
        ctx: The request.
        ranker: The learned ranker.
        vocab: Its item vocabulary (candidate rows index it).
        histories: The request's query encoded by the ranker (one row).
        only: Restrict the candidates to these rows (a search text's matches).

    Returns:
        A slate holding the ranker's candidate set (for featurize), each candidate's source
        the one that ranked it highest.
    """
    exclude = vocabulary_rows(vocab, ctx.spec.exclude)
    cands = ranker.candidates(histories, [exclude], None if only is None else [only])[0]
    ids = vocab.ids
    item_ids = tuple([ids[r] for r in cands.rows.tolist()])
    ranks = np.where(np.isnan(cands.ranks), np.inf, cands.ranks)
    best = ranks.argmin(axis=1) if ranks.shape[1] else np.zeros(len(item_ids), np.int64)
    names = cands.source_names
    if names:  # one array operation: a Python loop here cost ~0.15 ms a request
        found = np.isfinite(ranks[np.arange(len(best)), best])
        lead = tuple(np.where(found, np.asarray(names, dtype=object)[best], RANKED).tolist())
    else:
        lead = (RANKED,) * len(item_ids)
    return Slate(
        item_ids,
        np.zeros(len(item_ids), dtype=np.float32),
        lead,
        names,
        np.asarray(cands.scores, dtype=np.float32),
        candidates=cands,
    )


def vocabulary_rows(vocab: IdVocab, item_ids: Collection[ItemId]) -> Rows:
    """Vocabulary rows of ``item_ids`` (unknown ones dropped)."""
    rows = vocab.lookup(item_ids) if item_ids else np.zeros(0, dtype=np.int64)
    return rows[rows >= 0]


def restrict(slate: Slate, keep: Callable[[int], bool]) -> Slate:
    """The rows ``keep`` accepts (by position), in order."""
    return slate.take([row for row in range(len(slate)) if keep(row)])
