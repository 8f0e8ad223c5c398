"""Training on several processes with DistributedDataParallel, as ``torchrun`` launches them.

``torchrun --nproc_per_node=N -m cnnkit train ...`` starts N copies of the CLI. Each finds its place in the
environment (``world_from_env``), joins the process group (gloo on CPUs, NCCL on CUDA GPUs, one GPU per
process), trains on its own part of the training set (``cnnkit.data.tensors.part_of``) while DDP averages the
gradients, and only rank 0 writes the output. ``--batch-size`` stays the global batch: each process takes
``batch_size / N`` of it.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from cnnkit.devices import resolve_device
from cnnkit.errors import CnnkitError
from cnnkit.i18n import text


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int
    size: int
    local_rank: int  # on this machine: which GPU is its own

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def world_from_env(environ: Mapping[str, str] | None = None) -> World | None:
    """The torchrun variables RANK, WORLD_SIZE and LOCAL_RANK as a ``World``; None for a lone process."""
    env = os.environ if environ is None else environ
    try:
        size = int(env.get("WORLD_SIZE", "1"))
        if size <= 1:
            return None
        rank = int(env["RANK"])
        return World(rank, size, int(env.get("LOCAL_RANK", rank)))
    except (KeyError, ValueError):
        raise CnnkitError("errors.rank_missing") from None


def rank_device(world: World | None, spec: str) -> torch.device:
    """The device this process trains on: ``spec``, or with CUDA the GPU numbered by its local rank."""
    device = resolve_device(spec)
    if world is None or device.type == "cpu":
        return device
    if device.type != "cuda":
        raise CnnkitError("errors.distributed_device", device=device.type)
    count = torch.cuda.device_count()
    if world.local_rank >= count:
        raise CnnkitError("errors.distributed_gpus", count=count)
    return torch.device("cuda", world.local_rank)


@contextmanager
def process_group(world: World | None, spec: str) -> Iterator[None]:
    """Join the process group for the duration of a run; nothing to do for a lone process."""
    if world is None:
        yield
        return
    device = rank_device(world, spec)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=world.rank, world_size=world.size)
    try:
        yield
    finally:
        dist.destroy_process_group()


@contextmanager
def one_line_when_stopped(world: World | None) -> Iterator[None]:
    """Under torchrun, a process whose peer died says so in one line (its rank and the reason) beside
    torchrun's own report, instead of a traceback: a broken connection becomes a ``CnnkitError``, and the
    SIGTERM with which torchrun ends the survivors prints a line before the process exits."""
    if world is None:
        yield
        return

    def wait_for_sigterm() -> None:
        # A Python signal handler would wait for the main thread, blocked in a collective whose peer is gone,
        # until torchrun's SIGKILL; a thread that waits for the (blocked) signal answers at once.
        signal.sigwait({signal.SIGTERM})
        print(f"error: {text('safety.rank_stopped', rank=world.rank, size=world.size)}", file=sys.stderr, flush=True)
        os._exit(128 + signal.SIGTERM)  # the process group cannot be left cleanly once a peer is gone

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # inherited by every thread started from here
    threading.Thread(target=wait_for_sigterm, daemon=True, name="torchrun-sigterm").start()
    try:
        yield
    except RuntimeError as exc:  # gloo/NCCL: "Connection closed by peer", DistBackendError, ...
        said = re.search(r"Connection [\w ]+|[Tt]imed? ?out[\w ]*", str(exc))
        reason = said.group(0).strip() if said else (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise CnnkitError("safety.rank_lost", rank=world.rank, size=world.size, reason=reason) from None


@contextmanager
def main_first(world: World | None) -> Iterator[None]:
    """Rank 0 runs the block first (a download, say), the other processes after it has finished."""
    if world is not None and not world.is_main:
        dist.barrier()
    try:
        yield
    finally:  # also when rank 0 fails: the others then fail with the same clear message, not a hang
        if world is not None and world.is_main:
            dist.barrier()


def sum_across(world: World | None, values: torch.Tensor) -> torch.Tensor:
    """``values`` summed over every process, in place (unchanged for a lone process)."""
    if world is not None:
        dist.all_reduce(values)
    return values


def wrap(model: nn.Module, world: World | None, device: torch.device) -> nn.Module:
    """The module that training calls: DDP around ``model`` in a process group, else ``model`` itself."""
    if world is None:
        return model
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
