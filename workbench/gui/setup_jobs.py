"""Background work of the setup panel: parameter counts and sample previews.

``LatestJob`` runs one function at a time in a QThread; a request made while one runs
replaces any request still waiting, so dragging a slider builds only what is needed.
The job functions import torch lazily and are only called after the core has loaded.

Parameter counts come from building the real ``MultiTaskNet`` for the configuration on
PyTorch's "meta" device: the same modules and shapes as on the CPU, but no memory is
allocated and no random numbers are drawn (so a preview never disturbs the seeded
initialisation of a run starting at the same time), and ResNet-50 builds in ~0.1 s
instead of seconds. One build also gives the size of every stage and head, from which
the counts at the other sharing depths follow exactly; those are cached too.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

_LIVE: set[QThread] = set()  # threads still running, kept alive even if their owner is gone


def _wait_all() -> None:
    for thread in list(_LIVE):
        thread.wait(30000)
    _LIVE.clear()


atexit.register(_wait_all)


class _FnThread(QThread):
    def __init__(self, key: Any, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.key = key
        self.fn = fn
        self.result: Any = None
        self.error: str = ""

    def run(self) -> None:
        try:
            self.result = self.fn()
        except Exception as exc:  # reported to the panel, never raised in the thread
            self.error = job_error(exc)


def job_error(exc: BaseException) -> str:
    """One line for a failed background read: our own errors speak for themselves (they
    name their file), an OS error is its file and reason, anything else keeps its type."""
    if type(exc).__module__.startswith("workbench.") and str(exc):
        return str(exc)  # ConfigError, DataSourceError, ImageError, CheckpointError, RunFileError...
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return f"{where}: {exc.strerror}" if where else exc.strerror
    return f"{type(exc).__name__}: {exc}"


class LatestJob(QObject):
    """Run ``fn()`` off the GUI thread; only the newest waiting request survives."""

    done = Signal(object, object)  # key, result
    failed = Signal(object, str)  # key, message
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: _FnThread | None = None
        self._pending: tuple[Any, Callable[[], Any]] | None = None
        self.destroyed.connect(_forget_pending)

    def submit(self, key: Any, fn: Callable[[], Any]) -> None:
        self._pending = (key, fn)
        if self._thread is None:
            self._start_next()

    def running_key(self) -> Any:
        return self._thread.key if self._thread is not None else None

    def busy(self) -> bool:
        return self._thread is not None or self._pending is not None

    def _start_next(self) -> None:
        if self._pending is None:
            self.busyChanged.emit(False)
            return
        key, fn = self._pending
        self._pending = None
        thread = _FnThread(key, fn)
        _LIVE.add(thread)
        thread.finished.connect(self._on_finished)
        self._thread = thread
        self.busyChanged.emit(True)
        thread.start()

    def _on_finished(self) -> None:
        thread = self._thread
        if thread is None:
            return
        thread.wait()  # "finished" comes from the thread just before it ends
        self._thread = None
        _LIVE.discard(thread)
        if thread.error:
            self.failed.emit(thread.key, thread.error)
        else:
            self.done.emit(thread.key, thread.result)
        self._start_next()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the running job (not the waiting one) has finished; for shutdown."""
        self._pending = None
        thread = self._thread
        return True if thread is None else thread.wait(timeout_ms)


def _forget_pending() -> None:
    # Threads whose owner was deleted finish on their own; drop the ones already done.
    for thread in list(_LIVE):
        if thread.isFinished():
            thread.wait()
            _LIVE.discard(thread)


# ----------------------------------------------------------------------- job functions


def count_key(backbone: str, depth: int, tasks: list[tuple[str, dict[str, Any]]], num_classes: int) -> tuple:
    """Cache key: the parameter counts depend on these only (not on task names)."""
    frozen = tuple((kind, tuple(sorted((k, repr(v)) for k, v in options.items()))) for kind, options in tasks)
    return (backbone, int(depth), frozen, int(num_classes))


