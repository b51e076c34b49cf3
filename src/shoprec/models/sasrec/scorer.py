"""The SASRec Recommender: fit, whole-catalogue scoring, new items, attribution, artifacts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl
import torch
import torch.distributed as dist
from torch import nn

from shoprec.data import EvalSet, IdVocab, Interactions, UserSequences
from shoprec.errors import ArtifactError, ModelError
from shoprec.features import EmbeddingCache, encode_texts, make_text_encoder
from shoprec.models.base import BaseRecommender, Scores, new_items
from shoprec.models.config import FitOptions, Progress, ProgressUpdate
from shoprec.types import ItemId, Query

from .config import SASRecConfig
from .curves import curve_writer
from .data import check_items, inference_batches, inference_windows, training_windows
from .distributed import broadcast_vectors
from .net import SASRecNet
from .train import EVAL_BATCH, Trainer, ValidationCases, resolve_device

C = TypeVar("C", bound=SASRecConfig)


def _silent(done: int, total: int, info: str) -> None:
    """Progress update that shows nothing."""


def _step(progress: Progress | None, description: str) -> AbstractContextManager[ProgressUpdate]:
    """``progress``'s reporter for one step of a fit; a silent one without ``progress``."""
    return nullcontext(_silent) if progress is None else progress(description)


def base_config(config: SASRecConfig) -> SASRecConfig:
    """The plain SASRec part of a config that extends it (a compressed or derived model's)."""
    return SASRecConfig.model_validate(config.model_dump(include=set(SASRecConfig.model_fields)))


