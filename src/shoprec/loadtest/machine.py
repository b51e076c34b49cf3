"""What a benchmark ran on: the processor's name and the visible CPUs.

Figures move with the hardware (sessions have run on AMD EPYC and Intel Xeon machines of the
same nominal size), so every result names the processor, not just the architecture.
"""

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


def machine() -> str:
    """``<processor>, N CPUs``."""
    return f"{cpu_name()}, {os.cpu_count()} CPUs"
