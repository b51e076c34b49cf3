"""RecTools' SASRecModel on Amazon Beauty, on exactly the leave-one-out split shoprec uses.

A benchmark-only peer: it runs in ``benchmarks/peers/.venv`` (see README.md there) and imports
nothing from shoprec, so RecTools never becomes a shoprec dependency. Protocol
(../shared/BENCHMARK_PROTOCOL.md): per user, events ordered by timestamp with ties in file order;
test target = last event, validation target = second-to-last, training = the rest; users with
fewer than three events are train-only. Full-catalogue ranking with each user's input history
excluded (``filter_viewed=True``); HR, NDCG and MRR at 10 and 20 averaged over all evaluated users
(a user the model cannot score, or a target it does not know, counts as a miss).

Procedure per seed: (1) fit on the training part, scoring validation NDCG@10 after every epoch
through RecTools' own ``recommend()``, early stopping on it; (2) refit on training + validation
events for the best epoch count with the same seed and score the test targets. The best epoch's
weights also score the test targets (``test_best_epoch_weights``; the headline with ``--no-refit``).

Usage::

    benchmarks/peers/.venv/bin/python benchmarks/peers/rectools_sasrec.py --seeds 0 1 2
    benchmarks/peers/.venv/bin/python benchmarks/peers/rectools_sasrec.py --max-epochs 1 --seeds 0
    benchmarks/peers/.venv/bin/python benchmarks/peers/rectools_sasrec.py --seeds 0 --no-refit
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import statistics
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import torch
from pytorch_lightning import Callback, LightningModule, Trainer, seed_everything
from rectools import Columns
from rectools.dataset import Dataset
from rectools.models import SASRecModel
from rectools.models.nn.item_net import IdEmbeddingsItemNet

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "amazon_beauty" / "events.csv.gz"
KS = (10, 20)


@dataclass(frozen=True)
class LooSplit:
    """Leave-one-out split as RecTools frames (user_id, item_id, weight, datetime).

    Attributes:
        train: Training events (fit for epoch selection).
        validation: Validation targets (user_id, item_id), one per evaluated user.
        test_train: Training plus validation events (the refit data and the test histories).
        test: Test targets (user_id, item_id), one per evaluated user.
        n_items: Distinct items in the file (the catalogue for coverage).
    """

    train: pd.DataFrame
    validation: pd.DataFrame
    test_train: pd.DataFrame
    test: pd.DataFrame
    n_items: int


def leave_one_out(path: Path) -> LooSplit:
    """Split the events file exactly as ``shoprec.data.leave_one_out`` does."""
    events = pl.read_csv(
        path,
        columns=["user_id", "item_id", "timestamp"],
        schema_overrides={"user_id": pl.String, "item_id": pl.String},
    )
    ranked = (
        events.with_row_index("row")
        .with_columns(pl.col("timestamp").cast(pl.Float64).fill_null(0.0))
        .sort(["user_id", "timestamp", "row"])
        .with_columns(
            pl.int_range(pl.len()).over("user_id").alias("pos"),
            pl.len().over("user_id").alias("n"),
        )
        .with_columns((pl.col("n") - 1 - pl.col("pos")).alias("from_end"))
    )
    # SASRec reads the datetime only to order each user's events: the position in the user's
    # sequence makes that order exactly shoprec's (timestamp, then file row), ties included.
    selected = ranked.select(
        pl.col("user_id").alias(Columns.User),
        pl.col("item_id").alias(Columns.Item),
        pl.lit(1.0).alias(Columns.Weight),
        pl.from_epoch(pl.col("pos"), time_unit="s").alias(Columns.Datetime),
        "n",
        "from_end",
    )
    # Column by column: polars' to_pandas() would need pyarrow for this one conversion.
    frame = pd.DataFrame({name: selected[name].to_numpy() for name in selected.columns})
    evaluated = frame["n"] >= 3
    is_test = evaluated & (frame["from_end"] == 0)
    is_val = evaluated & (frame["from_end"] == 1)
    cols = Columns.Interactions
    return LooSplit(
        train=frame.loc[~is_test & ~is_val, cols].reset_index(drop=True),
        validation=frame.loc[is_val, [Columns.User, Columns.Item]].reset_index(drop=True),
        test_train=frame.loc[~is_test, cols].reset_index(drop=True),
        test=frame.loc[is_test, [Columns.User, Columns.Item]].reset_index(drop=True),
        n_items=events["item_id"].n_unique(),
    )


def rank_metrics(reco: pd.DataFrame, targets: pd.DataFrame, n_items: int) -> dict[str, float]:
    """HR, NDCG, MRR and coverage at each K from RecTools recommendations (1-based ``rank``)."""
    found = targets.merge(
        reco[[Columns.User, Columns.Item, Columns.Rank]],
        on=[Columns.User, Columns.Item],
        how="left",
    )
    rank = found[Columns.Rank].to_numpy(dtype=float)  # NaN: not in the top max(KS)
    out: dict[str, float] = {}
    for k in KS:
        hit = rank <= k
        out[f"HR@{k}"] = float(hit.mean())
        out[f"NDCG@{k}"] = float(np.where(hit, 1.0 / np.log2(rank + 1.0), 0.0).mean())
        out[f"MRR@{k}"] = float(np.where(hit, 1.0 / rank, 0.0).mean())
        out[f"coverage@{k}"] = reco.loc[reco[Columns.Rank] <= k, Columns.Item].nunique() / n_items
    return out


def recommend(model: SASRecModel, history: Dataset, targets: pd.DataFrame, k: int) -> pd.DataFrame:
    """Top-``k`` for the target users from their ``history``, seen items excluded."""
    with warnings.catch_warnings():
        # RecTools warns about users with no known item; they simply count as misses.
        warnings.simplefilter("ignore", UserWarning)
        return model.recommend(
            users=targets[Columns.User].to_numpy(),
            dataset=history,
            k=k,
            filter_viewed=True,
        )


class EpochValidation(Callback):
    """Validation NDCG@10 after each training epoch via ``recommend()``, with early stopping."""

    def __init__(
        self,
        history: Dataset,
        targets: pd.DataFrame,
        n_items: int,
        patience: int,
        progress: Path | None = None,
        test: tuple[Dataset, pd.DataFrame] | None = None,
    ) -> None:
        self.history = history
        self.targets = targets
        self.test = test
        self.n_items = n_items
        self.patience = patience
        self.progress = progress
        self.model: SASRecModel | None = None
        self.epochs: list[dict[str, float]] = []
        self.best_epoch = 0
        self.best_ndcg = -1.0
        self.best_state: dict[str, torch.Tensor] = {}
        self.started = time.perf_counter()
        self._epoch_start = 0.0
        self._epoch_cpu = 0.0

    def __deepcopy__(self, memo: dict[int, Any]) -> EpochValidation:
        # RecTools deep-copies its Trainer template when fitting; the copy must keep reporting
        # here and must not clone the model and datasets this callback points at.
        return self

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._epoch_start = time.perf_counter()
        self._epoch_cpu = time.process_time()

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        assert self.model is not None, "set EpochValidation.model before fitting"
        train_s = time.perf_counter() - self._epoch_start
        # CPU time exposes epochs stretched by other load: on 2 threads it is ~2x wall time.
        train_cpu_s = time.process_time() - self._epoch_cpu
        # recommend() refuses a model whose fit has not returned; its weights are usable now.
        self.model.is_fitted = True
        test: dict[str, float] = {}
        try:
            reco = recommend(self.model, self.history, self.targets, k=10)
            if self.test is not None:
                history, targets = self.test
                reco_test = recommend(self.model, history, targets, k=10)
                metrics = rank_metrics(reco_test, targets, self.n_items)
                test = {f"test_{k}": round(metrics[k], 5) for k in ("HR@10", "NDCG@10")}
        finally:
            self.model.is_fitted = False
            pl_module.train()
        ndcg = rank_metrics(reco, self.targets, self.n_items)["NDCG@10"]
        epoch = len(self.epochs) + 1
        now = time.perf_counter()
        self.epochs.append(
            {
                "epoch": epoch,
                "validation_NDCG@10": round(ndcg, 5),
                "train_seconds": round(train_s, 2),
                "train_cpu_seconds": round(train_cpu_s, 2),
                "validation_seconds": round(now - self._epoch_start - train_s, 2),
                "elapsed_seconds": round(now - self.started, 2),
                **test,
            }
        )
        logging.info("epoch %d  val NDCG@10 %.5f  train %.1f s", epoch, ndcg, train_s)
        if self.progress is not None:
            with self.progress.open("a") as out:
                out.write(json.dumps(self.epochs[-1]) + "\n")
        if ndcg > self.best_ndcg:
            self.best_ndcg, self.best_epoch = ndcg, epoch
            self.best_state = copy.deepcopy(pl_module.state_dict())
        elif epoch - self.best_epoch >= self.patience:
            trainer.should_stop = True


def make_model(args: argparse.Namespace, epochs: int, callbacks: list[Callback]) -> SASRecModel:
    """A SASRecModel with the benchmark's hyperparameters and a quiet deterministic CPU trainer."""

    def get_trainer() -> Trainer:
        return Trainer(
            max_epochs=epochs,
            deterministic=True,
            accelerator="cpu",
            devices=1,
            callbacks=callbacks,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            logger=False,
        )

    return SASRecModel(
        n_factors=args.n_factors,
        n_blocks=args.n_blocks,
        n_heads=args.n_heads,
        dropout_rate=args.dropout,
        session_max_len=args.session_max_len,
        batch_size=args.batch_size,
        lr=args.lr,
        loss="softmax",
        item_net_block_types=(IdEmbeddingsItemNet,),  # ids only: no item features here
        deterministic=True,
        recommend_torch_device="cpu",
        get_trainer_func=get_trainer,
    )