class SASRec(BaseRecommender):
    """Self-attentive sequential recommender over each shopper's latest actions.

    Items are represented by an ID embedding, a learned projection of a frozen text embedding,
    or their sum (``config.item_repr``); items that never occurred in training are represented
    from their text alone, so they can be recommended from the first request. Scoring reads the
    latest ``max_len`` events of any history (a known user or an anonymous session) and scores
    the whole catalogue with the tied item table.

    Example:
        >>> model = SASRec(SASRecConfig(item_repr="fused"))  # doctest: +SKIP
        >>> model.fit(data, FitOptions(seed=0, validation=split.validation))  # doctest: +SKIP
    """

    key: ClassVar[str] = "sasrec"
    config_cls: ClassVar[type[SASRecConfig]] = SASRecConfig
    config: SASRecConfig
    # Chosen per dataset on the validation target by `shoprec benchmark`, the defaults first.
    # One fit takes minutes, so the values are tried one parameter at a time from the defaults
    # (coordinate search: 5 fits, not 16). Both dropouts move together, as in SASRec's paper.
    search: ClassVar[str] = "coordinate"
    search_space: ClassVar[dict[str, list[Any]]] = {
        "hidden": [64, 128],
        "dropout": [{"dropout": 0.2, "emb_dropout": 0.2}, {"dropout": 0.5, "emb_dropout": 0.5}],
        "id_dropout": [0.25, 0.5],
        "max_len": [50, 200],
    }

    def __init__(self, config: SASRecConfig | None = None) -> None:
        super().__init__(config)
        self._net: SASRecNet | None = None
        self.history: list[dict[str, float]] = []
        """Per-epoch training log (loss, seconds, validation NDCG@10/HR@10)."""
        self.best_epoch = 0
        self.privacy: dict[str, Any] | None = None
        """What a private fit spent (epsilon, delta, noise; ``None``: not private)."""
        self._table: torch.Tensor | None = None  # (N, D) item vectors, cached for inference

    # -- training --------------------------------------------------------------------------
    def _encode(self, texts: Sequence[str], progress: Progress | None) -> npt.NDArray[np.float32]:
        cfg = self.config
        encoder = make_text_encoder(cfg.text_encoder, device="cpu")
        cache = EmbeddingCache(Path(cfg.text_cache_dir)) if cfg.text_cache_dir else None
        with _step(progress, "encoding item texts") as update:
            return encode_texts(
                encoder, texts, cache, cfg.text_batch_size, lambda done, n: update(done, n, "")
            )

    def _text_vectors(
        self, data: Interactions, opts: FitOptions, device: torch.device
    ) -> npt.NDArray[np.float32]:
        """The catalogue's text vectors; data-parallel, rank 0 encodes them for all ranks."""
        texts = data.item_texts()
        if opts.world_size == 1:
            return self._encode(texts, opts.progress)
        return broadcast_vectors(
            self._encode(texts, opts.progress) if opts.rank == 0 else None, device
        )

    def fit(
        self,
        data: Interactions,
        opts: FitOptions = FitOptions(),  # noqa: B008 - frozen dataclass, safe to share
        *,
        checkpoint_dir: Path | None = None,
        warm_start: SASRec | None = None,
    ) -> None:
        """Train on ``data``; early-stops on ``opts.validation`` (an :class:`EvalSet`) when given.

        With ``opts.world_size > 1`` this process is one rank of a data-parallel fit (see
        :mod:`~shoprec.models.sasrec.distributed`): every rank calls ``fit`` with the same data
        and options but its own ``opts.rank``; rank 0 alone encodes the texts, validates and
        ends up with the best weights (the other ranks hold the last ones).

        Args:
            data: Training interactions; its catalogue texts feed the text representation.
            opts: Seed, device (CUDA with mixed precision when present), epoch cap, validation,
                this process's rank.
            checkpoint_dir: Resume from the checkpoint there (if any) and write one per epoch.
            warm_start: A fitted model (e.g. on a smaller catalogue) whose weights initialise
                this one; items it knew keep their vectors, new items start from their text.

        Raises:
            ModelError: When ``opts.validation`` is not an EvalSet or does not match ``data``,
                or ``opts.world_size > 1`` without an initialised process group.
        """
        cfg = self.config
        if opts.world_size > 1 and not (dist.is_available() and dist.is_initialized()):
            raise ModelError(
                f"FitOptions(world_size={opts.world_size}) needs the ranks' torch.distributed "
                "process group: start them with `shoprec train --nproc N` or torchrun"
            )
        torch.manual_seed(opts.seed)
        device = resolve_device(opts.device)
        self.item_vocab = IdVocab(data.item_vocab.ids)
        n_items = len(self.item_vocab)
        if cfg.uses_text:
            text = self._text_vectors(data, opts, device)
        else:
            text = np.zeros((n_items, 0), dtype=np.float32)
        net = SASRecNet(n_items, text.shape[1], cfg)
        seqs = data.sequences
        known = np.zeros(n_items, dtype=np.float32)
        known[seqs.items] = 1.0
        with torch.no_grad():
            net.items.text.copy_(torch.from_numpy(text))
            net.items.known.copy_(torch.from_numpy(known))
            net.items.choose_head(np.bincount(seqs.items, minlength=n_items))
        if warm_start is not None:
            self._warm_start(net, warm_start)
        net.to(device)
        rows = training_windows(seqs, cfg.max_len, cfg.time_gap_buckets)
        trainer_cls = Trainer
        if cfg.private:
            from .privacy import PrivateTrainer  # Opacus: only for private fits

            trainer_cls = PrivateTrainer
        trainer = trainer_cls(
            net,
            cfg,
            rows,
            device,
            opts.seed,
            self.validation_cases(opts.validation),
            cfg.lr_decay_epochs,
            rank=opts.rank,
            world_size=opts.world_size,
        )
        max_epochs = min(opts.max_epochs or cfg.max_epochs, cfg.lr_decay_epochs or cfg.max_epochs)
        with (
            _step(opts.progress, "training") as update,
            curve_writer(opts.log_dir if opts.rank == 0 else None) as write_curve,
        ):

            def on_epoch(record: dict[str, float]) -> None:
                info = " ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "epoch")
                update(int(record["epoch"]), max_epochs, info)
                write_curve(record)

            state = trainer.run(max_epochs, checkpoint_dir, on_epoch)
        self.set_network(net, self.item_vocab, state.history, state.best_epoch)
        self.privacy = trainer.privacy()

    def validation_cases(self, validation: object | None) -> ValidationCases | None:
        """``FitOptions.validation`` (an :class:`EvalSet` of this catalogue) prepared for training.

        Raises:
            ModelError: When it is not an EvalSet or refers to items beyond the catalogue.
        """
        if validation is None:
            return None
        if not isinstance(validation, EvalSet):
            raise ModelError(
                f"FitOptions.validation must be an EvalSet, got {type(validation).__name__}"
            )
        hist = validation.histories
        top = max(int(hist.items.max(initial=-1)), int(validation.targets.max(initial=-1)))
        if top >= len(self.item_vocab):
            raise ModelError(
                f"FitOptions.validation refers to item index {top}, but the training data has "
                f"only {len(self.item_vocab)} items: build it from the same Interactions"
            )
        cfg = self.config
        return ValidationCases(
            windows=inference_windows(hist, cfg.max_len, cfg.time_gap_buckets),
            targets=validation.targets,
            seen_offsets=hist.offsets,
            seen_items=hist.items,
        )

    def _warm_start(self, net: SASRecNet, previous: SASRec) -> None:
        """Copy ``previous``'s weights into ``net``; shared items keep their ID vectors."""
        prev_net = previous.network
        shape = (previous.config.hidden, previous.config.id_dim)
        if shape != (self.config.hidden, self.config.id_dim):
            raise ModelError(
                f"warm start needs the same hidden and ID widths ({shape} != "
                f"{(self.config.hidden, self.config.id_dim)})"
            )
        if net.items.head_emb is not None or prev_net.items.head_emb is not None:
            raise ModelError("warm start is not supported with head ID vectors (id_head_items)")
        own = net.state_dict()
        item_keys = {"items.id_emb", "items.text", "items.known"}
        with torch.no_grad():
            for name, value in prev_net.state_dict().items():
                if name not in item_keys and name in own and own[name].shape == value.shape:
                    own[name].copy_(value)
            if net.items.id_emb is not None:
                # New items start from their text: zero ID rows (fused) rather than noise.
                net.items.id_emb.zero_()
                if prev_net.items.id_emb is not None:
                    new_idx = self.item_vocab.lookup(previous.item_vocab.ids)
                    keep = torch.as_tensor(new_idx >= 0)
                    rows = torch.as_tensor(new_idx[new_idx >= 0])
                    net.items.id_emb[rows] = prev_net.items.id_emb[keep]
                    was_known = prev_net.items.known[keep]
                    net.items.known[rows] = torch.maximum(net.items.known[rows], was_known)

    @property
    def network_config(self) -> SASRecConfig:
        """The plain SASRec config that builds :attr:`network` (a student's is its own shape)."""
        return self._network_config(len(self.network.items.head_rows))

    def _network_config(self, n_head: int) -> SASRecConfig:
        """Hook: the network's config, ``n_head`` head ID vectors (stored in its weights)."""
        return base_config(self.config)

    def derived_config(self, config_cls: type[C], settings: Mapping[str, Any]) -> C:
        """The config of a model derived from this one: :attr:`network_config` + ``settings``."""
        return config_cls.model_validate(self.network_config.model_dump() | dict(settings))

    def set_network(
        self, net: SASRecNet, vocab: IdVocab, history: list[dict[str, float]], best_epoch: int
    ) -> None:
        """Hold ``net`` (moved to the CPU, in eval mode) as the fitted network over ``vocab``."""
        self.item_vocab = vocab
        self.history = history
        self.best_epoch = best_epoch
        self._net = net.to("cpu").eval()
        self._table = None
        self._fitted = True

    def adopt(self, other: SASRec) -> None:
        """Take over another fitted model's network, catalogue and training record."""
        self.set_network(other.network, other.item_vocab, other.history, other.best_epoch)

    def parameter_count(self) -> int:
        """Scalars in the network's parameters (the frozen text vectors are buffers, excluded)."""
        return sum(p.numel() for p in self.network.parameters())

    # -- scoring ---------------------------------------------------------------------------
    @property
    def network(self) -> SASRecNet:
        """The fitted network.

        Raises:
            NotFittedError: Before ``fit`` or ``load``.
        """
        self._require_fitted()
        if self._net is None:  # pragma: no cover - fitted implies a network
            raise ModelError("SASRec has no network")
        return self._net

    def _item_table(self) -> torch.Tensor:
        if self._table is None:
            with torch.inference_mode():
                self._table = self.network.items().float()  # (N, D)
        return self._table

    @torch.inference_mode()
    def score_batch(self, histories: UserSequences) -> Scores:
        """Scores ``(B, N)`` of every catalogue item as each history's next event.

        ``NaN`` where the model cannot score: rows of empty histories, and (ID-only model) items
        that never occurred in training.

        Raises:
            DataError: When a history holds an item index outside the model's vocabulary.
        """
        self._require_fitted()
        n_items = len(self.item_vocab)
        check_items(histories, n_items)
        queries = self.query_embeddings(histories)  # (B, D)
        table, scorable = self.item_embeddings()  # (N, D), (N,)
        out = np.empty((len(histories), n_items), dtype=np.float32)
        for start in range(0, len(histories), EVAL_BATCH):
            out[start : start + EVAL_BATCH] = queries[start : start + EVAL_BATCH] @ table.T
        out[histories.lengths() == 0] = np.nan
        out[:, ~scorable] = np.nan
        return out

    @torch.inference_mode()
    def query_embeddings(self, histories: UserSequences) -> npt.NDArray[np.float32]:
        """The Transformer's state after each history's latest event ``(B, D)``."""
        net = self.network
        table = self._item_table()
        out = np.empty((len(histories), table.shape[1]), dtype=np.float32)
        for start, rows in inference_batches(histories, self.config, EVAL_BATCH):
            batch = rows.to_torch(torch.device("cpu"))
            out[start : start + len(rows)] = net.encode(table, batch).numpy()  # (B, D)
        return out

    def item_embeddings(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        """The item table ``(N, D)``; without text, items unseen in training cannot be scored."""
        net = self.network
        scorable = np.ones(len(self.item_vocab), dtype=bool)
        if not self.config.uses_text:
            scorable = net.items.known.numpy() > 0
        return self._item_table().numpy(), scorable

    def explain(
        self, query: Query, item_ids: Sequence[ItemId], n_last: int = 5
    ) -> dict[ItemId, list[tuple[ItemId, float]]]:
        """Which of the latest history events drove each of ``item_ids`` ("because you viewed X").

        Leave-one-out attribution, gradient-free: the contribution of a history event to an
        item is the drop in the item's score when that event is removed from the history. The
        ``n_last`` latest events are tried (one batched forward pass of ``n_last + 1`` rows).

        Returns:
            Per requested item (unknown ones omitted), ``(history item, contribution)`` pairs,
            largest contribution first.
        """
        seqs = self.encode(query)
        n = len(seqs.items)
        if n == 0:
            return {}
        drop = list(range(max(n - n_last, 0), n))
        cuts = [np.arange(n)] + [np.delete(np.arange(n), j) for j in drop]
        lengths = np.asarray([len(c) for c in cuts], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        pos = np.concatenate(cuts)
        batch = UserSequences(
            user_ids=[str(i) for i in range(len(cuts))],
            offsets=offsets,
            items=seqs.items[pos],
            types=seqs.types[pos],
            timestamps=seqs.timestamps[pos],
        )
        known = [
            (item, idx) for item in item_ids if (idx := self.item_vocab.index_of(item)) is not None
        ]
        # Only the asked items are scored: one (1 + len(drop), D) x (D, len(known)) product.
        table, _ = self.item_embeddings()
        scores = self.query_embeddings(batch) @ table[[idx for _, idx in known]].T
        ids = self.item_vocab.ids
        out: dict[ItemId, list[tuple[ItemId, float]]] = {}
        for col, (item, _) in enumerate(known):
            gains = scores[0, col] - scores[1:, col]  # (len(drop),)
            pairs = [(ids[seqs.items[j]], float(g)) for j, g in zip(drop, gains, strict=True)]
            out[item] = sorted(pairs, key=lambda p: -p[1])
        return out

    # -- catalogue growth ------------------------------------------------------------------
    def add_items(
        self,
        item_ids: Sequence[ItemId],
        texts: Sequence[str],
        catalogue: pl.DataFrame | None = None,
    ) -> None:
        """Add new items (by text) to a fitted model so they can be scored right away.

        Items already in the vocabulary are left as they are; ``catalogue`` is not read (the
        model knows an item by its text and ID). With ``item_repr="id"`` the new
        items are added but cannot be scored (NaN) until the model is retrained.

        Raises:
            DataError: When ``item_ids`` and ``texts`` differ in length.
        """
        net = self.network
        fresh = new_items(self.item_vocab, item_ids, texts)
        if not fresh:
            return
        items = net.items
        k = len(fresh)
        if self.config.uses_text:
            vectors = torch.from_numpy(self._encode(list(fresh.values()), progress=None))
            items.text = torch.cat([items.text, vectors])
        else:
            items.text = torch.zeros(items.n_items + k, 0)
        if items.id_emb is not None:
            items.id_emb = nn.Parameter(
                torch.cat([items.id_emb.detach(), torch.zeros(k, items.id_emb.shape[1])])
            )
        items.known = torch.cat([items.known, torch.zeros(k)])
        self.item_vocab.add(fresh)
        self._table = None

    def set_cold_imputation(self, neighbors: int, temperature: float) -> None:
        """Score items unseen in training with other imputation settings (the config's stay).

        For trying settings on a fitted model (``benchmarks/cold_items.py``); see
        ``SASRecConfig.cold_neighbors`` and ``cold_temperature``.
        """
        items = self.network.items
        items.cold_neighbors, items.cold_temperature = neighbors, temperature
        self._table = None

    # -- artifacts -------------------------------------------------------------------------
    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {k: v.detach().cpu().numpy() for k, v in self.network.state_dict().items()}

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        n_items, text_dim = arrays["items.text"].shape
        n_head = len(arrays.get("items.head_rows", ()))
        net = SASRecNet(n_items, text_dim, self._network_config(n_head))
        try:
            net.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
        except RuntimeError as exc:
            raise ArtifactError(f"weights do not match the config: {exc}") from exc
        self._net = net.eval()
        self._table = None

    def _extra_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"history": self.history, "best_epoch": self.best_epoch}
        if self.privacy is not None:
            state["privacy"] = self.privacy
        return state

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.history = list(state.get("history", []))
        self.best_epoch = int(state.get("best_epoch", 0))
        self.privacy = state.get("privacy")


def fit_teacher(config: SASRecConfig, data: Interactions, opts: FitOptions) -> SASRec:
    """The SASRec that a derived model's ``config`` names, fitted on ``data`` (its ``fit``)."""
    teacher = SASRec(base_config(config))
    teacher.fit(data, opts)
    return teacher
