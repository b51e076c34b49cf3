"""Whether the shared backends answer, checked in the background so requests never wait for it.

A replica whose Redis or PostgreSQL is gone keeps answering recommendations from what it has,
reports not-ready on ``/health/ready`` (so a load balancer sends traffic elsewhere) and refuses
writes with 503 and the reason, instead of acknowledging events it cannot apply. Each check is
a cheap call (a ``PING``, a one-row query) with the backend's own short timeout; the latest
outcome is what requests read, and a backend that answers again is healthy at the next check.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from shoprec.errors import BackendUnavailableError, ShoprecError

log = logging.getLogger("shoprec.serving")


class BackendMonitor:
    """Runs each backend's check every ``interval_s`` in a daemon thread.

    Args:
        checks: A check per backend name; each raises :class:`ShoprecError` when it fails.
        interval_s: Seconds between rounds of checks.
    """

    def __init__(self, checks: Mapping[str, Callable[[], object]], interval_s: float) -> None:
        self._checks = dict(checks)
        self._interval = interval_s
        self._problems: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.check_all()

    def check_all(self) -> None:
        """Run every check once now and record the outcome."""
        problems = {}
        for name, check in self._checks.items():
            try:
                check()
            except ShoprecError as error:
                problems[name] = str(error)
        for name in problems.keys() - self._problems.keys():
            log.warning("backend %s lost: %s", name, problems[name])
        for name in self._problems.keys() - problems.keys():
            log.warning("backend %s is back", name)
        self._problems = problems  # one reference: readers see a whole round

    def start(self) -> None:
        """Start checking in the background."""
        if self._thread is None and self._checks:

            def run() -> None:
                while not self._stop.wait(self._interval):
                    self.check_all()

            self._thread = threading.Thread(target=run, name="shoprec-monitor", daemon=True)
            self._thread.start()

    def problems(self) -> dict[str, str]:
        """The reason of each backend that failed its latest check (empty: all healthy)."""
        return dict(self._problems)

    def require_healthy(self) -> None:
        """Raise unless every backend passed its latest check.

        Raises:
            BackendUnavailableError: Names the backends that are gone, and why.
        """
        problems = self._problems
        if problems:
            reasons = "; ".join(f"{name}: {why}" for name, why in sorted(problems.items()))
            raise BackendUnavailableError(f"not accepting writes now ({reasons})")

    def close(self) -> None:
        """Stop checking."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
