"""The machine line every benchmark prints first: processor, visible CPUs, Python version."""

from __future__ import annotations

import os
import platform

from shoprec.loadtest.machine import cpu_name


def describe(extra: str = "") -> str:
    """``machine: <cpu>, N CPUs visible, python X.Y.Z`` and ``extra`` after a ``; ``."""
    line = (
        f"machine: {cpu_name()}, {os.cpu_count()} CPUs visible, python {platform.python_version()}"
    )
    return f"{line}; {extra}" if extra else line
