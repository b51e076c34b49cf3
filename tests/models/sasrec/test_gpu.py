"""The GPU path (issue #20): device choice, bf16 training autocast, fp16/bf16 inference on CUDA.

Every test here is marked ``gpu`` and skips, with its reason, where CUDA is missing — in CI
too: shoprec never requires a GPU. Run them on a CUDA machine with ``pytest -m gpu``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shoprec.data import leave_one_out
from shoprec.models import FitOptions
from shoprec.models.sasrec import SASRec
from shoprec.models.sasrec.data import inference_windows
from shoprec.models.sasrec.train import autocast, resolve_device

from .planted import TINY, chain_shop

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="needs a CUDA device (none visible to torch); the CPU path is tested elsewhere",
    ),
]


def test_auto_picks_the_gpu_and_autocast_is_bfloat16_there() -> None:
    device = resolve_device("auto")
    assert device.type == "cuda"
    with autocast(device):
        y = torch.ones(4, 4, device=device) @ torch.ones(4, 4, device=device)
    assert y.dtype == torch.bfloat16


def test_a_fit_on_the_gpu_learns_the_planted_chains_like_the_cpu_one() -> None:
    data = chain_shop(np.random.default_rng(0))
    split = leave_one_out(data)
    cfg = TINY.model_copy(update={"max_epochs": 15, "compile_loss": False})
    scores = {}
    for device in ("cpu", "cuda"):
        model = SASRec(cfg)
        model.fit(split.train, FitOptions(seed=0, device=device, validation=split.validation))
        assert np.isfinite([r["loss"] for r in model.history]).all()
        scores[device] = max(r["ndcg@10"] for r in model.history)
    # bf16 autocast changes rounding, not what is learnt.
    assert scores["cuda"] == pytest.approx(scores["cpu"], abs=0.05)
    assert scores["cuda"] > 0.3


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inference_on_the_gpu_keeps_the_top_items(dtype: torch.dtype) -> None:
    data = chain_shop(np.random.default_rng(1))
    model = SASRec(TINY.model_copy(update={"max_epochs": 10, "compile_loss": False}))
    model.fit(data, FitOptions(seed=0, device="cpu"))
    net = model.network
    windows = inference_windows(data.sequences, TINY.max_len, TINY.time_gap_buckets)
    batch = windows.take(np.arange(len(windows))).to_torch(torch.device("cpu"))
    with torch.inference_mode():
        table = net.items().float()
        exact = net.encode(table, batch) @ table.T  # (B, N)
        gpu = net.to("cuda")
        cuda_batch = {k: v.cuda() for k, v in batch.items()}
        with torch.autocast("cuda", dtype=dtype):
            table16 = gpu.items()
            half = (gpu.encode(table16, cuda_batch) @ table16.T).float().cpu()
    same_top = (exact.argmax(1) == half.argmax(1)).float().mean()
    assert same_top > 0.95


def test_private_training_runs_on_the_gpu() -> None:
    pytest.importorskip("opacus")
    data = chain_shop(np.random.default_rng(0), n_users=60)
    cfg = TINY.model_copy(
        update={"item_repr": "text", "dp_epsilon": 8.0, "batch_size": 64, "compile_loss": False}
    )
    model = SASRec(cfg)
    model.fit(data, FitOptions(seed=0, device="cuda", max_epochs=2))
    assert model.privacy is not None and model.privacy["epsilon"] == pytest.approx(8.0, abs=0.05)
