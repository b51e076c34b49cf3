"""Text encoders: hashing encoder oracles, the pretrained encoder (slow) and the missing extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from shoprec.errors import ConfigError, MissingDependencyError
from shoprec.features import (
    MINILM,
    HashingTextEncoder,
    SentenceTransformerEncoder,
    TextEncoder,
    make_text_encoder,
)


def test_hashing_encoder_is_deterministic_unit_norm_and_zero_for_empty_text() -> None:
    enc = HashingTextEncoder(32)
    texts = ["Red leather handbag", "", "blue denim jacket"]
    a = enc.encode(texts)
    b = HashingTextEncoder(32).encode(texts)
    assert a.shape == (3, 32) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a[[0, 2]], axis=1), 1.0, rtol=1e-6)
    assert not a[1].any()


def test_hashing_encoder_puts_shared_words_close_and_unrelated_texts_apart() -> None:
    enc = HashingTextEncoder(256)
    v = enc.encode(
        ["red leather handbag", "Red Leather Handbag!", "red leather bag", "garden hose"]
    )
    assert v[0] @ v[1] == pytest.approx(1.0, abs=1e-6)  # case and punctuation do not matter
    assert v[0] @ v[2] > 0.5
    assert abs(v[0] @ v[3]) < v[0] @ v[2]


def test_hashing_encoder_reports_progress_per_batch() -> None:
    calls: list[tuple[int, int]] = []
    HashingTextEncoder(8).encode(
        [f"item {i}" for i in range(5)], batch_size=2, progress=lambda d, n: calls.append((d, n))
    )
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_make_text_encoder_parses_specs() -> None:
    enc = make_text_encoder("hashing-16")
    assert isinstance(enc, HashingTextEncoder) and enc.dim == 16 and enc.name == "hashing-16"
    assert make_text_encoder("hashing").dim == 64
    assert isinstance(enc, TextEncoder)
    with pytest.raises(ConfigError, match="hashing-<dim>"):
        make_text_encoder("hashing-x")
    with pytest.raises(ConfigError, match="not a model directory"):
        make_text_encoder("/no/such/model")


def test_missing_sentence_transformers_names_the_torch_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import now fails
    enc = SentenceTransformerEncoder(MINILM)
    with pytest.raises(MissingDependencyError, match=r"shoprec\[torch\]") as info:
        enc.encode(["anything"])
    assert info.value.extra == "torch"


@pytest.mark.slow
def test_bundled_minilm_encodes_offline_with_meaningful_similarity() -> None:
    enc = SentenceTransformerEncoder(MINILM, device="cpu")
    v = enc.encode(
        ["moisturizing face cream", "hydrating facial moisturizer", "car engine oil", ""]
    )
    assert v.shape == (4, 384) and enc.dim == 384
    np.testing.assert_allclose(np.linalg.norm(v[:3], axis=1), 1.0, rtol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
    assert not v[3].any()
