"""Data-parallel training processes: starting the ranks, their process group, shared inputs.

``shoprec train --nproc N`` starts N ranks on this machine with :func:`launch`; under
``torchrun`` each rank is a process torchrun started, which finds the others through the
environment torchrun sets (``init_method="env://"``). Either way a rank joins the others in
:func:`process_group` (gloo on CPU, NCCL on CUDA with one GPU per rank) and fits with
``FitOptions(rank=..., world_size=...)``; :class:`~shoprec.models.sasrec.train.Trainer` shares
the batches and gradients, and :func:`broadcast_vectors` hands rank 0's text embeddings to the
others so that the catalogue is encoded once.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.queues import SimpleQueue
from typing import Generic, TypeVar, TypeVarTuple

import numpy as np
import numpy.typing as npt
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.multiprocessing.spawn import (
    ProcessExitedException,
    ProcessRaisedException,
    start_processes,
)

from shoprec.errors import ModelError

from .train import resolve_device

R = TypeVar("R")
Ts = TypeVarTuple("Ts")

#: Seconds the other ranks get to report their own errors after one rank failed.
_GRACE_S = 5.0


@dataclass(frozen=True)
class RankSpec:
    """Where one process sits among the ranks of a data-parallel run, and how it meets them.

    Attributes:
        rank: Global rank (0 validates and writes the artifact).
        world_size: Number of ranks.
        local_rank: Rank on this machine (a CUDA rank trains on the GPU of that number).
        init_method: How the ranks meet: ``"env://"`` (torchrun's ``MASTER_ADDR``,
            ``MASTER_PORT`` and store) or ``"tcp://HOST:PORT"`` (rank 0 listens there).
    """

    rank: int
    world_size: int
    local_rank: int = 0
    init_method: str = "env://"


@contextmanager
def process_group(spec: RankSpec, device: str) -> Iterator[torch.device]:
    """Join the other ranks for the block; yields this rank's device.

    The group is torn down when the block ends normally. When it raises, the rank's exit
    tears it down instead: by then :func:`launch` has the rank's own error, which comes
    before the errors of the other ranks' collectives that the lost connections break.

    Args:
        spec: This rank.
        device: Device spec as in ``FitOptions.device``; a CUDA one becomes GPU
            ``spec.local_rank`` with the NCCL backend, anything else trains on CPU with gloo.
    """
    dev = resolve_device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", spec.local_rank)
        torch.cuda.set_device(dev)
    dist.init_process_group(
        "nccl" if dev.type == "cuda" else "gloo",
        init_method=spec.init_method,
        rank=spec.rank,
        world_size=spec.world_size,
    )
    yield dev
    dist.destroy_process_group()


def broadcast_vectors(
    vectors: npt.NDArray[np.float32] | None, device: torch.device
) -> npt.NDArray[np.float32]:
    """Rank 0's ``(N, X)`` float32 ``vectors`` on every rank (the other ranks pass ``None``).

    Sent through the process group rather than read from a shared embedding cache, so ranks
    on other machines and runs without a cache folder get them too. ``device`` is this rank's
    (NCCL sends only GPU tensors).
    """
    shape = torch.tensor(vectors.shape if vectors is not None else (0, 0), device=device)
    dist.broadcast(shape, src=0)
    if vectors is not None:
        buffer = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)).to(device)
    else:
        rows, cols = (int(v) for v in shape.tolist())
        buffer = torch.empty(rows, cols, dtype=torch.float32, device=device)
    dist.broadcast(buffer, src=0)
    out: npt.NDArray[np.float32] = buffer.cpu().numpy()
    return out


def launch(fn: Callable[[RankSpec, *Ts], R], nproc: int, *args: *Ts) -> R:
    """Run ``fn(rank_spec, *args)`` in ``nproc`` new processes on this machine.

    torch.multiprocessing rather than torchrun's launcher (``torch.distributed.run``): a fixed
    number of ranks on one machine needs none of its rendezvous, agent process and restart
    policy, and ``start_processes`` hands ``args`` (the loaded data) to the ranks as Python
    objects. The ranks are spawned, fresh interpreters: forking a process that already runs
    torch's thread pools is unsafe. Each gets an equal share of this process's torch threads
    (on a CPU, ranks with all the threads each would fight over the cores).

    Args:
        fn: A module-level function (the ranks import it by name).
        nproc: Number of ranks (processes).
        *args: Picklable arguments for ``fn`` after the rank spec.

    Returns:
        What ``fn`` returned on rank 0.

    Raises:
        ModelError: When a rank failed; the message names the rank and its exception.
    """
    with socket.socket() as probe:  # a free port for rank 0 to listen on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    messages: SimpleQueue[_Done[R] | _Failure] = mp.get_context("spawn").SimpleQueue()
    threads = max(1, torch.get_num_threads() // nproc)
    init_method = f"tcp://127.0.0.1:{port}"
    ranks = start_processes(  # type: ignore[no-untyped-call]
        _run_rank,
        args=(fn, args, nproc, init_method, threads, messages),
        nprocs=nproc,
        join=False,
        start_method="spawn",
    )
    received: list[_Done[R] | _Failure] = []
    try:
        # Messages are read while the ranks run: a large result would otherwise fill the
        # pipe and rank 0 could never exit. After a failure the other ranks get a few
        # seconds to report their own before they are terminated.
        while not ranks.join(timeout=0.2, grace_period=_GRACE_S):
            received += _drain(messages)
    except (ProcessRaisedException, ProcessExitedException) as exc:
        # One rank's failure breaks the others' collectives: the first error reported is
        # the cause (a crash without a Python exception reports none).
        failures = [m for m in received + _drain(messages) if isinstance(m, _Failure)]
        where = f"rank {failures[0].rank}: {failures[0].error}" if failures else str(exc)
        raise ModelError(f"data-parallel training failed on {where}") from exc
    return next(m.value for m in received + _drain(messages) if isinstance(m, _Done))


@dataclass(frozen=True)
class _Done(Generic[R]):
    """Rank 0's return value."""

    value: R


@dataclass(frozen=True)
class _Failure:
    """A rank's exception, as ``"Type: message"``."""

    rank: int
    error: str


def _drain(messages: SimpleQueue[_Done[R] | _Failure]) -> list[_Done[R] | _Failure]:
    out = []
    while not messages.empty():
        out.append(messages.get())
    return out


def _run_rank(
    local_rank: int,
    fn: Callable[[RankSpec, *Ts], R],
    args: tuple[*Ts],
    nproc: int,
    init_method: str,
    threads: int,
    messages: SimpleQueue[_Done[R] | _Failure],
) -> None:
    """Entry point of a spawned rank: its threads, its spec, ``fn``, what came of it sent back."""
    torch.set_num_threads(threads)
    try:
        result = fn(RankSpec(local_rank, nproc, local_rank, init_method), *args)
    except Exception as exc:
        messages.put(_Failure(local_rank, f"{type(exc).__name__}: {exc}"))
        raise
    if local_rank == 0:
        messages.put(_Done(result))
