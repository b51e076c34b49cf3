"""An on-disk cache of text embeddings keyed by a content hash of (encoder name, text).

Encoding a catalogue with a language model takes a minute on a laptop CPU; retraining on an
unchanged (or slightly grown) catalogue should not pay it again. Each key is the BLAKE2b hash
of the encoder's name and the text, so a changed text or another encoder is a miss and nothing
stale is ever returned.

Layout: one folder per encoder (named by a hash of its name) holding append-only shards
``<n>.safetensors`` with ``keys`` ``(n, 16)`` uint8 and ``vectors`` ``(n, dim)`` float32. A shard
is written to a temporary name and renamed, so readers never see half a shard.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from shoprec.errors import DataError

from .text import ProgressFn, TextEncoder, Vectors

_KEY_BYTES = 16


def text_key(encoder_name: str, text: str) -> bytes:
    """The cache key of ``text`` under the encoder named ``encoder_name``."""
    h = hashlib.blake2b(digest_size=_KEY_BYTES)
    h.update(encoder_name.encode("utf-8"))
    h.update(b"\x00")
    h.update(text.encode("utf-8"))
    return h.digest()


class EmbeddingCache:
    """Text embeddings on disk, grouped by encoder.

    Args:
        directory: Root folder (created on first write).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _folder(self, encoder_name: str) -> Path:
        return (
            self.directory
            / hashlib.blake2b(encoder_name.encode("utf-8"), digest_size=8).hexdigest()
        )

    def get(self, encoder_name: str, keys: Sequence[bytes]) -> dict[bytes, Vectors]:
        """The cached vectors among ``keys`` (missing keys are simply absent).

        Raises:
            DataError: When a shard is unreadable (names the file; delete it to re-encode).
        """
        wanted = set(keys)
        found: dict[bytes, Vectors] = {}
        folder = self._folder(encoder_name)
        if not folder.is_dir():
            return found
        for shard in sorted(folder.glob("*.safetensors")):
            try:
                arrays = load_file(str(shard))
            except (SafetensorError, OSError) as exc:
                raise DataError(f"{shard}: unreadable embedding cache shard ({exc})") from exc
            for row, key in enumerate(arrays["keys"]):
                k = key.tobytes()
                if k in wanted:
                    found[k] = arrays["vectors"][row]
        return found

    def put(self, encoder_name: str, keys: Sequence[bytes], vectors: Vectors) -> None:
        """Store ``vectors`` (one row per key) as a new shard."""
        if not keys:
            return
        folder = self._folder(encoder_name)
        folder.mkdir(parents=True, exist_ok=True)
        n = len(list(folder.glob("*.safetensors")))
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), _KEY_BYTES)
        tmp = folder / f".{n}.{os.getpid()}.tmp"
        save_file(
            {"keys": key_array.copy(), "vectors": np.ascontiguousarray(vectors, dtype=np.float32)},
            str(tmp),
        )
        target = folder / f"{n}.safetensors"
        while target.exists():  # another process wrote shard n meanwhile
            n += 1
            target = folder / f"{n}.safetensors"
        os.replace(tmp, target)


def encode_texts(
    encoder: TextEncoder,
    texts: Sequence[str],
    cache: EmbeddingCache | None = None,
    batch_size: int = 128,
    progress: ProgressFn | None = None,
) -> Vectors:
    """Encode ``texts`` with ``encoder``, reading and filling ``cache`` when given.

    Only distinct texts missing from the cache are encoded; an unchanged catalogue encodes
    nothing.

    Args:
        encoder: The text encoder.
        texts: One text per row of the result.
        cache: Optional on-disk cache.
        batch_size: Encoder batch size.
        progress: ``progress(done, total)`` over the texts actually encoded.

    Returns:
        ``(len(texts), encoder.dim)`` float32 vectors.
    """
    name = encoder.name
    keys = [text_key(name, t) for t in texts]
    known = cache.get(name, keys) if cache is not None else {}
    missing: dict[bytes, str] = {}
    for k, t in zip(keys, texts, strict=True):
        if k not in known and k not in missing:
            missing[k] = t
    if missing:
        fresh = encoder.encode(list(missing.values()), batch_size=batch_size, progress=progress)
        new_keys = list(missing)
        if cache is not None:
            cache.put(name, new_keys, fresh)
        known.update(zip(new_keys, fresh, strict=True))
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return np.stack([known[k] for k in keys]).astype(np.float32)
