"""Training curves as TensorBoard scalars: one ``on_epoch`` record in, one point per tag out.

``shoprec train --tensorboard DIR`` sets ``FitOptions.log_dir``; each fit writes one event file
there through ``torch.utils.tensorboard`` (the ``tensorboard`` package of the ``[torch]``
extra). ``tensorboard --logdir DIR`` shows them. The same records are kept in the artifact
(``SASRec.history``), which ``shoprec evaluate --html`` plots without TensorBoard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shoprec.errors import ConfigError

#: Record key -> TensorBoard tag. Keys not listed are written under ``train/<key>``.
TAGS = {
    "loss": "train/loss",
    "lr": "train/lr",
    "seconds": "train/epoch_seconds",
    "elapsed": "train/elapsed_seconds",
    "ndcg@10": "validation/ndcg@10",
    "hr@10": "validation/hr@10",
    "epsilon": "privacy/epsilon",
}

CurveFn = Callable[[dict[str, float]], None]


def _ignore(record: dict[str, float]) -> None:
    """Curve writer that writes nothing."""


@contextmanager
def curve_writer(log_dir: Path | None) -> Iterator[CurveFn]:
    """A function writing each epoch's record as scalars under ``log_dir`` (``None``: none).

    The step of every point is the record's ``epoch``; the file is flushed and closed when the
    block ends.

    Raises:
        ConfigError: When ``log_dir`` is set but TensorBoard is not installed.
    """
    if log_dir is None:
        yield _ignore
        return
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:  # torch without the tensorboard package
        raise ConfigError(
            "training curves (--tensorboard) need TensorBoard: pip install 'shoprec[torch]'"
        ) from exc
    writer = SummaryWriter(log_dir=str(log_dir))

    def write(record: dict[str, float]) -> None:
        step = int(record.get("epoch", 0))
        for key, value in record.items():
            if key != "epoch":
                writer.add_scalar(TAGS.get(key, f"train/{key}"), float(value), step)
        writer.flush()

    try:
        yield write
    finally:
        writer.close()
