"""Search over compressed item codes: int8 and 4-bit PQ scans, exact re-scoring of a short list."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("faiss")

import torch  # noqa: E402

from shoprec.errors import ArtifactError  # noqa: E402
from shoprec.features.quantized_index import Int8Catalogue, PQCatalogue  # noqa: E402


def _clustered_catalogue() -> tuple[torch.Tensor, torch.Tensor]:
    """2,000 item vectors around 50 centres, and 8 states near the first 8 centres."""
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(50, 32, generator=gen)
    table = centres.repeat_interleave(40, dim=0) + 0.3 * torch.randn(2000, 32, generator=gen)
    return table, centres[:8] + 0.1 * torch.randn(8, 32, generator=gen)


def test_int8_catalogue_keeps_the_exact_top_10_on_clustered_vectors() -> None:
    table, h = _clustered_catalogue()
    catalogue = Int8Catalogue(table)
    idx, scores = catalogue.top_k(h, k=10, shortlist=50)
    exact = (h @ table.T).topk(10, dim=1)
    assert torch.equal(idx, exact.indices)
    torch.testing.assert_close(scores, exact.values)
    approx = catalogue.approximate(h)
    assert (approx - h @ table.T).abs().max() < 0.05 * (h @ table.T).abs().max()
    # Per-item scales (an older artifact format) cannot feed the int8 scan: a clear error.
    with pytest.raises(ArtifactError, match="one scale expected"):
        Int8Catalogue(table, catalogue.codes, torch.ones(len(table)))


def test_pq_catalogue_keeps_the_exact_top_10_on_clustered_vectors_and_round_trips() -> None:
    table, h = _clustered_catalogue()
    catalogue = PQCatalogue(table)
    assert catalogue.serialize().nbytes < table.numel()  # 4 bits a pair of dims + codebooks
    exact = (h @ table.T).topk(10, dim=1)
    idx, scores = catalogue.top_k(h, k=10, shortlist=200)
    assert torch.equal(idx, exact.indices)
    torch.testing.assert_close(scores, exact.values)
    # A 10-item short list of 4-bit codes alone misses part of the exact top 10.
    coarse, _ = catalogue.top_k(h, k=10, shortlist=10)
    assert not torch.equal(coarse.sort(1).values, exact.indices.sort(1).values)
    full = catalogue.scores(h, shortlist=200)
    assert torch.equal(full.topk(10, dim=1).indices, exact.indices)
    loaded = PQCatalogue(table, catalogue.serialize())
    torch.testing.assert_close(loaded.approximate(h), catalogue.approximate(h))
