"""Embedding cache: hits skip the encoder, changed texts and other encoders miss."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from shoprec.errors import DataError
from shoprec.features import (
    EmbeddingCache,
    HashingTextEncoder,
    ProgressFn,
    Vectors,
    encode_texts,
    text_key,
)


class CountingEncoder(HashingTextEncoder):
    """A hashing encoder that records which texts it was asked to encode."""

    def __init__(self, dim: int = 16) -> None:
        super().__init__(dim)
        self.seen: list[str] = []

    def encode(
        self, texts: Sequence[str], batch_size: int = 128, progress: ProgressFn | None = None
    ) -> Vectors:
        self.seen.extend(texts)
        return super().encode(texts, batch_size, progress)


def test_unchanged_catalogue_is_not_re_encoded(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    enc = CountingEncoder()
    texts = ["lipstick red", "mascara black", "lipstick red"]
    first = encode_texts(enc, texts, cache)
    assert enc.seen == ["lipstick red", "mascara black"]  # duplicates encoded once
    enc.seen.clear()
    second = encode_texts(enc, texts, EmbeddingCache(tmp_path))  # a new process, same folder
    assert enc.seen == []
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, HashingTextEncoder(16).encode(texts))


def test_only_new_or_changed_texts_are_encoded(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    enc = CountingEncoder()
    encode_texts(enc, ["a b", "c d"], cache)
    enc.seen.clear()
    out = encode_texts(enc, ["a b", "c d e", "f"], cache)
    assert enc.seen == ["c d e", "f"]
    np.testing.assert_array_equal(out, HashingTextEncoder(16).encode(["a b", "c d e", "f"]))
    assert len(list(tmp_path.rglob("*.safetensors"))) == 2


def test_encoder_name_is_part_of_the_key(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    encode_texts(CountingEncoder(16), ["shampoo"], cache)
    other = CountingEncoder(8)  # another name: "hashing-8"
    out = encode_texts(other, ["shampoo"], cache)
    assert other.seen == ["shampoo"] and out.shape == (1, 8)
    assert text_key("hashing-16", "shampoo") != text_key("hashing-8", "shampoo")


def test_without_cache_and_with_no_texts() -> None:
    enc = CountingEncoder()
    assert encode_texts(enc, [], None).shape == (0, 16)
    np.testing.assert_array_equal(encode_texts(enc, ["x"]), HashingTextEncoder(16).encode(["x"]))


def test_corrupt_shard_names_the_file(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    encode_texts(CountingEncoder(), ["x"], cache)
    shard = next(tmp_path.rglob("*.safetensors"))
    shard.write_bytes(b"not a safetensors file")
    with pytest.raises(DataError, match=shard.name):
        encode_texts(CountingEncoder(), ["x"], cache)