def compute_counts(
    backbone: str, depth: int, tasks: list[tuple[str, dict[str, Any]]], num_classes: int, image_size: int
) -> dict[str, Any]:
    """Build the MultiTaskNet on the meta device; counts at ``depth`` and per-stage sizes.

    Returns ``{"depth", "shared", "per_task" (list, task order), "total", "independent",
    "backbone", "channels", "strides", "stage_params", "head_params", "num_stages"}``.
    """
    import torch

    from workbench.config import TaskConfig
    from workbench.data.base import DataInfo
    from workbench.models.meta_lock import META_LOCK
    from workbench.models.multitask import MultiTaskNet, count_params
    from workbench.tasks import build_task

    names = tuple(f"class{i}" for i in range(num_classes))
    info = DataInfo(image_size=image_size, num_classes=num_classes, class_names=names)
    kinds = [
        build_task(TaskConfig(f"t{i}", kind, 1.0, dict(opts)), info) for i, (kind, opts) in enumerate(tasks)
    ]
    with META_LOCK, torch.device("meta"):  # never beside a training step (see meta_lock)
        net = MultiTaskNet(backbone, kinds, depth)
    real = net.param_counts()
    first = net.task_names[0]
    stage_params = [count_params(s) for s in net.shared] + [count_params(s) for s in net.branches[first]]
    head_params = [count_params(net.heads[n]) for n in net.task_names]
    counts = counts_at(stage_params, head_params, net.sharing_depth)
    # the derived numbers must be the real ones at the depth that was built
    assert counts["shared"] == real["shared"] and counts["total"] == real["total"], (counts, real)
    assert counts["independent"] == real["independent"], (counts, real)
    counts.update(channels=list(net.channels), strides=list(net.strides))
    return counts


def counts_at(stage_params: list[int], head_params: list[int], depth: int) -> dict[str, Any]:
    """Parameter counts at sharing ``depth`` from the size of each stage and head."""
    shared = sum(stage_params[:depth])
    branch = sum(stage_params[depth:])
    per_task = [branch + h for h in head_params]
    return {
        "depth": depth,
        "num_stages": len(stage_params),
        "shared": shared,
        "per_task": per_task,
        "total": shared + sum(per_task),
        "independent": len(head_params) * sum(stage_params) + sum(head_params),
        "backbone": sum(stage_params),
        "stage_params": list(stage_params),
        "head_params": list(head_params),
    }


def make_previews(source: Any, input_size: int = 0, count: int = 4) -> list[dict[str, Any]]:
    """The first ``count`` validation samples of a source config (``DataConfig`` or
    ``SourceConfig``): numpy image, boxes, labels, mask (None when unlabelled)."""
    from workbench.data import build_dataset

    data = build_dataset(source, "val", input_size)
    out = []
    for i in range(min(count, len(data))):
        s = data.sample(i)
        out.append(
            {
                "image": s["image"],
                "boxes": s.get("boxes", np.zeros((0, 4), np.float32)),
                "labels": s.get("labels", np.zeros((0,), np.int64)),
                "mask": s.get("mask"),
                "class_names": data.info.class_names,
                "scene_class": s.get("scene_class"),
            }
        )
    return out


def preflight_problem(cfg: Any, train_size: int, num_classes: int, size: int) -> tuple[str, str] | None:
    """What ``workbench.training.preflight`` (the CLI's check before a run folder exists)
    refuses in ``cfg`` as (field path, message), or None: a model that cannot train these
    batches at this image size (BatchNorm on one value per channel). Runs the forward pass
    on the meta device, in a job thread."""
    from workbench.config import ConfigError
    from workbench.data.base import DataInfo
    from workbench.training.preflight import preflight

    names = tuple(f"class{i}" for i in range(num_classes))
    info = DataInfo(image_size=size, num_classes=num_classes, class_names=names)
    try:
        preflight(cfg, train_size, {t.name: info for t in cfg.tasks})
    except ConfigError as exc:
        return (exc.path, exc.message)
    except Exception as exc:  # an extension that cannot be built: the run would refuse it too
        from workbench.training.trainer import describe_error

        return ("", describe_error(exc))
    return None
