"""The machine line every benchmark prints first: processor, visible CPUs, Python version."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name() -> str:
    """The processor's name (``platform.processor()`` is empty on Linux: read ``/proc``)."""
    if name := platform.processor():
        return name
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.machine()


def describe(extra: str = "") -> str:
    """``machine: <cpu>, N CPUs visible, python X.Y.Z`` and ``extra`` after a ``; ``."""
    line = (
        f"machine: {cpu_name()}, {os.cpu_count()} CPUs visible, python {platform.python_version()}"
    )
    return f"{line}; {extra}" if extra else line
