"""Hyperparameters of the SASRec-family Transformer (declared once, here)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from shoprec.models.config import BaseConfig

ItemRepr = Literal["id", "text", "fused"]
Loss = Literal["softmax", "sampled"]

#: What a private fit (``dp_epsilon`` set) starts from unless these are given: larger batches
#: (the noise on the averaged gradient shrinks with them), a larger step (clipped, noisy
#: gradients carry less signal each) and no dropout (its noise only adds to DP-SGD's). Chosen
#: on the Beauty validation target for ``sasrec-text`` (docs/benchmarks.md, "Private training").
DP_DEFAULTS: dict[str, Any] = {"batch_size": 512, "lr": 0.01, "dropout": 0.0, "emb_dropout": 0.0}


class SASRecConfig(BaseConfig):
    """Configuration of :class:`~shoprec.models.sasrec.SASRec`.

    Defaults are the values chosen on the Amazon Beauty validation target (see
    ``docs/benchmarks.md``). ``shoprec benchmark`` chooses ``hidden``, ``dropout`` (with
    ``emb_dropout``, the same value), ``id_dropout`` and ``max_len`` again on each dataset's
    validation target (``SASRec.search_space``, searched one parameter at a time from these
    defaults).
    """

    item_repr: ItemRepr = "fused"
    """How items are represented: ``"id"`` (learned embedding per item), ``"text"`` (learned
    projection of the frozen text embedding) or ``"fused"`` (their sum). With text, items never
    seen in training are represented from their text alone."""

    hidden: int = Field(64, ge=8)
    """Width of item representations and of the Transformer."""

    id_init_std: float = Field(0.125, gt=0.0)
    """Standard deviation of the initial ID embeddings. Large values (PyTorch's ``nn.Embedding``
    default is 1) let ID vectors learn in fewer epochs."""

    id_dim: int | None = Field(None, ge=1)
    """Width of the ID embeddings (``None``: ``hidden``). Narrower ID vectors are lifted to
    ``hidden`` by one shared learned matrix: a low-rank item table of ``N * id_dim`` instead of
    ``N * hidden`` parameters, which dominate the model on a large catalogue."""

    id_head_items: int = Field(0, ge=0)
    """The most frequent training items that add a second, wider ID vector (``id_head_dim``)
    to their ``id_dim`` one: a mixed-width table for small models, where a narrow table is too
    coarse for the items most shoppers pick. 0 = none."""

    id_head_dim: int | None = Field(None, ge=1)
    """Width of the head items' extra ID vectors (``None``, or more than ``hidden``:
    ``hidden``)."""

    text_hidden: int | None = Field(None, ge=1)
    """Hidden width of an MLP (GELU) that projects the text embedding; ``None``: one linear
    layer. A wider text projection can carry more of what the ID table would otherwise hold
    (the distilled student's option for a small model)."""

    n_layers: int = Field(2, ge=1)
    """Number of Transformer blocks."""

    n_heads: int = Field(1, ge=1)
    """Attention heads per block (must divide ``hidden``)."""

    ffn_mult: int = Field(1, ge=1)
    """Feed-forward width as a multiple of ``hidden``."""

    max_len: int = Field(50, ge=2)
    """Number of latest events the model reads (longer histories keep their tail)."""

    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    """Dropout inside the Transformer blocks (attention and feed-forward)."""

    emb_dropout: float = Field(0.2, ge=0.0, lt=1.0)
    """Dropout on the input embeddings (item + position + event type + time gap)."""

    text_dropout: float = Field(0.0, ge=0.0, lt=1.0)
    """Dropout on the frozen text vector before its projection (regularises the projection)."""

    id_dropout: float = Field(0.25, ge=0.0, lt=1.0)
    """Fused model: share of items whose ID vector is dropped in each training batch, so the
    model also learns to score items from text alone (as it must for cold items)."""

    cold_neighbors: int = Field(3, ge=0)
    """Fused model: an item never seen in training is served with the vectors of this many
    known items nearest to it by text (norm-preserving weighted mean); 0 = its text projection
    alone. Chosen with ``cold_temperature`` on the cold-item split's validation targets."""

    cold_temperature: float = Field(0.02, gt=0.0)
    """Softmax temperature over the neighbours' text cosine similarities (smaller: closer to
    the single nearest neighbour)."""

    use_event_type: bool = True
    """Add an embedding of each event's type (view, cart, purchase, ...) to its input."""

    time_gap_buckets: int = Field(0, ge=0)
    """Buckets of the log-scaled time since the previous event, added to the input; 0 = off."""

    loss: Loss = "softmax"
    """``"softmax"``: cross-entropy over the whole catalogue; ``"sampled"``: over the target plus
    ``n_negatives`` popularity-sampled items with log-Q correction (large catalogues)."""

    compile_loss: bool = True
    """Compile the full-softmax loss with ``torch.compile`` (fused kernels, faster epochs);
    without a compiler on the machine training falls back to the eager loss."""

    n_negatives: int = Field(1024, ge=1)
    """Negatives per batch for the sampled softmax (shared across the batch)."""

    lr: float = Field(1e-3, gt=0.0)
    """AdamW learning rate."""

    weight_decay: float = Field(0.0, ge=0.0)
    """AdamW weight decay (applied to matrices, not to biases, norms or embeddings)."""

    batch_size: int = Field(128, ge=1)
    """Sequences per training batch."""

    length_batches: bool = True
    """Batch histories of similar length together (far less padding to compute; the batch
    order is still shuffled every epoch)."""

    ema_decay: float = Field(0.995, ge=0.0, lt=1.0)
    """Validate, keep and serve an exponential moving average of the weights, updated after
    every optimiser step with this decay (0 = off: the raw weights), or ``(1 + t) / (10 + t)``
    after ``t`` steps while that is smaller. Averaging smooths the step-to-step noise of a
    constant learning rate: chosen on the Beauty validation target (0.995, about one epoch
    there; +2.4% NDCG@10 over the raw weights with ``id_dropout = 0.25``)."""

    lr_decay_epochs: int | None = Field(None, ge=1)
    """Cosine-decay the learning rate from ``lr`` to 0 over this many epochs, which then also
    cap the run (early stopping still keeps the best epoch); ``None``: a constant ``lr``. A
    refit for fewer epochs follows the same curve, so it stops where the chosen epoch did."""

    max_epochs: int = Field(200, ge=1)
    """Cap on training epochs (``FitOptions.max_epochs`` overrides it)."""

    patience: int = Field(5, ge=1)
    """Stop after this many epochs without a better validation NDCG@10."""

    text_encoder: str = "all-MiniLM-L6-v2"
    """Text encoder spec: ``"all-MiniLM-L6-v2"`` (bundled weights), a sentence-transformers model
    directory, or ``"hashing-<dim>"`` (tests). Unused when ``item_repr="id"``."""

    text_cache_dir: str | None = None
    """Folder of the on-disk text-embedding cache; ``None`` disables it."""

    text_batch_size: int = Field(64, ge=1)
    """Batch size of the text encoder."""

    dp_epsilon: float | None = Field(None, gt=0.0)
    """Train with DP-SGD (Opacus, ``docs/training.md``) to this privacy budget epsilon, each
    shopper's training row being the unit protected: per-shopper gradient clipping, Poisson
    sampled batches of ``batch_size`` rows on average, Gaussian noise calibrated by Opacus'
    accountant so the run's epoch cap spends exactly (``dp_epsilon``, ``dp_delta``). ``None``
    or infinity: no privacy (the ordinary trainer). When set, :data:`DP_DEFAULTS` replace the
    defaults of the fields it names."""

    dp_delta: float | None = Field(None, gt=0.0, lt=1.0)
    """The delta of DP-SGD's (epsilon, delta) guarantee; ``None``: 1 / the number of shoppers
    trained on."""

    max_grad_norm: float = Field(1.0, gt=0.0)
    """DP-SGD: each shopper's gradient is clipped to this L2 norm before the noise is added
    (the noise's standard deviation is ``noise_multiplier * max_grad_norm``)."""

    @model_validator(mode="before")
    @classmethod
    def _private_defaults(cls, data: Any) -> Any:
        epsilon = data.get("dp_epsilon") if isinstance(data, dict) else None
        if isinstance(epsilon, int | float) and math.isfinite(epsilon):
            return DP_DEFAULTS | data  # what the caller gave wins
        return data

    @field_validator("dp_epsilon")
    @classmethod
    def _infinite_epsilon_is_off(cls, value: float | None) -> float | None:
        # epsilon = infinity promises nothing: the plain trainer, stored as "no DP".
        return None if value is not None and math.isinf(value) else value

    @model_validator(mode="after")
    def _check_heads(self) -> SASRecConfig:
        if self.hidden % self.n_heads:
            raise ValueError(f"hidden={self.hidden} is not divisible by n_heads={self.n_heads}")
        return self

    @property
    def uses_text(self) -> bool:
        """Whether items carry a text embedding."""
        return self.item_repr != "id"

    @property
    def private(self) -> bool:
        """Whether the model trains with DP-SGD."""
        return self.dp_epsilon is not None and math.isfinite(self.dp_epsilon)

    @property
    def uses_id(self) -> bool:
        """Whether items carry an ID embedding."""
        return self.item_repr != "text"
