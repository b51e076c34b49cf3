"""Versioned model artifacts in one folder, with an atomically swapped ``current`` pointer.

Layout::

    models/
      20261122-161500-ease/      one artifact directory per training run
      20261122-170210-sasrec/
      CURRENT                    text file naming the live version (replaced atomically)

A server watches ``CURRENT`` (or is told to reload) and swaps models without a failed request.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from shoprec.errors import ArtifactError

from .base import CONFIG_FILE

POINTER = "CURRENT"
_VERSION = re.compile(r"^\d{8}-\d{6}(-\d+)?-[A-Za-z0-9_.-]+$")


class ModelVersions:
    """The versioned artifact folder of one shoprec home.

    Args:
        root: Folder holding the versions (created on first use).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def new_version(self, key: str, now: float | None = None) -> Path:
        """A fresh, not-yet-existing directory name for a model of ``key`` trained now."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
        path = self.root / f"{stamp}-{key}"
        n = 1
        while path.exists():
            path = self.root / f"{stamp}-{n}-{key}"
            n += 1
        return path

    def versions(self) -> list[str]:
        """Complete versions (those with a ``config.json``), oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and _VERSION.match(p.name) and (p / CONFIG_FILE).is_file()
        )

    def publish(self, version_dir: Path) -> None:
        """Make ``version_dir`` the current model (atomic rename of the pointer file)."""
        if version_dir.parent.resolve() != self.root.resolve():
            raise ArtifactError(f"{version_dir} is not inside {self.root}")
        if not (version_dir / CONFIG_FILE).is_file():
            raise ArtifactError(f"{version_dir}: incomplete artifact (no {CONFIG_FILE})")
        tmp = self.root / f".{POINTER}.{os.getpid()}.tmp"
        tmp.write_text(version_dir.name + "\n", encoding="utf-8")
        os.replace(tmp, self.root / POINTER)

    def current(self) -> Path:
        """Directory of the live model.

        Raises:
            ArtifactError: No model has been published yet, or the pointer names a missing one.
        """
        pointer = self.root / POINTER
        if not pointer.is_file():
            raise ArtifactError(f"no trained model in {self.root}: run `shoprec train` first")
        path = self.root / pointer.read_text(encoding="utf-8").strip()
        if not (path / CONFIG_FILE).is_file():
            raise ArtifactError(f"{pointer} names {path.name}, which is not a complete model")
        return path
