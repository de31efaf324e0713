"""The training loop: plain Python, no Qt. Emits typed events; polls a stop/pause handle.

Resuming is exact on CPU: the checkpoint holds the model, optimiser, weighting state, the
torch RNG state and the position (epoch, step) and the epoch's running loss sums; each
epoch's sample order comes from its own seeded generator, and the data is a function of
its index, so a resumed run sees the same batches in the same order.

What is on disk always agrees: at the end of an epoch the epoch's log line, its samples
and ``best.pt`` are written before ``last.pt`` (the commit point) and the summary after
it; a resume first drops whatever lies beyond its checkpoint (log lines, samples, temp
files). Nothing non-finite is ever saved: a NaN or infinite loss or metric, in training
or in validation, stops the run before anything of that epoch is written.

A resume is checked before anything is written: the checkpoint's structure, that its
tensors fit the model, and that ``config.toml`` changed only in fields a resume allows
(``resume_check.RESUMABLE_CHANGES``). A refused resume leaves the run as it was.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import enum
import logging
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.config import ConfigError, ExperimentConfig, to_dict
from workbench.data.base import collate, move_targets
from workbench.data.read_stop import ReadStopped, stop_reading_when
from workbench.fsutil import SaveFailed, os_reason
from workbench.models.meta_lock import META_LOCK
from workbench.shell_command import workbench_command
from workbench.tasks.task_errors import (
    WeightingError,
    check_loss,
    check_weights,
    in_task,
    in_weighting,
    task_context,
)
from workbench.training.checkpoint import (
    CheckpointError,
    check_fits,
    check_optimizer,
    check_position,
    load_checkpoint,
    matching_tensors,
    save_checkpoint,
)
from workbench.training.conflict import ConflictSample, ConflictTally, conflict_from_gramian
from workbench.training.control import RunControl
from workbench.training.device import Precision, describe_device, resolve_device
from workbench.training.distributed import (
    Distributed,
    GradientGroup,
    average_gradients,
    broadcast_buffers,
    broadcast_parameters,
    check_weighting,
    needs_task_gradients,
    task_shares,
)
from workbench.training.evaluation import (
    Accumulated,
    Validation,
    accumulate,
    machine_load,
    measure_latency,
    needed_targets,
)
from workbench.training.events import (
    EpochEnded,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SamplesReady,
    StepEnded,
)
from workbench.training.experiment import build_experiment, build_optimizer, learning_rate
from workbench.training.metric_shards import shard_range
from workbench.training.metrics_revision import METRICS_REVISION, resume_note, run_revision
from workbench.training.preflight import preflight
from workbench.training.resume_check import RESUMABLE_CHANGES, describe, split_changes
from workbench.training.run_lock import RunLock
from workbench.training.run_split import SPLIT_FILE
from workbench.training.run_split import keep as keep_split
from workbench.training.run_state import Position, TrainingState
from workbench.training.run_store import RunStore, event_to_record
from workbench.training.step_rate import StepRate
from workbench.training.task_affinity import lookahead_affinity
from workbench.weighting.base import BackwardContext
from workbench.weighting.gradient_weighting import NonFiniteGradients
from workbench.weighting.shared_jacobian import shared_jacobian

log = logging.getLogger(__name__)

Subscriber = Callable[[Any], None]


class NonFiniteLoss(RuntimeError):
    """A loss or metric became NaN or infinite; the message names the task and where."""


class ResumeRefused(RuntimeError):
    """A resume cannot go on (changed config, nothing left to train); nothing was written."""


# PyTorch's own thread count, before a run sets one (train.threads = 0 keeps it). A changed
# count splits sums otherwise: the loss differed from step 1 by 6e-7, and metrics by up to
# 0.135 after 12 steps.
_DEFAULT_THREADS = torch.get_num_threads()


def _effective_threads(value: Any) -> Any:
    return _DEFAULT_THREADS if value in (0, None) else value


class StopReason(str, enum.Enum):
    USER = "stopped by user"
    TIME_LIMIT = "time limit reached"
    EARLY = "early stopping"


@dataclass
class _Loop:
    """What one run's loop works with, built by ``Trainer._prepare``."""

    exp: Any
    model: torch.nn.Module
    weighting: Any
    optimizer: torch.optim.Optimizer
    precision: Precision
    batch_size: int
    steps_per_epoch: int
    epochs: int
    target_keys: frozenset[str]
    train_model: torch.nn.Module | None = None  # the model, or its DistributedDataParallel wrapper
    state: TrainingState = field(default_factory=TrainingState)
    position: Position = field(default_factory=Position)
    started: float = 0.0  # perf_counter at training second 0 (across resumes)
    epoch_started: float = 0.0
    rate: StepRate = field(default_factory=StepRate)  # images/s and the ETA
    fetch_started: float = 0.0  # when the step in progress asked for its batch
    problems_said: int = -1  # data problems said so far (-1: count them when training starts)
    # the gradient seam's parts (the modules do not change during a run)
    shared_modules: list[torch.nn.Module] = field(default_factory=list)
    shared_params: list[torch.nn.Parameter] = field(default_factory=list)
    task_params: dict[str, list[torch.nn.Parameter]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        model = self.model
        if self.train_model is None:
            self.train_model = model
        self.shared_modules = list(getattr(model, "shared", []))
        self.shared_params = model.shared_parameters()
        self.task_params = {
            name: [*model.branches[name].parameters(), *model.heads[name].parameters()]
            for name in model.task_names
        }

    @property
    def tasks(self) -> list[Any]:
        return self.exp.tasks


def epoch_order(seed: int, epoch: int, size: int) -> torch.Tensor:
    """The sample order of one epoch, independent of any other RNG use."""
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


class _IndexDataset(torch.utils.data.Dataset):
    """Adapter so a DataLoader's workers can call ``sample``."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        return self.dataset.sample(index)


def iter_batches(
    dataset: Any,
    order: torch.Tensor,
    batch_size: int,
    start: int,
    steps: int,
    workers: int,
    keys: frozenset[str] | None = None,
    pin_memory: bool = False,
    shard: Callable[[list[int]], list[int]] | None = None,
):
    """Batches ``start..steps-1`` of an epoch in ``order``. With workers, a DataLoader
    prepares them in background processes; without, they are made in this thread
    (faster on a 2-core CPU, where a worker competes with the compute threads).
    ``pin_memory`` (for a CUDA device) lets the loader's pinning thread put each batch in
    page-locked memory, so the copy to the GPU runs asynchronously; without workers it is
    not done, since pinning in the training thread costs one more copy than it saves.
    ``shard`` picks this process's slice of each global batch (distributed training)."""
    chunks = [order[s * batch_size : (s + 1) * batch_size].tolist() for s in range(start, steps)]
    if shard is not None:
        chunks = [shard(chunk) for chunk in chunks]
    if workers <= 0:
        return (collate([dataset.sample(i) for i in chunk], keys) for chunk in chunks)
    loader = torch.utils.data.DataLoader(
        _IndexDataset(dataset),
        batch_sampler=chunks,
        collate_fn=partial(collate, keys=keys),
        num_workers=workers,
        pin_memory=pin_memory,
    )
    return iter(loader)


def _reports(exp: Any) -> list[Any]:
    """The import reports of the experiment's sets, each once, in order."""
    reports: dict[int, Any] = {}
    for dataset in (exp.train_set, exp.val_set):
        for part in [p for p, _ in getattr(dataset, "parts", [])] or [dataset]:
            report = getattr(getattr(part, "set", None), "report", None)
            if report is not None and hasattr(report, "problems"):
                reports[id(report)] = report
    return list(reports.values())


def data_problems(exp: Any) -> list[Any]:
    """Every problem the experiment's data reported so far (``Problem``s, in order)."""
    return [p for report in _reports(exp) for p in report.problems]


def new_problems_note(new: list[Any], epoch: int, short: bool = False) -> str:
    """One line on problems first met while training epoch ``epoch`` (0-based): a mask
    value of no class was turned into "ignore" with no word in the terminal. ``short``:
    the example's file by its name alone (the status bar cut a long path before it)."""
    if not new:
        return ""
    n, first = len(new), new[0]
    example = str(first)
    if short and hasattr(first, "file"):
        example = str(dataclasses.replace(first, file=Path(first.file).name))
    return (
        f"{'' if short else 'note: '}epoch {epoch + 1} met {n} more problem{'s' if n != 1 else ''} in the data "
        f"as its images were read, e.g. {example}; import_report.txt in the run folder lists them"
    )


def import_problem_note(exp: Any) -> str:
    """One line on what the data's import reported (problems in ``RUN/import_report.txt``),
    "" when nothing: 111 problems of a 3,000-image set were written there without a word."""
    reports = {id(r): r for r in _reports(exp) if r.problems}
    counts: dict[str, int] = {}
    for report in reports.values():
        for action, n in report.by_action().items():
            counts[action] = counts.get(action, 0) + n
    total = sum(counts.values())
    if not total:
        return ""
    actions = ", ".join(f"{n} {action}" for action, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return (
        f"reading the data found {total} problem{'s' if total != 1 else ''} ({actions}) before training; "
        "import_report.txt in the run folder lists them, and any image found broken while training"
    )


def describe_error(exc: BaseException) -> str:
    """One line for a failed run: our own errors speak for themselves, others get their type."""
    from workbench.data.image_io import ImageError
    from workbench.data.source import DataSourceError
    from workbench.fsutil import SaveFailed
    from workbench.models.backbones import WeightsUnavailable
    from workbench.safe_load import LoadError
    from workbench.training.device import DeviceUnavailable
    from workbench.training.distributed import DistributedSetupError
    from workbench.training.run_lock import RunBusy

    if isinstance(exc, ConfigError):
        text = f"config: {exc}"
    elif isinstance(
        exc,
        (
            NonFiniteLoss,
            ResumeRefused,
            SaveFailed,
            LoadError,
            WeightsUnavailable,
            DeviceUnavailable,
            RunBusy,
            DataSourceError,
            ImageError,
            DistributedSetupError,
        ),
    ) or type(exc).__name__ in (
        "SchemaError",
        "RunFileError",
        "SplitFileError",
        "RegistryError",
        "BackboneError",
        "WeightingError",
    ):
        line = _one_line(str(exc), type(exc).__name__)  # our own: whole (it may end in a command to run)
        return f"{task_context(exc)}: {line}" if task_context(exc) else line
    elif isinstance(exc, OSError) and exc.strerror:  # the file and the system's reason, no class name
        where = exc.filename2 if exc.filename2 is not None else exc.filename
        text = f"{where}: {exc.strerror}" if where is not None else exc.strerror
    elif isinstance(exc, MemoryError):
        text = "out of memory" + (f" ({exc})" if str(exc) else "") + "; try smaller sizes or batches"
    elif _peer_gone(exc):
        text = (
            "another process of the torchrun job ended or lost its connection, so this one stopped "
            f"too (the collective said: {_last_words(str(exc))})"
        )
    else:
        text = f"{type(exc).__name__}: {exc}"
    line = _one_line(text, type(exc).__name__)
    if task_context(exc):  # a task kind's loss or metrics: which task, on what output
        line = f"{task_context(exc)}: {line}"
    # too long (a path thousands of characters deep): the middle goes, so the reason at the
    # end stays ("... File name too long")
    return line if len(line) <= 600 else line[:290] + " … " + line[-300:]


def _one_line(text: str, fallback: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else fallback


# What gloo and NCCL raise in the survivors when a process of the job dies mid-collective.
_PEER_GONE = (
    "Connection reset by peer",
    "Connection closed by peer",
    "Broken pipe",
    "NCCL communicator was aborted",
)


def _peer_gone(exc: BaseException) -> bool:
    import torch.distributed as dist

    return (
        isinstance(exc, RuntimeError)
        and dist.is_available()
        and dist.is_initialized()
        and any(marker in str(exc) for marker in _PEER_GONE)
    )


def _last_words(message: str) -> str:
    """The collective's own reason, without the C++ source location in front of it."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    reason = next((m for m in _PEER_GONE if m in first), first)
    return reason[:200]


def load_matching_weights(model: torch.nn.Module, path: Path) -> tuple[int, int]:
    """Copy the tensors of a checkpoint or weights file into ``model`` where name, shape and
    kind match (``--init-from``). Returns (tensors loaded, tensors in the model).

    Raises:
        CheckpointError: unreadable file, or not one tensor fits.
    """
    own = model.state_dict()
    matched = matching_tensors(own, path)
    model.load_state_dict(matched, strict=False)
    return len(matched), len(own)


def normalised_config(data: dict[str, Any]) -> dict[str, Any]:
    """A config dict with every data source's options, task's options and the weighting's
    params filled in with their defaults, so that writing out a default value is not a
    change (and a config from before ``[data.options]`` compares as its upgrade)."""
    from workbench.config import upgrade_legacy
    from workbench.data import DATASETS
    from workbench.tasks import TASK_KINDS
    from workbench.weighting import WEIGHTINGS

    out = copy.deepcopy(data)
    with contextlib.suppress(Exception):
        out = upgrade_legacy(out)  # checkpoints from before [data.options]
    _fill_section_defaults(out)  # a config from before a field existed has the field's default
    data_section = out.get("data")
    if isinstance(data_section, dict):
        data_section.setdefault("path", "")
        data_section.setdefault("sources", [])
        for src in [data_section, *(s for s in data_section["sources"] if isinstance(s, dict))]:
            if src.get("source") in DATASETS:
                with contextlib.suppress(Exception):
                    src["options"] = dataclasses.asdict(
                        DATASETS.get(src["source"]).parse_options(src.get("options") or {})
                    )
    for i, task in enumerate(out.get("tasks") or []):
        if isinstance(task, dict) and task.get("kind") in TASK_KINDS:
            with contextlib.suppress(Exception):
                opts = TASK_KINDS.get(task["kind"]).parse_options(
                    task.get("options") or {}, f"tasks[{i}].options"
                )
                task["options"] = dataclasses.asdict(opts)
    weighting = out.get("weighting")
    if isinstance(weighting, dict) and weighting.get("method") in WEIGHTINGS:
        with contextlib.suppress(Exception):
            params = WEIGHTINGS.get(weighting["method"]).parse_params(
                weighting.get("params") or {}, "weighting.params"
            )
            weighting["params"] = dataclasses.asdict(params)
    return out


def _fill_section_defaults(out: dict[str, Any]) -> None:
    """Give every section of a config dict (``data``, ``model``, ``optim``, ``train``,
    ``weighting`` and each task) the fields it lacks, with their defaults."""
    import typing

    from workbench.config import ExperimentConfig, TaskConfig

    def fill(section: Any, cls: type) -> None:
        if not isinstance(section, dict):
            return
        for f in dataclasses.fields(cls):
            if f.name in section:
                continue
            if f.default is not dataclasses.MISSING:
                section[f.name] = copy.deepcopy(f.default)
            elif f.default_factory is not dataclasses.MISSING:
                value = f.default_factory()
                section[f.name] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value

    for name, cls in typing.get_type_hints(ExperimentConfig).items():
        if dataclasses.is_dataclass(cls):
            fill(out.get(name), cls)
    for task in out.get("tasks") or []:
        fill(task, TaskConfig)


class Trainer:
    """Runs one experiment into one run directory.

    Args:
        config: the experiment.
        store: the run directory (``RunStore.create`` for a new run, ``RunStore(path)`` to resume).
        control: stop/pause handle; a new one if omitted.
        subscribers: callables receiving every event, in order.
        resume: continue from ``store``'s last checkpoint (from the start when the run
            ended before its first checkpoint, with the same ``--init-from`` weights).
        init_from: for a new run, start from the weights of this checkpoint or weights
            file where names and shapes match.
        dist: the ``torchrun`` process group (``training/distributed``); one process if omitted.
        more_time_s: for a resume, train at most this many more seconds (``train.time_limit_s``
            counts all of a run's training, across resumes); 0 lifts the limit.
    """

    def __init__(
        self,
        config: ExperimentConfig,
        store: RunStore,
        control: RunControl | None = None,
        subscribers: list[Subscriber] | None = None,
        resume: bool = False,
        init_from: str | Path | None = None,
        dist: Distributed | None = None,
        more_time_s: float | None = None,
    ) -> None:
        self.config = config
        self.dist = dist or Distributed()
        self.main = self.dist.is_main  # only rank 0 writes the run directory
        self.store = store
        self.control = control or RunControl()
        self.subscribers = list(subscribers or [])
        self.resume = resume
        self.init_from = Path(init_from).resolve() if init_from else None
        self.more_time_s = more_time_s
        self.summary: dict[str, Any] = {}
        self.lock = RunLock(store.path)
        self._wrote = False  # has this run changed anything in its directory yet?
        self._arithmetic_changes: list[str] = []  # resumable settings changed that alter the numbers
        # The state and position of the last checkpoint on disk: what a failed run's
        # summary describes (an epoch whose checkpoint failed to save never happened).
        self._committed: tuple[TrainingState, Position] | None = None

    @classmethod
    def for_run_dir(cls, run_dir: str | Path, **kwargs: Any) -> Trainer:
        store = RunStore(run_dir)
        return cls(store.read_config(), store, resume=True, **kwargs)

    def emit(self, event: Any) -> None:
        """Hand ``event`` to every subscriber (logging of steps and epochs is done by the loop)."""
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:  # a broken listener must not kill training
                log.exception("event subscriber failed on %s", type(event).__name__)

    def _log_and_emit(self, event: StepEnded | EpochEnded) -> None:
        if self.main:
            self.store.append_metrics(event_to_record(event))
        self.emit(event)

    # ------------------------------------------------------------------ entry point
    def run(self) -> dict[str, Any]:
        """Train to the end, a stop, or a failure. Never raises an ``Exception``; returns the
        summary (status "finished", "stopped" or "failed" with a one-line "error"; a resume
        refused before anything was written also has ``"not_started": True``).

        A ``BaseException`` (a second Ctrl-C, SystemExit) marks the run "interrupted" and
        propagates."""
        try:
            return self._run()
        except ReadStopped as exc:
            return self._stopped_before_start(exc)
        except Exception as exc:
            return self._fail(exc)
        except BaseException:
            self._mark_interrupted()
            raise
        finally:
            self.lock.release()
            self.store.close()

    def _fail(self, exc: Exception) -> dict[str, Any]:
        error = describe_error(exc)
        origin = traceback.format_exc()
        summary = {**self.summary, "status": "failed", "error": error}
        if self.main and self._wrote:
            with contextlib.suppress(OSError):  # an epoch that was never committed leaves no best.pt
                self.store.pending_best.unlink(missing_ok=True)
            state, position = self._committed or (None, None)
            try:
                summary = self._write_summary(
                    "failed", state, position, error=error, **self._conflict_so_far()
                )
            except Exception as write_error:  # the folder itself may be gone or full
                log.debug("could not mark the run failed on disk: %s", describe_error(write_error))
        else:
            summary["not_started"] = True
            from workbench.safe_load import LoadError

            summary["refused_by"] = type(exc).__name__
            # a checkpoint that cannot be read, a changed config: trying again does not help
            summary["refusal_lasts"] = isinstance(exc, (LoadError, ResumeRefused)) or type(exc).__name__ in (
                "RunFileError",
                "SchemaError",
            )
        self.summary = summary
        self.emit(RunFailed(error=error, origin=origin, summary=summary))
        return summary

    def _stopped_before_start(self, exc: ReadStopped) -> dict[str, Any]:
        """A stop while the data was read: nothing was written (the run folder is touched
        only after the read), so a new run has nothing to resume and a resumed one is as it
        was. The summary says "stopped" with ``not_started``; the files are not changed."""
        summary = {
            **self.summary,
            "status": "stopped",
            "stop_reason": "user",
            "not_started": True,
            "note": f"{exc}; nothing was saved",
        }
        self.summary = summary
        self.emit(RunStopped(summary=summary, reason="stopped while reading the data; nothing was saved"))
        return summary

    def _conflict_so_far(self) -> dict[str, Any]:
        """A failed run's task conflict up to the failure (the steps since the last saved
        epoch included: a divergence is often preceded by conflicting gradients)."""
        loop = getattr(self, "_live", None)
        if loop is None or not loop.state.conflict:
            return {}
        return {
            "conflict": ConflictTally.from_dict(loop.state.conflict).summary(),
            "conflict_note": "measured up to the failure, including steps after the last saved epoch",
        }

    def _mark_interrupted(self) -> None:
        if not self._wrote or not self.main:
            return
        state, position = self._committed or (None, None)
        try:
            self._write_summary(
                "interrupted",
                state,
                position,
                note="interrupted (a second Ctrl-C or a signal); resume continues from the last checkpoint",
            )
        except Exception as exc:
            log.debug("could not mark the run interrupted: %s", describe_error(exc))

    # ------------------------------------------------------------------ preparation
    def _check_resume_config(self, ckpt: dict[str, Any]) -> list[str]:
        """Allowed changes since the checkpoint as text; ResumeRefused for the others."""
        before = ckpt.get("config")
        if not isinstance(before, dict):
            return []  # a checkpoint from before configs were stored: the model fit is checked
        kept_split = (self.store.path / SPLIT_FILE).is_file()
        allowed, refused = split_changes(
            normalised_config(before), normalised_config(to_dict(self.config)), moved_data=kept_split
        )
        if refused:
            shown = ", ".join(describe(c) for c in refused[:6])
            more = f" and {len(refused) - 6} more" if len(refused) > 6 else ""
            movable = ", the data's paths (the run keeps its images)" if kept_split else ""
            raise ResumeRefused(
                f"cannot resume {self.store.path}: {self.store.config_path.name} changed since the checkpoint in "
                f"{shown}{more}. A resume may change only {', '.join(RESUMABLE_CHANGES)}{movable}. Undo those "
                "changes, or train a new run from these weights: "
                + workbench_command("train", "CONFIG", "--init-from", self.store.last_checkpoint)
            )
        # settings that change how the same numbers are computed: each is exact on its own,
        # but the resumed run no longer matches one trained without the interruption
        self._arithmetic_changes = [c[0] for c in allowed if self._changes_arithmetic(c)]
        return [describe(c) for c in allowed]

    def _changes_arithmetic(self, change: tuple[str, Any, Any]) -> bool:
        """Whether an allowed change alters the values in effect, not only their spelling:
        threads 0 -> 2 where the default is 2, device "cpu" -> "auto" on a CPU machine, or
        amp where it does nothing (off CUDA) change nothing, and were said to."""
        key, before, after = change
        if key == "train.threads":
            return _effective_threads(before) != _effective_threads(after)
        if key == "train.device":
            try:
                return str(resolve_device(self.dist.device_name(str(before)))) != str(self.device)
            except Exception:  # noqa: BLE001 - a device gone since: it did change
                return True
        if key in ("train.amp", "train.amp_dtype"):
            return self.device.type == "cuda"  # autocast runs on CUDA only
        return False

    def _apply_time_limit(self, elapsed: float) -> None:
        """``more_time_s`` as the new limit; ResumeRefused when the run's limit is spent
        (a resume would train one step and stop again)."""
        limit = self.config.train
        if self.more_time_s is not None:
            limit.time_limit_s = elapsed + self.more_time_s if self.more_time_s > 0 else 0.0
        if limit.time_limit_s and elapsed >= limit.time_limit_s:
            raise ResumeRefused(
                f"{self.store.path} has spent its time limit: {elapsed:.0f} s of training, train.time_limit_s = "
                f"{limit.time_limit_s:g} s in {self.store.config_path} (it counts all of the run's training). "
                f"To train further: {workbench_command('resume', self.store.path, '--time-limit', 'SECONDS')} (that many more; 0 for "
                "no limit), or raise train.time_limit_s there"
            )

    def _keep_resume_options(self, cfg: ExperimentConfig, time_limit: bool) -> None:
        """Write what a resume was given (``--time-limit``'s limit with ``time_limit``,
        ``--device``) into config.toml: the next plain resume of a run lifted to no limit
        (0) was refused as out of time, one resumed on cpu went back to "auto" (cuda where
        there is one) and logged it as a change, and the compare view showed the old
        values."""
        try:
            saved = self.store.read_config()
        except Exception:  # noqa: BLE001 - read a moment ago; unreadable now: leave it
            return
        changed = False
        if time_limit and saved.train.time_limit_s != cfg.train.time_limit_s:
            saved.train.time_limit_s = cfg.train.time_limit_s
            changed = True
        if saved.train.device != cfg.train.device:
            saved.train.device = cfg.train.device
            changed = True
        if changed:
            self.store.write_config(saved)

    def _check_epochs_left(self, position: dict[str, int], status: str) -> None:
        """ResumeRefused when nothing is left to train. A run whose checkpoint holds every
        epoch but whose summary never said "finished" (killed while it measured its latency
        or wrote its summary) is let through: the resume only finishes it."""
        epochs = self.config.train.epochs
        done, step = position["epoch"], position["step"]
        if done == epochs and step == 0 and status != "finished":
            return
        if done > epochs or (done == epochs and step > 0):
            raise ResumeRefused(
                f"{self.store.path} has trained {done} epochs{f' and {step} steps' if step else ''}, more than "
                f"train.epochs = {epochs} in {self.store.config_path}; raise it to at least {done + 1} to train further"
            )
        if done == epochs:
            raise ResumeRefused(
                f"{self.store.path} has trained all {done} epochs of train.epochs = {epochs}; "
                f"raise train.epochs in {self.store.config_path} to train further"
            )

    def _schedule_jump(self, ckpt: dict[str, Any], steps_per_epoch: int) -> str | None:
        """What a changed train.epochs does to a cosine schedule, which spans the run's
        epochs: it is laid out again over the new total, and the learning rate jumps (a
        finished 3-epoch run given 5: 0.0003 at its last step, 0.0045 at the next)."""
        before = ckpt.get("config")
        cfg = self.config
        if not isinstance(before, dict) or cfg.optim.schedule != "cosine":
            return None
        old_epochs = (before.get("train") or {}).get("epochs")
        if not isinstance(old_epochs, int) or old_epochs == cfg.train.epochs:
            return None
        step = int(ckpt["position"]["global_step"])
        if step == 0:
            return None
        old_cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=old_epochs))
        last = learning_rate(old_cfg, step - 1, steps_per_epoch)
        next_ = learning_rate(cfg, step, steps_per_epoch)
        return (
            f"train.epochs {old_epochs} -> {cfg.train.epochs}: the cosine schedule is laid out again over "
            f"{cfg.train.epochs} epochs, so the learning rate goes from {last:.3g} (step {step}) to "
            f"{next_:.3g} (step {step + 1})"
        )

    def _check_not_stopped_early(self, ckpt: dict[str, Any], status: str) -> None:
        """ResumeRefused for a run that finished by early stopping and would stop again at
        once (it exited 0 and said nothing): raising train.patience continues it."""
        cfg = self.config.train
        bad = int(ckpt["state"]["bad_epochs"])
        if (
            status == "finished"
            and cfg.early_stopping_metric
            and bad >= cfg.patience
            and ckpt["position"]["step"] == 0
        ):
            raise ResumeRefused(
                f"{self.store.path} stopped early: no better {cfg.early_stopping_metric} for {bad} "
                f"epoch{'s' if bad != 1 else ''} (train.patience = {cfg.patience}); raise train.patience in "
                f"{self.store.config_path} to train further"
            )

    # ------------------------------------------------------------------ the loop
    def _write_import_report(self, exp: Any) -> None:
        """The data's import report (what ``workbench data check`` prints) into the run folder."""
        lines: list[str] = []
        reports = [
            (split, d, getattr(d, "report_lines", None))
            for split, d in (("train", exp.train_set), ("val", exp.val_set))
        ]
        if reports[0][2] and reports[0][2] == reports[1][2]:  # one set, split in two: one report
            reports = [(f"train {len(exp.train_set)} + val {len(exp.val_set)}", None, reports[0][2])]
        for split, dataset, report in reports:
            if report:
                count = f" ({len(dataset)} images)" if dataset is not None else " images"
                lines += [f"# {split}{count}", *report, ""]
        if lines:
            from workbench.fsutil import atomic_write_text

            atomic_write_text(self.store.path / "import_report.txt", "\n".join(lines))

    def _run(self) -> dict[str, Any]:
        loop = self._live = self._prepare()
        stop: StopReason | None = None
        epoch = loop.position.epoch
        if self._early_stop_reached(loop) and loop.position.step == 0:
            return self._finish(loop, StopReason.EARLY)  # a run killed after early stopping chose to stop
        while epoch < loop.epochs:
            stop = self._train_epoch(loop, epoch)
            loop.state.elapsed = time.perf_counter() - loop.started
            if stop is not None and loop.position.step < loop.steps_per_epoch:
                # Mid-epoch (a stop, or the time limit): keep the exact position so that a
                # resume continues this epoch where it ended.
                self._checkpoint(loop)
                break
            if not self._end_epoch(loop, epoch):
                # Stopped during validation: the checkpoint sits after this epoch's last
                # step, so a resume validates the epoch again and goes on.
                self._checkpoint(loop)
                stop = StopReason.USER
                break
            if stop is not None:
                break
            if self._early_stop_reached(loop):
                stop = StopReason.EARLY
                break
            epoch += 1
        return self._finish(loop, stop)

    def _refuse_if_data_moved(self) -> None:
        """On a resume whose data cannot be read: ResumeRefused saying what to do when a
        data path is gone (a moved folder: the run finds its images at the new place)."""
        if not self.resume:
            return
        from workbench.training.experiment import run_data_gone

        if (gone := run_data_gone(self.config, self.store.config_path)) is not None:
            raise ResumeRefused(gone)

    def _early_stop_reached(self, loop: _Loop) -> bool:
        cfg = self.config.train
        return bool(cfg.early_stopping_metric) and loop.state.bad_epochs >= cfg.patience

    def _check_log_usable(self) -> None:
        """ResumeRefused (nothing written) when metrics.jsonl is there but not a file the
        resume can read and rewrite: a folder, a link to nothing, unreadable. The run failed
        on it after it had started, its summary marked "failed"."""
        path = self.store.metrics_path
        if path.is_symlink() and not path.exists():
            raise ResumeRefused(
                f"{path} is a link to {os.readlink(path)}, which does not exist; mend or remove it"
            )
        if path.exists() and not path.is_file():
            what = "a folder" if path.is_dir() else "not a regular file"
            raise ResumeRefused(f"{path} is {what}, not the run's log; move it away to resume")
        try:
            with open(path, "rb"):
                pass
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ResumeRefused(f"{path} cannot be read: {os_reason(exc)}") from None

    def _refuse_restart_over_history(self) -> None:
        """A resume without ``last.pt`` starts again from epoch 1, which is right for a run
        killed before its first checkpoint and wrong for one whose ``last.pt`` was lost
        later: the restart would replace its best checkpoint and epoch log. Raises
        ResumeRefused (nothing written) when the run has either."""
        store = self.store
        epochs = sum(1 for r in store.read_metrics() if r.get("type") == "epoch")
        kept = [f"{epochs} epoch(s) logged in {store.metrics_path.name}"] if epochs else []
        if store.best_checkpoint.exists():
            kept.append(f"{store.best_checkpoint.name}")
        if kept:
            advice = (
                f" (--init-from {store.best_checkpoint} starts it from the best weights)"
                if store.best_checkpoint.exists()
                else ""
            )
            raise ResumeRefused(
                f"{store.last_checkpoint} is missing but the run has {' and '.join(kept)}; resuming would "
                f"start again from epoch 1 and replace them. Train a new run instead{advice}"
            )

    # ------------------------------------------------------------------ the loop
    def _prepare(self) -> _Loop:
        """Everything up to the first step: build, check, restore, then (and only then)
        touch the run directory, and announce the run."""
        cfg = self.config
        previous = self.store.read_summary()  # refuses a newer schema before anything is written
        self.summary = dict(previous)
        self.summary.pop("schema_version", None)
        # Δm compared the final metrics of then; training on changes them (`baselines` again)
        self.summary.pop("delta_m", None)
        self.summary.pop("delta_m_note", None)
        if self.main:
            self.lock.acquire()
        # 0 is PyTorch's own count, set again: the app's training process keeps the count
        # of its previous run otherwise (threads = 1, then 0, trained the second on one)
        torch.set_num_threads(_effective_threads(cfg.train.threads))
        self.device = resolve_device(self.dist.device_name(cfg.train.device))
        has_checkpoint = self.resume and self.store.last_checkpoint.exists()
        # A checkpoint holds every weight: a resume never reloads the pretrained file.
        # a resume trains and validates on the images the run started with (run_split); so
        # does a new run whose folder was given another run's split (a single-task baseline)
        split_file = self.store.path / SPLIT_FILE
        if not self.resume and not split_file.is_file():
            split_file = None
        # Stop is honoured between two images of the read (it waited for the whole set);
        # under torchrun every process must read to the end, or the others would wait for
        # it at the first collective
        stoppable = (
            contextlib.nullcontext()
            if self.dist.enabled
            else stop_reading_when(lambda: self.control.stop_requested)
        )
        try:
            with stoppable:
                exp = build_experiment(cfg, pretrained=not has_checkpoint, split_file=split_file)
        except ReadStopped:
            raise
        except Exception:
            self._refuse_if_data_moved()
            raise
        self.exp = exp
        preflight(cfg, len(exp.train_set), exp.task_infos, processes=self.dist.world_size)
        model = exp.model
        weighting = exp.weighting
        n_train = len(exp.train_set)
        batch_size = min(cfg.train.batch_size, n_train)
        steps_per_epoch = max(1, n_train // batch_size)
        if self.dist.enabled:
            check_weighting(cfg.weighting.method)
            self.dist.check_batch(batch_size, cfg.train.batch_size)
        task_names = [t.name for t in exp.tasks]

        ckpt = None
        changes: list[str] = []
        notes: list[str] = list(exp.split_notes)
        if batch_size < cfg.train.batch_size:  # one step an epoch on every image, not none
            notes.append(
                f"train.batch_size = {cfg.train.batch_size} is more than the {n_train} training images: "
                f"each step takes all {n_train}, one step an epoch"
            )
        total_steps = cfg.train.epochs * steps_per_epoch
        if cfg.optim.warmup_steps > total_steps:  # the rate the user chose is never reached
            top = learning_rate(cfg, total_steps - 1, steps_per_epoch)
            notes.append(
                f"optim.warmup_steps = {cfg.optim.warmup_steps} is more than the run's {total_steps} steps: "
                f"the learning rate rises to {top:.3g} and never reaches optim.lr = {cfg.optim.lr:g}"
                + (", and the cosine decay never starts" if cfg.optim.schedule == "cosine" else "")
            )
        init_from = self.init_from
        if has_checkpoint:
            path = self.store.last_checkpoint
            ckpt = load_checkpoint(path, "last")
            self._apply_time_limit(float(ckpt["state"]["elapsed"]))
            changes = self._check_resume_config(ckpt)
            check_fits(model, ckpt["model"], path)
            check_fits(weighting, ckpt["weighting"], path, "loss weighting")
            check_position(path, ckpt, task_names, steps_per_epoch)
            self._check_epochs_left(ckpt["position"], previous.get("status", ""))
            self._check_not_stopped_early(ckpt, previous.get("status", ""))
            self._check_log_usable()
            if (jump := self._schedule_jump(ckpt, steps_per_epoch)) is not None:
                notes.append(jump)
            if self._arithmetic_changes:
                notes.append(
                    f"{', '.join(self._arithmetic_changes)} changed: from here on the arithmetic runs in "
                    "another order or precision, so the run's numbers differ slightly from one trained "
                    "without the interruption (a resume with them unchanged continues it exactly)"
                )
        elif self.resume:
            self._refuse_restart_over_history()
            self._apply_time_limit(0.0)  # `resume --time-limit` holds for a restart too
            self._check_log_usable()
            # nothing holds the config it started with: the restart is a new start with this one
            notes.append(
                "restarted from the beginning: the run ended before its first checkpoint; it trains "
                f"with {self.store.config_path} as it is now"
            )
            if previous.get("init_from"):  # the restart starts from the same weights
                init_from = Path(previous["init_from"])
        if init_from is not None and ckpt is None:
            loaded, total = load_matching_weights(model, init_from)
            notes.append(f"initialised {loaded} of {total} tensors from {init_from}")

        model = model.to(self.device)
        if cfg.model.channels_last:
            model = model.to(memory_format=torch.channels_last)
        weighting = weighting.to(self.device)
        optimizer = build_optimizer(cfg, model, weighting)
        precision = Precision(self.device, cfg.train.amp, cfg.train.amp_dtype)
        self.precision_name = precision.name
        if cfg.train.amp and cfg.train.amp_dtype != "auto" and not precision.enabled:
            # the default (amp = true, auto) is meant for whatever device; an explicit dtype is a request
            notes.append(
                f"train.amp_dtype = {cfg.train.amp_dtype!r} is not used on {self.device.type}: mixed precision "
                "is autocast on CUDA only; this run trains in float32"
            )
        self.params = model.param_counts()
        loop = _Loop(
            exp=exp,
            model=model,
            weighting=weighting,
            optimizer=optimizer,
            precision=precision,
            batch_size=batch_size,
            steps_per_epoch=steps_per_epoch,
            epochs=cfg.train.epochs,
            target_keys=needed_targets(exp.tasks),
        )
        if ckpt is not None:
            self._restore(loop, ckpt)
        if self.dist.enabled:
            per = batch_size // self.dist.world_size
            if needs_task_gradients(weighting):  # the Jacobian is reduced instead of .grad (GradientGroup)
                broadcast_parameters(model, self.dist)
                notes.append(
                    f"data-parallel over {self.dist.world_size} processes ({self.dist.backend}), {per} images "
                    f"each per step; {cfg.weighting.method} combines the per-task gradients summed over them"
                )
            else:
                loop.train_model = self.dist.wrap(model, self.device)
                notes.append(
                    f"data-parallel over {self.dist.world_size} processes ({self.dist.backend}), "
                    f"{per} images each per step; task conflict is not measured"
                )
        attach = self._backward_context(loop)
        if self.dist.enabled and needs_task_gradients(weighting):
            attach.group = GradientGroup(self.dist, {})
            if getattr(weighting, "uses_gramian", False):
                notes.append(
                    "path = gramian is not taken under torchrun: the Jacobian path sums across processes"
                )
        if self.dist.enabled and cfg.weighting.lookahead_affinity:
            notes.append("lookahead task affinity is not measured under torchrun")
        elif cfg.weighting.lookahead_affinity and not loop.shared_params:
            notes.append("lookahead task affinity is not measured at sharing depth 0: no layer is shared")
        elif cfg.weighting.lookahead_affinity and len(cfg.tasks) < 2:
            notes.append("lookahead task affinity is not measured: it needs two tasks or more")
        weighting.attach(attach)
        needs = getattr(weighting, "needs", "losses")
        if needs != "losses" and not loop.shared_params:
            notes.append(
                f"{cfg.weighting.method} combines gradients of shared parameters, and at sharing depth 0 "
                "there are none: the task losses are summed"
            )
        elif needs == "shared_param_grads" and len(cfg.tasks) == 1:
            notes.append(
                f"{cfg.weighting.method} combines the gradients of several tasks, and this experiment has "
                "one: its gradient is used as it is"
            )
        loaded = getattr(exp.model, "weights_loaded", None)
        if cfg.model.pretrained == "file" and loaded is not None and loaded[0] < loaded[1]:
            # a file of another backbone loads where names and shapes happen to match: say how much
            notes.append(
                f"model.weights_file: {loaded[0]} of the {loaded[1]} tensors of {cfg.model.backbone} "
                f"matched {cfg.model.weights_file} by name and shape and were loaded; the others keep "
                "their random initial values"
            )
        if cfg.model.weights_file and cfg.model.pretrained != "file":  # a path left in a form
            notes.append(
                f"model.weights_file is set but model.pretrained = {cfg.model.pretrained!r}: "
                f"{cfg.model.weights_file} is not loaded"
            )

        # From here on the run directory changes (rank 0's alone).
        self._wrote = True
        self._committed = (copy.deepcopy(loop.state), copy.deepcopy(loop.position))
        if self.main:
            self.store.remove_temp_files()
            if self.resume:
                self._keep_resume_options(cfg, time_limit=self.more_time_s is not None)
            if ckpt is not None:
                self._repair(loop.state, loop.position)
            elif self.resume:  # start over in the same folder
                self.store.truncate_metrics_after(0, 0)
                self.store.remove_samples_from(0)
                self.store.best_checkpoint.unlink(missing_ok=True)
                self.store.pending_best.unlink(missing_ok=True)
            else:
                self.store.write_config(cfg)
            if self.store.kept_damaged_log is not None:  # a resume and a restart alike
                notes.append(
                    f"{self.store.damaged_lines} line(s) of {self.store.metrics_path} could not be read "
                    f"and are not in the resumed log; the log as it was is kept as {self.store.kept_damaged_log}"
                )
            if not (self.store.path / SPLIT_FILE).exists():  # a new run (or one from before runs kept it)
                keep_split(self.store.path, exp.train_set, exp.val_set)
            self._write_import_report(exp)
            if ckpt is None and (problems := import_problem_note(exp)):
                notes.append(problems)  # said as the run starts: the file alone went unread
            for dataset in (exp.train_set, exp.val_set):
                if hasattr(dataset, "attach_run_dir"):
                    dataset.attach_run_dir(self.store.path)

        self.monitor = self._monitor_metric()
        loop.problems_said = len(data_problems(exp))  # said as the run starts; later ones per epoch
        sizes = {"train": len(exp.train_set), "val": len(exp.val_set)}
        before = previous.get("data_sizes")
        if ckpt is not None and isinstance(before, dict) and before != sizes:
            # the files changed since the run started (the checkpoint still fits the model)
            notes.append(
                "the data changed since the run started: "
                + ", ".join(
                    f"{k} {before.get(k)} -> {v} images" for k, v in sizes.items() if before.get(k) != v
                )
            )
        # every resume's changes, in order (a second resume's list replaced the first's)
        before_changes = [c for c in previous.get("config_changes") or [] if isinstance(c, str)]
        extra: dict[str, Any] = {"config_changes": [*before_changes, *changes]} if changes else {}
        extra["data_sizes"] = sizes
        # what each task learned: the compare view tells runs of one config on changed data apart
        extra["task_classes"] = {name: list(info.class_names) for name, info in exp.task_infos.items()}
        if init_from is not None and ckpt is None:
            extra["init_from"] = str(init_from)
        if ckpt is not None:
            notes += self._process_count_note(previous, ckpt)
        extra["metrics_revision"] = METRICS_REVISION
        if ckpt is not None and (change := self._revision_change(previous)) is not None:
            notes.append(resume_note(change["from"], change["epoch"] - 1))
            extra["revision_changes"] = [*(previous.get("revision_changes") or []), change]
        if notes:  # a note said again by a later resume (the data-parallel one) is kept once
            extra["notes"] = list(dict.fromkeys([*(previous.get("notes") or []), *notes]))
        self.summary = self._write_summary(
            "running", loop.state, loop.position, params=self.params, note="", **extra
        )
        self.emit(
            RunStarted(
                run_dir=str(self.store.path),
                config=to_dict(cfg),
                params=self.params,
                device=describe_device(self.device),
                task_names=tuple(task_names),
                steps_per_epoch=steps_per_epoch,
                epochs=loop.epochs,
                start_epoch=loop.position.epoch,
                start_step=loop.position.global_step,
                changes=tuple(changes),
                note="; ".join(notes),
            )
        )
        loop.started = time.perf_counter() - loop.state.elapsed
        return loop

    def _process_count_note(self, previous: dict[str, Any], ckpt: dict[str, Any]) -> list[str]:
        """A resume on another number of processes: from where on (the notes of the run's
        first part, "task conflict is not measured" under torchrun, hold for that part only)."""
        before = previous.get("processes", 1)
        before = before if isinstance(before, int) and before > 0 else 1
        now = self.dist.world_size
        if before == now:
            return []
        position = ckpt.get("position") or {}
        where = f"epoch {int(position.get('epoch', 0)) + 1}"
        if position.get("step"):
            where += f", step {int(position['step']) + 1}"
        count = "1 process" if now == 1 else f"{now} processes"
        earlier = "1 process" if before == 1 else f"{before} processes"
        return [
            f"resumed from {where} on {count}; it trained on {earlier} before (its notes on that part hold for it)"
        ]

    def _restore(self, loop: _Loop, ckpt: dict[str, Any]) -> None:
        """Weights, optimiser, scaler, generators and position from a checkpoint."""
        path = self.store.last_checkpoint
        loop.model.load_state_dict(ckpt["model"])
        loop.weighting.load_state_dict(ckpt["weighting"])
        try:
            loop.optimizer.load_state_dict(ckpt["optimizer"])
            check_optimizer(loop.optimizer, path)
            if loop.precision.scaler and ckpt.get("scaler"):
                loop.precision.scaler.load_state_dict(ckpt["scaler"])
            torch.set_rng_state(ckpt["rng"]["torch"])
            if self.device.type == "cuda" and ckpt["rng"].get("cuda") is not None:
                torch.cuda.set_rng_state(ckpt["rng"]["cuda"], self.device)
        except CheckpointError:
            raise
        except (ValueError, KeyError, TypeError, RuntimeError, IndexError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckpointError(
                f"{path}: the optimiser or generator state does not fit ({reason})"
            ) from None
        loop.position = Position.from_dict(ckpt["position"])
        loop.state = TrainingState.from_dict(ckpt["state"], [t.name for t in loop.tasks], loop.batch_size)

    def _train_epoch(self, loop: _Loop, epoch: int) -> StopReason | None:
        """The training steps of ``epoch`` from where the position is; the reason when the
        epoch's steps were cut short (a stop, the time limit), else None."""
        cfg = self.config
        loop.epoch_started = time.perf_counter()
        order = epoch_order(cfg.train.seed, epoch, len(loop.exp.train_set))
        if hasattr(loop.exp.train_set, "set_epoch"):  # per-epoch augmentation draws
            loop.exp.train_set.set_epoch(epoch, cfg.train.seed)
        loop.train_model.train()
        # the position is at this epoch: its start, or a step within it after a resume
        if loop.position.step == 0:
            loop.state.start_epoch([t.name for t in loop.tasks])
        batches = iter_batches(
            loop.exp.train_set,
            order,
            loop.batch_size,
            loop.position.step,
            loop.steps_per_epoch,
            cfg.train.workers,
            loop.target_keys,
            pin_memory=self.device.type == "cuda",
            shard=self.dist.shard if self.dist.enabled else None,
        )
        while loop.position.step < loop.steps_per_epoch:
            self.lock.beat()
            if self.control.paused and not self.dist.enabled:
                self._pause(loop)
            if self.dist.any(self.control.stop_requested, self.device):  # every process stops here
                return StopReason.USER
            loop.fetch_started = time.perf_counter()  # the batch's loading is part of the step
            batch = next(batches)
            with META_LOCK:  # no meta-device build in another thread during a step (see meta_lock)
                self._train_step(loop, epoch, batch)
            late = (
                bool(cfg.train.time_limit_s) and time.perf_counter() - loop.started >= cfg.train.time_limit_s
            )
            if self.dist.any(late, self.device):
                return StopReason.TIME_LIMIT
        return None

    def _train_step(self, loop: _Loop, epoch: int, batch: tuple[torch.Tensor, dict[str, Any]]) -> None:
        """One optimiser step on ``batch``; logs and emits ``StepEnded``."""
        cfg = self.config
        tasks = loop.tasks
        t0 = time.perf_counter()
        images, targets = batch
        problems = targets.pop("problems", None)
        if problems and hasattr(loop.exp.train_set, "note_problems"):
            loop.exp.train_set.note_problems(problems)
        images = images.to(self.device, non_blocking=True)
        targets = move_targets(targets, self.device)
        position = loop.position
        lr = learning_rate(cfg, position.global_step, loop.steps_per_epoch)
        for group in loop.optimizer.param_groups:
            group["lr"] = lr
        # TAG's lookahead passes draw the same dropout masks as this forward pass
        draws = self._generator_states() if self._lookahead_due(position.global_step) else None
        with loop.precision.autocast():
            outputs = loop.train_model(images)
            scored = {}
            for t in tasks:
                with in_task(t, outputs.get(t.name), "loss"):
                    scored[t.name] = t.masked_loss(outputs[t.name], targets)
                    check_loss(*scored[t.name])
        losses = {name: loss for name, (loss, _) in scored.items()}
        labelled = local = {name: count for name, (_, count) in scored.items()}
        values = torch.stack([losses[t.name].detach().float() for t in tasks]).cpu().tolist()
        if self.dist.enabled:  # the global batch's means and counts, the same on every process
            values, labelled = self._global_losses(tasks, values, labelled)
        # partial labels: weighting and the epoch means see the tasks labelled in this batch
        present = {name for name, count in labelled.items() if count > 0}
        for t, v in zip(tasks, values, strict=True):
            if not np.isfinite(v):
                raise NonFiniteLoss(
                    f"task {t.name!r} loss became {v} at epoch {epoch + 1}, step {position.step + 1}; "
                    f"the run stopped{self._kept_clause()}"
                )
        loop.optimizer.zero_grad(set_to_none=True)
        conflict = None
        if present:
            ctx = self._backward_context(loop)
            if self.dist.enabled and needs_task_gradients(loop.weighting):
                ctx.group = GradientGroup(self.dist, task_shares([t.name for t in tasks], local, labelled))
            measure = self._measures_conflict(loop, position.global_step, present)
            lookahead = measure and cfg.weighting.lookahead_affinity and not self.dist.enabled
            before = jacobian = None
            if lookahead:  # TAG needs the per-task gradients themselves, not only their Gramian
                jacobian, names = self._task_jacobian(loop, ctx, losses, present)
                before = (jacobian.double() @ jacobian.double().T, names)
            elif measure and not getattr(loop.weighting, "will_compute_gramian", lambda: False)():
                before = self._conflict_gramian(loop, ctx, losses, present)
            try:
                with in_weighting(cfg.weighting.method):
                    total, weights = loop.weighting.backward(
                        losses, ctx, None if len(present) == len(tasks) else present
                    )
                    weights = check_weights(
                        weights, [t.name for t in tasks if t.name in present], [t.name for t in tasks]
                    )
            except NonFiniteGradients as exc:  # where, and which loss ran away
                sizes = ", ".join(f"{t.name} {v:.3g}" for t, v in zip(tasks, values, strict=True))
                raise NonFiniteLoss(
                    f"{exc} at epoch {epoch + 1}, step {position.step + 1} (losses: {sizes}); "
                    f"the run stopped{self._kept_clause()}"
                ) from exc
            if self.dist.enabled:  # each process's total is its own slice's
                total = self._global_objective(loop, total, weights, tasks, values)
            self._check_objective(epoch, position.step, total, weights, tasks, values)
            if not getattr(self, "_gradients_checked", False):  # once: a backward that left none
                self._check_gradients(loop)
                self._gradients_checked = True
            average_gradients(list(loop.weighting.parameters()), self.dist)
            regulariser = float(loop.weighting.last_regulariser)
            affinity = None
            if jacobian is not None:  # after the backward: the graph no longer needs the weights
                affinity = self._lookahead(loop, images, targets, losses, jacobian, before[1], lr, draws)
            if measure:
                conflict = self._record_conflict(loop, before, affinity)
        else:  # no task labelled in this batch: nothing to learn from
            loop.weighting.skip_step()
            total, weights, regulariser = 0.0, {t.name: 0.0 for t in tasks}, 0.0
        precision = loop.precision
        norm = None
        if cfg.optim.grad_clip > 0:
            if precision.scaler:
                precision.scaler.unscale_(loop.optimizer)
            norm = torch.nn.utils.clip_grad_norm_(loop.model.parameters(), cfg.optim.grad_clip)
        if present and not precision.scaler:  # (a scaler skips a non-finite step on its own)
            self._check_gradient_values(loop, epoch, position.step, norm, tasks, values)
        if not present:
            pass
        elif precision.scaler:
            precision.scaler.step(loop.optimizer)
            precision.scaler.update()
        else:
            loop.optimizer.step()
        if present and getattr(loop.weighting, "wants_losses_after_step", False):
            # FAMO: the losses on the same batch after the update (one forward, no gradients)
            with torch.no_grad(), loop.precision.autocast():
                after = loop.model(images)
                loop.weighting.after_step({t.name: t.masked_loss(after[t.name], targets)[0] for t in tasks})
        # a task no image of the batch labels has no loss on this step: None (null in the
        # log, a gap in the curve), not the 0 its masked mean gives (the curves dipped to 0)
        step_losses = {t.name: (v if t.name in present else None) for t, v in zip(tasks, values, strict=True)}
        logged_weights = {name: (w if name in present else None) for name, w in weights.items()}  # likewise
        loop.state.add_step(step_losses, labelled)
        position.global_step += 1
        position.step += 1
        loop.rate.add(time.perf_counter() - min(t0, loop.fetch_started or t0))
        remaining = loop.epochs * loop.steps_per_epoch - position.global_step
        self._log_and_emit(
            StepEnded(
                epoch=epoch,
                step=position.step - 1,
                global_step=position.global_step,
                steps_per_epoch=loop.steps_per_epoch,
                losses=step_losses,
                weights=logged_weights,
                total_loss=total,
                lr=lr,
                images_per_s=loop.rate.images_per_s(len(images) * self.dist.world_size),
                eta_s=remaining * loop.rate.seconds_per_step,
                weighted_loss=total - regulariser,
                regulariser=regulariser,
                elapsed_s=time.perf_counter() - loop.started,
                conflict=conflict.as_dict() if conflict else None,
            )
        )

    def _check_gradients(self, loop: _Loop) -> None:
        """After the first backward: some parameter must have a gradient (a weighting's
        ``backward`` that computed none trained nothing and the run "finished")."""
        if not any(p.grad is not None for p in loop.model.parameters()):
            raise WeightingError(
                f"weighting {self.config.weighting.method!r}: its backward left no gradient on any "
                "parameter; it must call backward on the objective (see Weighting.backward)"
            )

    def _check_gradient_values(
        self,
        loop: _Loop,
        epoch: int,
        step: int,
        norm: torch.Tensor | None,
        tasks: list[Any],
        values: list[float],
    ) -> None:
        """Stop before the optimiser step when the gradients hold NaN or inf from finite losses
        (a weighting's backward that wrote NaN, a backward that overflowed): the update ruined
        the weights and was reported one step later as a task's loss. One fused norm over the
        gradients (about 0.3 % of a ResNet-18 step on this CPU); with clipping on, its norm."""
        if norm is None:
            grads = [p.grad for p in loop.model.parameters() if p.grad is not None]
            if not grads:
                return
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        if bool(torch.isfinite(norm)):
            return
        method = self.config.weighting.method
        sizes = ", ".join(f"{t.name} {v:.3g}" for t, v in zip(tasks, values, strict=True))
        raise NonFiniteLoss(
            f"the gradients became non-finite at epoch {epoch + 1}, step {step + 1} from finite losses "
            f"({sizes}) with weighting {method!r}; nothing was updated; the run stopped{self._kept_clause()}"
        )

    def _check_objective(
        self,
        epoch: int,
        step: int,
        total: float,
        weights: dict[str, float],
        tasks: list[Any],
        values: list[float],
    ) -> None:
        """Stop before the optimiser step when the weighting made the objective non-finite
        from finite losses (a NaN weight of a new method): one NaN update ruined the weights
        and was then reported as the next step's task loss."""
        bad = {name: w for name, w in weights.items() if not np.isfinite(float(w))}
        if not bad and np.isfinite(float(total)):
            return
        method = self.config.weighting.method
        sizes = ", ".join(f"{t.name} {v:.3g}" for t, v in zip(tasks, values, strict=True))
        what = (
            "a non-finite weight for " + ", ".join(f"task {name!r} ({w})" for name, w in bad.items())
            if bad
            else f"a non-finite objective ({total})"
        )
        raise NonFiniteLoss(
            f"weighting {method!r} gave {what} at epoch {epoch + 1}, step {step + 1} from finite losses "
            f"({sizes}); nothing was updated; the run stopped{self._kept_clause()}"
        )

    def _global_objective(
        self, loop: _Loop, total: Any, weights: dict[str, float], tasks: list[Any], values: list[float]
    ) -> float:
        """The step's objective over the global batch (the same on every process).

        A gradient method combines the gradients of the global batch's losses (``values``):
        its objective is the weighted sum of those. Under DistributedDataParallel a loss
        weighting's gradient is the mean over the processes of each one's own objective's:
        the objective optimised is that mean (with the same labelled share in every slice,
        also the weighted sum of the global losses plus the regulariser)."""
        if needs_task_gradients(loop.weighting):
            regulariser = float(loop.weighting.last_regulariser)
            return regulariser + sum(
                float(weights[t.name]) * v for t, v in zip(tasks, values, strict=True) if t.name in weights
            )
        return self.dist.sum([float(total)], self.device)[0] / self.dist.world_size

    def _global_losses(
        self, tasks: list[Any], values: list[float], labelled: dict[str, int]
    ) -> tuple[list[float], dict[str, int]]:
        """Each task's mean loss over the labelled samples of the whole global batch, and
        their number, from every process's means and counts (one all-reduce)."""
        counts = [float(labelled[t.name]) for t in tasks]
        sums = self.dist.sum([v * n for v, n in zip(values, counts, strict=True)] + counts, self.device)
        n = len(tasks)
        means = [sums[i] / sums[n + i] if sums[n + i] > 0 else 0.0 for i in range(n)]
        return means, {t.name: int(sums[n + i]) for i, t in enumerate(tasks)}

    def _measures_conflict(self, loop: _Loop, global_step: int, present: set[str]) -> bool:
        """Every ``weighting.conflict_every`` steps, when two or more tasks share parameters."""
        if self.dist.enabled and not (
            needs_task_gradients(loop.weighting)
            and getattr(loop.weighting, "will_compute_gramian", lambda: False)()
        ):  # only the gradient methods' own Gramian is the global batch's
            return False
        every = self.config.weighting.conflict_every
        return bool(every) and global_step % every == 0 and len(present) >= 2 and bool(loop.shared_params)

    def _task_jacobian(
        self, loop: _Loop, ctx: BackwardContext, losses: dict[str, torch.Tensor], present: set[str]
    ) -> tuple[torch.Tensor, list[str]]:
        """The present tasks' gradients on the shared parameters (T x P, unscaled), before
        the method's backward (the graph is kept for it)."""
        names = [t.name for t in loop.tasks if t.name in present]
        J = shared_jacobian([ctx.scale(losses[n]) for n in names], loop.shared_params)
        return J / ctx.loss_scale, names

    def _conflict_gramian(
        self, loop: _Loop, ctx: BackwardContext, losses: dict[str, torch.Tensor], present: set[str]
    ) -> tuple[torch.Tensor, list[str]]:
        """The Gramian of the present tasks' gradients on the shared parameters."""
        J, names = self._task_jacobian(loop, ctx, losses, present)
        J = J.double()
        return J @ J.T, names

    def _lookahead(
        self,
        loop: _Loop,
        images: torch.Tensor,
        targets: dict[str, Any],
        losses: dict[str, torch.Tensor],
        jacobian: torch.Tensor,
        names: list[str],
        lr: float,
        draws: tuple[torch.Tensor, torch.Tensor | None] | None,
    ) -> tuple[tuple[float, ...], ...] | None:
        """TAG's lookahead affinity on this batch (``task_affinity``), η = the step's rate.
        ``draws``: the generators' states before this step's forward pass, so that each
        lookahead pass draws the same dropout masks and Z measures the step alone."""
        if not torch.isfinite(jacobian).all():
            return None
        tasks = {t.name: t for t in loop.tasks}

        def losses_after() -> list[float]:
            if draws is not None:
                torch.set_rng_state(draws[0])
                if draws[1] is not None:
                    torch.cuda.set_rng_state(draws[1], self.device)
            with loop.precision.autocast():
                out = loop.model(images)
                return [float(tasks[n].masked_loss(out[n], targets)[0]) for n in names]

        base = [float(losses[n].detach()) for n in names]
        return lookahead_affinity(loop.model, loop.shared_params, jacobian, lr, losses_after, base)

    def _lookahead_due(self, global_step: int) -> bool:
        """Whether this step may measure lookahead affinity (before its forward pass)."""
        w = self.config.weighting
        return bool(w.lookahead_affinity and w.conflict_every and global_step % w.conflict_every == 0)

    def _generator_states(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        cuda = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        return torch.get_rng_state(), cuda

    def _record_conflict(
        self,
        loop: _Loop,
        before: tuple[torch.Tensor, list[str]] | None,
        affinity: tuple[tuple[float, ...], ...] | None = None,
    ) -> ConflictSample | None:
        if before is None:  # the gradient method computed it in its backward
            gramian = getattr(loop.weighting, "last_gramian", None)
            if gramian is None:
                return None
            before = (gramian, list(loop.weighting.last_gramian_names))
        sample = conflict_from_gramian(*before)
        if sample is not None and affinity is not None:
            sample = dataclasses.replace(sample, affinity=affinity)
        if sample is not None:
            tally = ConflictTally.from_dict(loop.state.conflict)
            tally.add(sample)
            loop.state.conflict = tally.as_dict()
        return sample

    def _backward_context(self, loop: _Loop) -> BackwardContext:
        """What a weighting may need from this step: the loss scaling, the shared modules
        and parameters, and each task's own parameters (its head and unshared stages)."""
        scaler = loop.precision.scaler
        return BackwardContext(
            scale=loop.precision.scale,
            loss_scale=float(scaler.get_scale()) if scaler else 1.0,
            shared_params=loop.shared_params,
            shared_modules=loop.shared_modules,
            task_params=loop.task_params,
        )

    def _end_epoch(self, loop: _Loop, epoch: int) -> bool:
        """Validate ``epoch``, then save it (see ``_save_epoch``) and announce it; False when
        a stop came during validation (nothing of the epoch is saved).

        In a distributed run every process validates a slice of the set with rank 0's
        buffers; rank 0 merges the slices, saves, and sends the others its verdict: go on,
        stopped (any process's stop during validation stops all), or failed (they fail too,
        a process's own validation error included), and the epochs without improvement."""
        if not self.dist.enabled:
            return self._validate_and_save(loop, epoch, self._validate(loop, epoch))
        broadcast_buffers(loop.model, self.dist)
        mine: Accumulated | None = None
        error = ""
        try:
            mine = self._validate_slice(loop, epoch)
            payload: Any = None if mine is None or self.main else mine.export()
        except Exception as exc:
            payload, error = {"error": describe_error(exc)}, describe_error(exc)
            if self.main:
                self.dist.gather_object(payload)
                self.dist.broadcast([0.0, 0.0, 1.0], self.device)
                raise
        parts = self.dist.gather_object({"stopped": mine is None} if payload is None else payload)
        verdict = [1.0, float(loop.state.bad_epochs), 0.0]  # validated, bad epochs, failed
        if self.main:
            try:
                validation = self._merge_slices(mine, parts or [])
                verdict = [
                    float(self._validate_and_save(loop, epoch, validation)),
                    float(loop.state.bad_epochs),
                    0.0,
                ]
            except Exception:
                self.dist.broadcast([0.0, 0.0, 1.0], self.device)
                raise
        validated, bad_epochs, failed = self.dist.broadcast(verdict, self.device)
        if failed:
            if error:
                raise RuntimeError(f"validation failed in process {self.dist.rank}: {error}")
            raise RuntimeError(
                f"rank 0 failed at the end of epoch {epoch + 1}; its error is in {self.store.summary_path}"
            )
        if not self.main and validated:
            loop.weighting.epoch_end(loop.state.train_losses())
            loop.state.bad_epochs = int(bad_epochs)
            loop.position.epoch, loop.position.step = epoch + 1, 0
        return bool(validated)

    def _validate_slice(self, loop: _Loop, epoch: int) -> Accumulated | None:
        """This process's slice of the validation pass (the whole set when alone; the sample
        predictions on rank 0 only). None when a stop came during it."""
        return accumulate(
            loop.model,
            loop.tasks,
            loop.exp.val_set,
            loop.batch_size,
            self.device,
            loop.precision,
            self.config.train.num_samples if self.main else 0,
            epoch,
            should_stop=lambda: self.control.stop_requested,
            tick=self.lock.beat,
            indices=shard_range(len(loop.exp.val_set), self.dist.rank, self.dist.world_size),
        )

    def _merge_slices(self, mine: Accumulated | None, parts: list[Any]) -> Validation | None:
        """Rank 0: its own slice plus the others' in rank order; None when any stopped.
        Raises RuntimeError naming the process whose validation failed."""
        for rank, part in enumerate(parts):
            if isinstance(part, dict) and "error" in part:
                raise RuntimeError(f"validation failed in process {rank}: {part['error']}")
        if mine is None or any(isinstance(p, dict) and p.get("stopped") for p in parts):
            return None
        for part in parts[1:]:
            mine.merge(part)
        return mine.result()

    def _validate(self, loop: _Loop, epoch: int) -> Validation | None:
        part = self._validate_slice(loop, epoch)
        return None if part is None else part.result()

    def _validate_and_save(self, loop: _Loop, epoch: int, validation: Validation | None) -> bool:
        loop.state.elapsed = time.perf_counter() - loop.started
        if validation is None:
            return False
        self.store.check_log_present()
        self._check_finite(validation, epoch, loop.state.train_losses())
        train_losses = loop.state.train_losses()
        loop.weighting.epoch_end(train_losses)
        is_best = self._update_best(validation.metrics, epoch, loop.state)
        loop.position.epoch, loop.position.step = epoch + 1, 0
        state = loop.state
        epoch_event = EpochEnded(
            epoch=epoch,
            global_step=loop.position.global_step,
            train_losses=train_losses,
            val_losses=validation.losses,
            val_metrics=validation.metrics,
            is_best=is_best,
            seconds=time.perf_counter() - loop.epoch_started,
            elapsed_s=state.elapsed,
            best_epoch=state.best_epoch,
            labelled={
                t.name: {
                    "train": int(state.epoch_samples[t.name]),
                    "val": int(validation.counts.get(t.name, 0)),
                }
                for t in loop.tasks
            },
        )
        unlabelled = [t.name for t in loop.tasks if not validation.counts.get(t.name)]
        if unlabelled:  # in the run's notes once (the CLI and app say it as the epoch ends)
            from workbench.training.outcome import unlabelled_note

            note = unlabelled_note(unlabelled)
            notes = list(self.summary.get("notes") or [])
            if note not in notes:
                self.summary["notes"] = [*notes, note]
        self._write_import_report(loop.exp)  # images found broken while training are added
        problems = data_problems(loop.exp)
        if len(problems) > loop.problems_said:
            new = problems[loop.problems_said :]
            epoch_event = dataclasses.replace(
                epoch_event,
                data_note=new_problems_note(new, epoch),
                data_problems=len(new),
                data_note_short=new_problems_note(new, epoch, short=True),
            )
            loop.problems_said = len(problems)
        self._save_epoch(epoch_event, validation.samples, loop)
        self.emit(epoch_event)
        if validation.samples is not None:
            self.emit(validation.samples)
        return True

    def _finish(self, loop: _Loop, stop: StopReason | None) -> dict[str, Any]:
        cfg = self.config
        position, state = loop.position, loop.state
        if not self.main:  # rank 0 measures, writes and reports the end
            status = (
                "stopped"
                if stop is StopReason.USER or (stop is StopReason.TIME_LIMIT and position.epoch < loop.epochs)
                else "finished"
            )
            self.summary = {**self.summary, "status": status, "rank": self.dist.rank}
            return self.summary
        if stop is StopReason.USER:
            self.summary = self._write_summary(
                "stopped", state, position, note=stop.value, stop_reason="user"
            )
            self.emit(RunStopped(summary=self.summary, reason=stop.value))
            return self.summary
        if stop is StopReason.TIME_LIMIT and position.epoch < loop.epochs:
            # the run's budget: a sweep or a baseline takes its last validated epoch as its
            # result (workbench.training.outcome); on its own, a resume given more time continues it
            reason = (
                f"time limit reached ({cfg.train.time_limit_s:g} s of training); resume with --time-limit "
                "SECONDS continues it"
            )
            latency = measure_latency(loop.model, loop.exp.val_set, self.device, loop.precision)
            self.summary = self._write_summary(
                "stopped",
                state,
                position,
                note=reason,
                stop_reason="time_limit",
                latency_ms=latency,
                latency_load=machine_load(),
            )
            self.emit(RunStopped(summary=self.summary, reason=reason))
            return self.summary
        note_text = ""
        if stop is StopReason.EARLY:
            patience = cfg.train.patience
            note_text = (
                f"early stopping: no better {self.monitor} for {patience} epoch{'s' if patience != 1 else ''}"
            )
        elif stop is StopReason.TIME_LIMIT:
            note_text = stop.value
        latency = measure_latency(loop.model, loop.exp.val_set, self.device, loop.precision)
        self.summary = self._write_summary(
            "finished", state, position, note=note_text, latency_ms=latency, latency_load=machine_load()
        )
        self.emit(RunFinished(summary=self.summary))
        return self.summary

    # ------------------------------------------------------------------ helpers
    def _pause(self, loop: _Loop) -> None:
        self._write_summary("paused", loop.state, loop.position)
        self.emit(Paused(loop.position.global_step))
        paused_at = time.perf_counter()
        while not self.control.wait_while_paused(timeout=1.0):
            self.lock.beat()  # the lock stays fresh while paused
        # a pause is no training time: neither the time limit nor the logged elapsed time
        # count it (a run paused for longer than its limit stopped at the next step)
        pause = time.perf_counter() - paused_at
        loop.started += pause
        loop.epoch_started += pause
        if not self.control.stop_requested:
            self._write_summary("running", loop.state, loop.position)
            self.emit(Resumed(loop.position.global_step))

    def _save_epoch(
        self,
        event: EpochEnded,
        samples: SamplesReady | None,
        loop: _Loop,
    ) -> None:
        """The end-of-epoch writes, in the order that keeps the directory consistent.

        Samples and the new best weights (as ``best.next.pt``) first; then ``last.pt``, the
        commit point, which also carries the epoch's log line; then ``best.next.pt`` becomes
        ``best.pt``, the log line is appended and the summary written. A kill or a failed
        write before the commit leaves nothing of the epoch that a resume does not remove;
        after it, a resume finishes the rename and the log line (``_repair``)."""
        record = event_to_record(event)
        if samples is not None:
            self.store.save_samples(samples)
        if event.is_best:
            try:
                save_checkpoint(
                    self.store.pending_best,
                    {
                        "model": loop.model.state_dict(),
                        "epoch": event.epoch,
                        "metrics": event.val_metrics,
                        "config": to_dict(self.config),
                    },
                    "best",
                )
            except SaveFailed as exc:  # named as the user knows it: best.pt, not its staging file
                raise SaveFailed(self.store.best_checkpoint, exc.reason) from exc
        loop.state.epoch_record = record
        self._checkpoint(loop)  # the commit point
        self._committed = (copy.deepcopy(loop.state), copy.deepcopy(loop.position))
        if event.is_best:
            self.store.promote_pending_best()
        self.store.append_metrics(record)
        self.summary = self._write_summary("running", loop.state, loop.position)

    def _repair(self, state: TrainingState, position: Position) -> None:
        """Make the directory agree with the checkpoint a resume starts from: drop log lines,
        samples and a pending best beyond it; finish what its commit left undone."""
        self.store.truncate_metrics_after(position.global_step, position.epoch)
        self.store.remove_samples_from(position.epoch)
        pending = self.store.pending_best
        if pending.exists():
            try:
                epoch = load_checkpoint(pending, "best").get("epoch")
            except CheckpointError:
                epoch = None
            if epoch == state.best_epoch and isinstance(epoch, int) and epoch < position.epoch:
                self.store.promote_pending_best()  # committed, not yet renamed
            else:
                pending.unlink(missing_ok=True)  # an epoch that never committed
        record = state.epoch_record
        if isinstance(record, dict) and position.step == 0 and record.get("epoch") == position.epoch - 1:
            logged = {r["epoch"] for r in self.store.read_metrics() if r["type"] == "epoch"}
            if record["epoch"] not in logged:
                self.store.append_metrics(record)

    def _kept_clause(self) -> str:
        if self.store.last_checkpoint.exists():
            return f" and its last checkpoint ({self.store.last_checkpoint}) is kept"
        return "; no checkpoint had been written yet"

    # an epoch's mean training loss above this is a model that diverged, not one that learns
    DIVERGED_LOSS = 1e6

    def _check_finite(
        self, validation: Validation, epoch: int, train_losses: dict[str, float] | None = None
    ) -> None:
        """NonFiniteLoss for a NaN/inf validation loss or metric (None = undefined is fine).
        When training losses had already exploded (finite, but above ``DIVERGED_LOSS``) the
        message says so and names the learning rate: at optim.lr = 10 the training losses
        reached 5.5e9 without a NaN, and the run "failed" on one task's validation loss."""
        blown = {
            t: v for t, v in (train_losses or {}).items() if np.isfinite(v) and abs(v) > self.DIVERGED_LOSS
        }
        cause = (
            f"; the training had diverged before it ({', '.join(f'{t} {v:.3g}' for t, v in blown.items())} mean "
            f"training loss this epoch): lower optim.lr (now {self.config.optim.lr:g})"
            if blown
            else ""
        )
        for task, value in validation.losses.items():
            if value is not None and not np.isfinite(value):
                raise NonFiniteLoss(
                    f"task {task!r} validation loss became {value} after epoch {epoch + 1}{cause}; the run stopped "
                    f"before saving that epoch{self._kept_clause()}"
                )
        for task, metrics in validation.metrics.items():
            for name, value in metrics.items():
                if value is not None and not np.isfinite(value):
                    raise NonFiniteLoss(
                        f"task {task!r} validation metric {name} became {value} after epoch {epoch + 1}{cause}; "
                        f"the run stopped before saving that epoch{self._kept_clause()}"
                    )

    def _monitor_metric(self) -> str:
        if self.config.train.early_stopping_metric:
            return self.config.train.early_stopping_metric
        first = self.exp.tasks[0]
        return f"{first.name}/{first.primary_metric}"

    def _update_best(
        self, metrics: dict[str, dict[str, float | None]], epoch: int, state: TrainingState
    ) -> bool:
        """Whether ``epoch`` is the best so far by the monitored metric (see
        ``TrainingState.record_validation``)."""
        task, _, name = self.monitor.partition("/")
        kind = next(t for t in self.exp.tasks if t.name == task)
        return state.record_validation(
            metrics, epoch, metrics[task][name], kind.metric_higher_is_better(name)
        )

    def _checkpoint(self, loop: _Loop) -> None:
        if not self.main:
            return
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        save_checkpoint(
            self.store.last_checkpoint,
            {
                "model": loop.model.state_dict(),
                "optimizer": loop.optimizer.state_dict(),
                "weighting": loop.weighting.state_dict(),
                "scaler": loop.precision.scaler.state_dict() if loop.precision.scaler else None,
                "rng": rng,
                "position": loop.position.as_dict(),
                "state": loop.state.as_dict(),
                "config": to_dict(self.config),
            },
            "last",
        )

    @staticmethod
    def _revision_change(previous: dict[str, Any]) -> dict[str, int] | None:
        """{"epoch": first epoch measured now, "from": the run's revision, "to": today's}
        when a resume continues a run measured by other rules after some epochs; None
        otherwise."""
        before = run_revision(previous)
        done = previous.get("epochs_done")
        if before == METRICS_REVISION or type(done) is not int or done <= 0:
            return None
        return {"epoch": done + 1, "from": before, "to": METRICS_REVISION}

    def _write_summary(
        self,
        status: str,
        state: TrainingState | None = None,
        position: Position | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        exp = getattr(self, "exp", None)
        previous = dict(self.summary)
        previous.pop("schema_version", None)
        summary = {
            **previous,
            "name": self.config.name,
            "created": previous.get("created", time.time()),
            "updated": time.time(),
            "status": status,
            "tasks": [t.name for t in self.config.tasks],
            "task_kinds": {t.name: t.kind for t in self.config.tasks},
        }
        if exp is not None:
            summary["primary_metrics"] = {t.name: t.primary_metric for t in exp.tasks}
            summary["higher_is_better"] = {t.name: t.higher_is_better for t in exp.tasks}
            summary["metric_labels"] = {
                t.name: {m: t.metric_label(m) for m in t.metric_names} for t in exp.tasks
            }
            summary["monitor"] = getattr(self, "monitor", "")
        if hasattr(self, "device"):
            summary["device"] = describe_device(self.device)
            if self.device.type == "cuda":  # the process's peak, in MiB (PyTorch's allocator)
                summary["gpu_peak_mib"] = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        if hasattr(self, "precision_name"):
            summary["precision"] = self.precision_name
        if hasattr(self, "params"):
            summary["params"] = self.params
        if state is not None:
            summary.update(
                best_epoch=state.best_epoch,
                best_metrics=state.best_metrics,
                final_metrics=state.final_metrics,
                elapsed_s=state.elapsed,
            )
            if state.conflict:
                summary["conflict"] = ConflictTally.from_dict(state.conflict).summary()
            if _has_none(state.best_metrics) or _has_none(state.final_metrics):
                summary["null_metrics"] = (
                    "a null metric is undefined on this validation set: no image has the task's label, "
                    "or no class of it occurs"
                )
        if position is not None:
            summary.update(epochs_done=position.epoch, global_step=position.global_step)
        if status != "failed":
            summary.pop("error", None)
            summary.pop("conflict_note", None)
        summary.pop("stop_reason", None)  # only the write that ends the run says why it ended
        summary.update(extra)
        if self.dist.enabled:
            summary["processes"] = self.dist.world_size
        else:
            summary.pop("processes", None)
        if not self.main:  # only rank 0 writes the run directory
            self.summary = summary
            return summary
        self.summary = self.store.write_summary(summary)
        return self.summary


def _has_none(metrics: dict[str, dict[str, float | None]]) -> bool:
    return any(v is None for m in metrics.values() for v in m.values())
