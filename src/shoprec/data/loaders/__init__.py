"""Dataset loaders: public datasets in their native layouts, and shoprec's own folder format.

:func:`load_dataset` turns a folder or file into :class:`~shoprec.data.Interactions` with
canonical frames (``EVENT_SCHEMA`` / ``ITEM_SCHEMA``); :func:`detect_format` says which loader
a path needs. Loaders read local files only and never download anything.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from shoprec.data.interactions import Interactions
from shoprec.errors import DataError, UnknownFormatError

from . import amazon, movielens, retailrocket, shoprec_format, taobao, uci_retail
from .canonical import canonical_frame, convert, json_text, pack_extra_columns, to_epoch_seconds
from .shoprec_format import find_table

# Detection order: the native layouts are recognised by file names and headers first; a
# shoprec folder (canonical column names) is the fallback.
_LOADERS: dict[str, ModuleType] = {
    m.NAME: m for m in (movielens, retailrocket, taobao, uci_retail, amazon, shoprec_format)
}

#: Dataset formats :func:`load_dataset` reads, with what each expects.
DATASET_FORMATS: dict[str, str] = {
    "shoprec": "folder with events.csv[.gz] (+ items.csv[.gz]); Parquet/JSON Lines also read",
    "amazon": "Amazon reviews 2014/2018/2023: reviews JSON lines + meta_*.json[l][.gz]",
    "movielens": "MovieLens 100K (u.data, u.item), 1M/10M (*.dat), 20M+ (ratings.csv)",
    "retailrocket": "RetailRocket events.csv + item_properties_part*.csv + category_tree.csv",
    "taobao": "Taobao UserBehavior.csv (user,item,category,behavior,timestamp)",
    "uci": "UCI Online Retail (.xlsx or .csv)",
}


def detect_format(path: Path) -> str:
    """The dataset format of a folder or file (a key of :data:`DATASET_FORMATS`).

    Raises:
        DataError: ``path`` does not exist.
        UnknownFormatError: No loader recognises it.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    for name, loader in _LOADERS.items():
        if loader.detect(path):
            return name
    raise UnknownFormatError(
        f"{path}: not a dataset format shoprec recognises; pass one of "
        f"{', '.join(DATASET_FORMATS)} explicitly"
    )


def load_dataset(path: Path, fmt: str = "auto") -> Interactions:
    """Load a dataset folder or file into canonical interactions.

    Args:
        path: A dataset folder, or its main file (ratings, reviews, events).
        fmt: ``"auto"`` (see :func:`detect_format`) or a key of :data:`DATASET_FORMATS`.

    Returns:
        The events and catalogue.

    Raises:
        UnknownFormatError: ``fmt`` is unknown, or ``"auto"`` cannot tell.
        DataError: A file is missing, unreadable or holds a value that cannot be converted
            (the message names the file, line and field).
    """
    path = Path(path)
    name = detect_format(path) if fmt == "auto" else fmt
    if name not in _LOADERS:
        raise UnknownFormatError(
            f"unknown dataset format {fmt!r}; use auto or one of {', '.join(DATASET_FORMATS)}"
        )
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    loader: ModuleType = _LOADERS[name]
    data: Interactions = loader.load(path)
    return data


__all__ = [
    "DATASET_FORMATS",
    "canonical_frame",
    "convert",
    "detect_format",
    "find_table",
    "json_text",
    "load_dataset",
    "pack_extra_columns",
    "to_epoch_seconds",
]
