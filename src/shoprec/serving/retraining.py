"""Retraining on demand: ``shoprec retrain --once`` in a child process, one at a time.

Training runs outside the serving process so requests keep their CPU share and latency; the
model watcher (:class:`~shoprec.serving.engine.ModelEngine`) swaps the new version in once the
child publishes it.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading

from shoprec.settings import Settings

from .errors import BusyError

log = logging.getLogger("shoprec.serving")

#: Settings handed to a retraining child process (written into the home).
RETRAIN_SETTINGS = "retrain-settings.json"


class Retraining:
    """Starts retraining runs on one home and knows whether one is still going.

    Args:
        settings: Effective settings; the child gets them all but ``[serving]``.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def running(self) -> int | None:
        """The pid of the run started here if it is still going, else ``None``."""
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def start(self) -> int:
        """Start ``shoprec retrain --once`` on the home in a child process; its pid.

        Raises:
            BusyError: A retraining run started here is still going.
        """
        with self._lock:
            pid = self.running()
            if pid is not None:
                raise BusyError(f"a retraining run is in progress (pid {pid})")
            config = self._settings.home / RETRAIN_SETTINGS
            values = self._settings.model_dump(mode="json", exclude={"serving"})
            values["home"] = str(self._settings.home.resolve())
            config.write_text(json.dumps(values, indent=2), encoding="utf-8")
            command = [sys.executable, "-m", "shoprec", "retrain", "--once"]
            command += ["--min-new-events", "0", "--config", str(config)]
            self._child = subprocess.Popen(command)
            log.info("retraining started (pid %d)", self._child.pid)
            return self._child.pid
