"""Features: the TextEncoder protocol, text encoders and the on-disk text-embedding cache.

Owns turning item content into vectors that models consume, and searching compressed item
vectors (:mod:`~shoprec.features.quantized_index`). May import ``types``, ``errors`` and
``data``; must not import ``models`` or anything above. Torch and sentence-transformers are
imported only when a pretrained encoder is first used, never by ``import shoprec.features``
(``quantized_index`` imports torch and faiss: it is imported by path, not re-exported here).
"""

from .cache import EmbeddingCache, encode_texts, text_key
from .text import (
    MINILM,
    HashingTextEncoder,
    ProgressFn,
    SentenceTransformerEncoder,
    TextEncoder,
    Vectors,
    make_text_encoder,
)

__all__ = [
    "MINILM",
    "EmbeddingCache",
    "HashingTextEncoder",
    "ProgressFn",
    "SentenceTransformerEncoder",
    "TextEncoder",
    "Vectors",
    "encode_texts",
    "make_text_encoder",
    "text_key",
]
