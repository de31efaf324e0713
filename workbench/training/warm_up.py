"""First uses of PyTorch's lazily initialised machinery, made in one thread before others start.

Parts of PyTorch initialise on first use (the meta device's function mode and
decompositions, kernels and their dispatcher entries, the autograd engine, torchvision's box
operators). Some of these initialisers call back into Python while holding a C++ lock; two
threads reaching one for the first time together can each wait for what the other holds,
the GIL included, and the process hangs for good. The app runs its training, parameter
counts, previews and prediction inspector in separate threads, so it calls ``warm_up``
once while the core loads, before any of them can start; the test suite does the same at
session start.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import torch


def warm_up() -> float:
    """Build, run and differentiate a tiny multi-task network of every task kind once:
    on the meta device (under ``META_LOCK``), then on the CPU in training mode (forward,
    backward) and in eval mode (forward, decode). Returns the seconds taken (about 0.5 s on
    two cores). Raises nothing: a failure here is left for the real use to report."""
    started = time.perf_counter()
    with contextlib.suppress(Exception):  # a warm-up only; the real use reports its own errors
        exercise()
    return time.perf_counter() - started


def exercise() -> list[str]:
    """The body of ``warm_up``; raises what fails. Returns the task kinds it ran."""
    from workbench.config import TaskConfig
    from workbench.data.base import DataInfo
    from workbench.models.meta_lock import META_LOCK
    from workbench.models.multitask import MultiTaskNet
    from workbench.tasks import TASK_KINDS, build_task

    torch.cuda.is_available()
    info = DataInfo(image_size=32, num_classes=2, class_names=("a", "b"))
    tasks = [
        build_task(TaskConfig(f"t{i}", kind, 1.0, {}), info) for i, kind in enumerate(TASK_KINDS.names())
    ]
    with META_LOCK, torch.device("meta"):
        MultiTaskNet("small_cnn", tasks, 2)
    net = MultiTaskNet("small_cnn", tasks, 2).to(memory_format=torch.channels_last)
    images = torch.rand(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    out = net(images)
    loss = sum(value.float().mean() for value in _tensors(out))
    loss.backward()
    net.eval()
    with torch.no_grad():
        out = net(images)
        for task in tasks:
            task.decode(out[task.name])
    return [task.kind for task in tasks]


def _tensors(value: Any):
    """Every tensor in a task head's output (a tensor, or dicts and lists of them)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
