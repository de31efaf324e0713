"""Data-parallel training over several processes, started by PyTorch's ``torchrun``.

``torchrun --nproc_per_node N -m workbench train CONFIG.toml`` (``--nnodes`` and a
rendezvous address for several machines) starts N copies of the command with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` set. ``Distributed.from_env`` joins them into one process
group: NCCL when training on CUDA (one GPU per process, ``cuda:LOCAL_RANK``), gloo on the
CPU. The model is wrapped in ``DistributedDataParallel`` (gradients averaged across
processes during the backward pass; BatchNorm layers synchronised on CUDA).

The global batch (``train.batch_size``) is the same as in one process and is split evenly:
process r takes the r-th slice of every batch of the epoch's order, so the processes
together see exactly the batches one process would. The step's losses and labelled counts
are reduced across processes before anything is logged or checked, so every process
agrees on NaN checks, stops and the time limit. Only rank 0 writes the run directory. Every
process validates a contiguous slice of the validation set with rank 0's buffers
(``broadcast_buffers``) and the unwrapped model; rank 0 merges the slices' metric states
in order (``metric_shards``), computes the metrics, saves, and sends the others its verdict
(they wait for it for up to ``DIST_TIMEOUT_MIN``). Checkpoints hold the unwrapped model, so a distributed run resumes on any
number of processes, one included.

For losses that are means over the samples of a batch (classification, counting,
localization, multilabel, segmentation, and equal sum, static, uncertainty, DWA and random
weighting), N processes compute the same gradients as one process up to float rounding,
when the network has no batch statistics (BatchNorm normalises each process's slice on
the CPU, where PyTorch has no synchronised BatchNorm; the ConvNeXt backbone has none, but
the dense heads (detection, segmentation) do). Detection
normalises its loss by the objects in each process's slice, as the torchvision detection
references do. The parameters of a learned weighting (uncertainty's log-variances) are
outside the wrapped network; their gradients are averaged by hand.

The gradient methods (UPGrad, MGDA, PCGrad, CAGrad, Nash-MTL ...: ``GRADIENT_METHODS``)
need the global batch's per-task gradients before they combine them, which DDP's averaged
``.grad`` no longer holds. For them the network is not wrapped; each process computes the
Jacobian of its slice's task losses on the shared parameters, each row t scaled by the
process's share n_r,t / N_t of the task's labelled samples, and one all-reduce sums the
rows: the Jacobian of the global batch's mean losses, partial labels included
(``GradientGroup``). Every process then combines the same matrix; rank 0's direction and
weights are broadcast so that the parameters never drift apart (methods that draw random
numbers, and solvers on different CPUs). Each task's own layers get the same share-weighted
sum of their gradients. This costs one all-reduce of T x P values per step instead of P.
GradNorm sums the processes' per-task gradients of its last shared stage the same way. The
scalarizers that are not linear in the losses or keep state from them (geometric mean,
STCH, IMTL-L, FAMO) are refused (``check_weighting``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

# How long a process waits in a collective before the job is declared hung. Rank 0
# validates and saves alone while the others wait for its verdict, so the wait covers a
# whole validation pass and a checkpoint write: NCCL's default of 10 minutes would kill a
# job with a large validation set. ``WORKBENCH_DIST_TIMEOUT_MIN`` overrides it.
DIST_TIMEOUT_MIN = 60.0
DIST_TIMEOUT_ENV = "WORKBENCH_DIST_TIMEOUT_MIN"


MIN_TIMEOUT_MIN = 1.0


def collective_timeout() -> timedelta:
    """``DIST_TIMEOUT_MIN`` minutes, or the minutes in ``WORKBENCH_DIST_TIMEOUT_MIN`` (at
    least ``MIN_TIMEOUT_MIN``). Raises DistributedSetupError naming the variable when that
    is not such a number: a wait of seconds ended healthy jobs with gloo's raw message
    while one process validated or saved."""
    raw = os.environ.get(DIST_TIMEOUT_ENV, "").strip()
    if not raw:
        return timedelta(minutes=DIST_TIMEOUT_MIN)
    try:
        minutes = float(raw)
    except ValueError:
        minutes = float("nan")
    if not (MIN_TIMEOUT_MIN <= minutes < 1e6):
        raise DistributedSetupError(
            f"{DIST_TIMEOUT_ENV}={raw!r}: give the minutes as a number of at least {MIN_TIMEOUT_MIN:g} "
            "(processes wait for each other while one validates or saves)"
        )
    return timedelta(minutes=minutes)


# Weightings linear in the task losses, with weights that every process computes alike: the
# average of the processes' gradients is then the gradient of the global batch.
SUPPORTED_WEIGHTINGS = ("equal_sum", "equal_mean", "static", "uncertainty", "dwa", "random")


class DistributedSetupError(RuntimeError):
    """A distributed run that cannot start: one line naming the setting and the fix."""


@dataclass
class Distributed:
    """The process group of a ``torchrun`` job (``world_size == 1``: a plain run)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: str) -> Distributed:
        """Join the ``torchrun`` job described by the environment (``WORLD_SIZE`` > 1), else a
        single-process context. ``device`` is ``train.device``: "cpu" trains with gloo,
        anything else with NCCL on ``cuda:LOCAL_RANK``. Raises DistributedSetupError when
        CUDA is asked for but missing, or there are fewer GPUs here than processes."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        from workbench.training.parent_death import stop_with_parent

        stop_with_parent()  # a launcher killed with SIGKILL must not leave its workers training
        if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
            backend = "gloo"
        else:
            if not torch.cuda.is_available():
                raise DistributedSetupError(
                    f"train.device = {device!r} under torchrun, but CUDA is not available; use --device cpu"
                )
            if local >= torch.cuda.device_count():
                raise DistributedSetupError(
                    f"process {local} on this machine has no GPU: {torch.cuda.device_count()} GPU(s) for "
                    "--nproc_per_node processes; start at most one process per GPU"
                )
            torch.cuda.set_device(local)
            backend = "nccl"
        if not dist.is_initialized():
            dist.init_process_group(backend, timeout=collective_timeout())
        return cls(rank, world, local, backend)

    def device_name(self, configured: str) -> str:
        """The device this process trains on: ``cuda:LOCAL_RANK`` under NCCL, else ``configured``."""
        return f"cuda:{self.local_rank}" if self.backend == "nccl" else configured

    # ------------------------------------------------------------------ the data
    def check_batch(self, batch_size: int, configured: int | None = None) -> None:
        """DistributedSetupError when ``batch_size`` does not split evenly over the processes;
        it names both ways out (a resume keeps its batch size: only the process count can move).
        ``configured`` is ``train.batch_size`` where the batch was cut to the training set's size."""
        if self.enabled and batch_size % self.world_size:
            counts = [n for n in range(1, min(batch_size, 64) + 1) if batch_size % n == 0]
            what = (
                f"batches of {batch_size} (train.batch_size = {configured}, cut to the {batch_size} training "
                "images) do"
                if configured is not None and configured != batch_size
                else f"train.batch_size = {batch_size} does"
            )
            raise DistributedSetupError(
                f"{what} not split evenly over {self.world_size} processes; "
                f"use a batch size that is a multiple of {self.world_size}, or a number of processes that "
                f"divides {batch_size} ({', '.join(map(str, counts))}; a resume keeps its batch size)"
            )

    def shard(self, indices: list[int]) -> list[int]:
        """This process's slice of one global batch of sample indices."""
        if not self.enabled:
            return indices
        per = len(indices) // self.world_size
        return indices[self.rank * per : (self.rank + 1) * per]

    # ------------------------------------------------------------------ agreement
    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """Element-wise sum over the processes (float64)."""
        if not self.enabled:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every process when any process says True (a stop, the time limit)."""
        if not self.enabled:
            return flag
        return self.sum([1.0 if flag else 0.0], device)[0] > 0

    def broadcast(self, values: list[float], device: torch.device) -> list[float]:
        """Rank 0's ``values`` on every process (the others pass placeholders of the same length)."""
        if not self.enabled:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.broadcast(tensor, 0)
        return tensor.tolist()

    def broadcast_object(self, value: Any) -> Any:
        """Rank 0's picklable ``value`` on every process (the run directory's path)."""
        if not self.enabled:
            return value
        box = [value]
        dist.broadcast_object_list(box, 0)
        return box[0]

    def gather_object(self, value: Any) -> list[Any] | None:
        """Every process's picklable ``value`` in rank order on rank 0, None on the others
        (``[value]`` when alone)."""
        if not self.enabled:
            return [value]
        out: list[Any] | None = [None] * self.world_size if self.is_main else None
        dist.gather_object(value, out, dst=0)
        return out

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``model`` in DistributedDataParallel (BatchNorm synchronised on CUDA); itself when alone."""
        if not self.enabled:
            return model
        if device.type == "cuda":
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        ids = [device.index] if device.type == "cuda" else None
        # A task whose labels no process has in a batch (partial labels) leaves its head out of
        # that step's graph; DDP must then look for unused parameters instead of waiting for them.
        warnings.filterwarnings("ignore", message=".*find_unused_parameters=True was specified.*")
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def check_weighting(method: str) -> None:
    """DistributedSetupError for a weighting that does not work across processes: the
    scalarizers that are not linear in the losses or keep state from them (geometric mean,
    STCH, IMTL-L, FAMO). The loss-based ``SUPPORTED_WEIGHTINGS``, every gradient method and
    GradNorm pass (they sum the processes' per-task gradients: ``GradientGroup``)."""
    from workbench.weighting.gradient_methods import GRADIENT_METHODS

    supported = (*SUPPORTED_WEIGHTINGS, *GRADIENT_METHODS, "gradnorm")
    if method not in supported:
        raise DistributedSetupError(
            f"weighting.method = {method!r} is not supported under torchrun: its gradients (or its "
            "state) would differ between the processes' slices of the batch. Use a gradient method or "
            f"one of {', '.join(SUPPORTED_WEIGHTINGS)}, or train in one process"
        )


def needs_task_gradients(weighting: Any) -> bool:
    """Whether a weighting combines per-task gradients (then the network is not wrapped in
    DDP: ``GradientGroup`` reduces its Jacobian instead)."""
    return getattr(weighting, "needs", "losses") != "losses"


@dataclass
class GradientGroup:
    """How a gradient method sees the other processes of a ``torchrun`` job in one step.

    ``shares[t]`` is this process's share n_r,t / N_t of task t's labelled samples in the
    global batch (0 where its slice labels none): scaling the slice's mean loss of task t
    by it and summing the gradients over the processes gives the gradient of the global
    batch's mean loss. ``sum_`` and ``agree_`` work in place on every process at once (each
    is a collective: every process must call them in the same order)."""

    dist: Distributed
    shares: dict[str, float]

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum over the processes, in place (all-reduce)."""
        dist.all_reduce(tensor)
        return tensor

    def agree_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Rank 0's values on every process, in place (broadcast)."""
        dist.broadcast(tensor, 0)
        return tensor

    def sum_grads(self, params: list[torch.nn.Parameter]) -> None:
        """Sum the ``.grad`` of ``params`` over the processes in one all-reduce; a parameter
        without a gradient here (its task unlabelled in this slice) counts as zeros."""
        params = [p for p in params if p.requires_grad]
        if not params:
            return
        flat = torch.cat(
            [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params]
        )
        self.sum_(flat)
        offset = 0
        for p in params:
            p.grad = flat[offset : offset + p.numel()].view_as(p).clone()
            offset += p.numel()


def task_shares(tasks: list[str], local: dict[str, int], global_: dict[str, int]) -> dict[str, float]:
    """n_r,t / N_t per task: this process's labelled samples over the global batch's (0 when
    no process has one)."""
    return {t: (local.get(t, 0) / global_[t]) if global_.get(t) else 0.0 for t in tasks}


def broadcast_parameters(model: torch.nn.Module, dist_ctx: Distributed) -> None:
    """Rank 0's parameters and buffers on every process (DDP does this when it wraps; the
    gradient methods' unwrapped network needs it done by hand)."""
    if not dist_ctx.enabled:
        return
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            dist.broadcast(tensor.data, 0)


def broadcast_buffers(model: torch.nn.Module, dist_ctx: Distributed) -> None:
    """Rank 0's buffers (BatchNorm running statistics) on every process, so that every
    slice of a validation is evaluated with the model rank 0 saves: on the CPU each process
    updates them from its own slice of the batch."""
    if not dist_ctx.enabled:
        return
    with torch.no_grad():
        for tensor in model.buffers():
            dist.broadcast(tensor.data, 0)


def average_gradients(params: list[torch.nn.Parameter], dist_ctx: Distributed) -> None:
    """Average the ``.grad`` of ``params`` over the processes (those outside the wrapped
    network: a learned weighting's parameters). One all-reduce of the flattened gradients."""
    if not dist_ctx.enabled:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist_ctx.world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()