def params_of(args: argparse.Namespace) -> dict[str, Any]:
    """The hyperparameters recorded with each result row."""
    keys = ["n_factors", "n_blocks", "n_heads", "dropout", "session_max_len", "batch_size", "lr"]
    return {"loss": "softmax", **{k: getattr(args, k) for k in keys}}


def run_seed(split: LooSplit, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """Epoch selection on validation, then the refit on train + validation scored on test.

    The best epoch's weights also score the test cases directly (shoprec's default protocol:
    the validation event is read as input, never trained on); without ``--refit`` that is the
    headline test figure.
    """
    train_ds = Dataset.construct(split.train)
    test_train_ds = Dataset.construct(split.test_train)
    progress = None if args.output is None else args.output.with_suffix(f".seed{seed}.jsonl")
    test = (test_train_ds, split.test) if args.test_every_epoch else None
    val = EpochValidation(train_ds, split.validation, split.n_items, args.patience, progress, test)
    seed_everything(seed, workers=True, verbose=False)
    model = make_model(args, args.max_epochs, [val])
    val.model = model
    val.started = start = time.perf_counter()
    model.fit(train_ds)
    train_s = time.perf_counter() - start
    best = val.epochs[val.best_epoch - 1]

    model.lightning_model.load_state_dict(val.best_state)
    best_weights = score_test(model, test_train_ds, split)
    logging.info("best epoch %d, its weights on test: %s", val.best_epoch, best_weights)
    row: dict[str, Any] = {
        "model": "rectools-sasrec",
        "seed": seed,
        "params": params_of(args),
        "best_epoch": val.best_epoch,
        "epochs_run": len(val.epochs),
        "validation_NDCG@10": best["validation_NDCG@10"],
        "test_model": "refit" if args.refit else "best-epoch weights",
        **best_weights,
        "seconds_per_epoch": round(statistics.median(r["train_seconds"] for r in val.epochs), 2),
        "train_seconds": round(train_s, 1),
        "time_to_best_seconds": best["elapsed_seconds"],
    }
    if args.refit:
        row |= refit(split, args, seed, val.best_epoch)
        row["test_best_epoch_weights"] = best_weights
    row["epochs"] = val.epochs
    return row


def refit(split: LooSplit, args: argparse.Namespace, seed: int, epochs: int) -> dict[str, Any]:
    """The protocol's final fit: train + validation targets for ``epochs``, scored on test."""
    test_train_ds = Dataset.construct(split.test_train)
    seed_everything(seed, workers=True, verbose=False)
    final = make_model(args, epochs, [])
    start = time.perf_counter()
    final.fit(test_train_ds)
    return {
        "refit_epochs": epochs,
        "refit_seconds": round(time.perf_counter() - start, 1),
        **score_test(final, test_train_ds, split),
    }


def score_test(fitted: SASRecModel, test_train_ds: Dataset, split: LooSplit) -> dict[str, float]:
    """HR/NDCG@k of ``fitted`` on the test targets (histories = train + validation)."""
    reco = recommend(fitted, test_train_ds, split.test, k=max(KS))
    return {k: round(v, 5) for k, v in rank_metrics(reco, split.test, split.n_items).items()}


def summary(rows: list[dict[str, Any]]) -> str:
    """A plain-text table: one line per seed and mean ± std when there are several."""
    cols = ["validation_NDCG@10", "HR@10", "NDCG@10", "HR@20", "NDCG@20"]
    cols += ["best_epoch", "seconds_per_epoch", "time_to_best_seconds", "train_seconds"]
    lines = ["seed  " + "  ".join(f"{c:>20}" for c in cols)]
    for row in rows:
        lines.append(f"{row['seed']:>4}  " + "  ".join(f"{row[c]:>20}" for c in cols))
    if len(rows) > 1:
        cells = []
        for c in cols:
            values = [float(r[c]) for r in rows]
            cells.append(f"{np.mean(values):.4f}±{np.std(values, ddof=1):.4f}".rjust(20))
        lines.append("mean  " + "  ".join(cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA, help="events.csv.gz to split")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=25, help="epoch cap for selection")
    parser.add_argument("--patience", type=int, default=4, help="epochs without improvement")
    parser.add_argument(
        "--refit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refit on train + validation for the best epoch count (else test the best weights)",
    )
    parser.add_argument(
        "--refit-only",
        type=int,
        default=None,
        metavar="EPOCHS",
        help="skip the selection: refit on train + validation for EPOCHS (chosen by an earlier "
        "selection run) and score test",
    )
    parser.add_argument(
        "--test-every-epoch",
        action="store_true",
        help="also score the test targets with each epoch's weights (logged per epoch, never "
        "used for selection), so a run stopped early still has its best epoch's test figure",
    )
    parser.add_argument("--n-factors", type=int, default=64)
    parser.add_argument("--n-blocks", type=int, default=2)
    parser.add_argument("--n-heads", type=int, default=4)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--session-max-len", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write the rows as JSON (and each epoch as it ends to OUTPUT.seedN.jsonl)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # Lightning's per-fit chatter (GPU availability, dataloader workers) says nothing here.
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    # Library chatter that says nothing about this run: pandas deprecations inside RecTools,
    # pydantic's note on RecTools' config serialisation, Lightning's data-loader and API notes.
    warnings.filterwarnings("ignore", category=FutureWarning, module="rectools")
    warnings.filterwarnings("ignore", message="Pydantic serializer warnings")
    warnings.filterwarnings("ignore", module="pytorch_lightning")

    split = leave_one_out(args.data)
    logging.info(
        "train %d events, validation %d, test %d targets, %d items",
        len(split.train),
        len(split.validation),
        len(split.test),
        split.n_items,
    )
    rows = []
    for seed in args.seeds:
        if args.refit_only is None:
            rows.append(run_seed(split, args, seed))
        else:
            head = {"model": "rectools-sasrec", "seed": seed, "params": params_of(args)}
            rows.append(head | refit(split, args, seed, args.refit_only))
        logging.info("seed %d done: %s", seed, {k: v for k, v in rows[-1].items() if "@" in k})
    print(summary(rows) if args.refit_only is None else json.dumps(rows, indent=2))
    if args.output is not None:
        args.output.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
