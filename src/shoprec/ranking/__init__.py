"""Ranking: turning the candidates of several sources into one scored list.

Owns the :class:`Ranker` protocol and score blending. May import ``models`` and the layers
below; must not import ``retrieval``, ``rules``, ``pipeline`` or anything above.
"""

from .blend import Blended, Ranker, WeightedBlend, normalised

__all__ = ["Blended", "Ranker", "WeightedBlend", "normalised"]
