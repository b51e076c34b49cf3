"""Jobs: the end-to-end tasks the CLI and the service run (train and publish a model, the demo).

Owns orchestration only: reading the embedded store, splitting, fitting, measuring, writing a
versioned artifact. The steps themselves live in the layers below (``data``, ``events``,
``models``, ``evaluation``); ``cli`` and ``serving`` call these functions and add no logic.
"""

from .retraining import RetrainPolicy, new_events, retrain_loop, retrain_once
from .training import METRICS_FILE, TrainResult, load_store_data, train_and_publish

__all__ = [
    "METRICS_FILE",
    "RetrainPolicy",
    "TrainResult",
    "load_store_data",
    "new_events",
    "retrain_loop",
    "retrain_once",
    "train_and_publish",
]
