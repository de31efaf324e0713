"""The training loop: plain Python, no Qt. Emits typed events; polls a stop/pause handle.

Resuming is exact on CPU: the checkpoint holds the model, optimiser, weighting state, the
torch RNG state and the position (epoch, step) and the epoch's running loss sums; each
epoch's sample order comes from its own seeded generator, and the data is a function of
its index, so a resumed run sees the same batches in the same order.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.config import ExperimentConfig, to_dict
from workbench.data.base import collate, move_targets
from workbench.fsutil import atomic_write
from workbench.training.control import RunControl
from workbench.training.device import Precision, describe_device, resolve_device
from workbench.training.evaluation import evaluate, measure_latency, needed_targets
from workbench.training.events import (
    EpochEnded,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    StepEnded,
)
from workbench.training.experiment import build_experiment, build_optimizer, learning_rate
from workbench.training.run_store import RunStore, event_to_record
from workbench.weighting.base import BackwardContext

log = logging.getLogger(__name__)

Subscriber = Callable[[Any], None]


class NonFiniteLoss(RuntimeError):
    pass


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
):
    """Batches ``start..steps-1`` of an epoch in ``order``. With workers, a DataLoader
    prepares them in background processes; without, they are made in this thread
    (faster on a 2-core CPU, where a worker competes with the compute threads)."""
    chunks = [order[s * batch_size : (s + 1) * batch_size].tolist() for s in range(start, steps)]
    if workers <= 0:
        return (collate([dataset.sample(i) for i in chunk], keys) for chunk in chunks)
    loader = torch.utils.data.DataLoader(
        _IndexDataset(dataset),
        batch_sampler=chunks,
        collate_fn=partial(collate, keys=keys),
        num_workers=workers,
    )
    return iter(loader)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    atomic_write(path, lambda fh: torch.save(state, fh))


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"no checkpoint at {path}") from None
    except Exception as exc:
        raise RuntimeError(f"checkpoint {path} is unreadable: {exc}") from exc


class Trainer:
    """Runs one experiment into one run directory.

    Args:
        config: the experiment.
        store: the run directory (``RunStore.create`` for a new run, ``RunStore(path)`` to resume).
        control: stop/pause handle; a new one if omitted.
        subscribers: callables receiving every event, in order.
        resume: continue from ``store``'s last checkpoint.
    """

    def __init__(
        self,
        config: ExperimentConfig,
        store: RunStore,
        control: RunControl | None = None,
        subscribers: list[Subscriber] | None = None,
        resume: bool = False,
    ) -> None:
        self.config = config
        self.store = store
        self.control = control or RunControl()
        self.subscribers = list(subscribers or [])
        self.resume = resume
        self.summary: dict[str, Any] = {}

    @classmethod
    def for_run_dir(cls, run_dir: str | Path, **kwargs: Any) -> Trainer:
        store = RunStore(run_dir)
        return cls(store.read_config(), store, resume=True, **kwargs)

    def emit(self, event: Any) -> None:
        if isinstance(event, (StepEnded, EpochEnded)):
            self.store.append_metrics(event_to_record(event))
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:  # a broken listener must not kill training
                log.exception("event subscriber failed on %s", type(event).__name__)

    # ------------------------------------------------------------------ entry point
    def run(self) -> dict[str, Any]:
        """Train to the end, a stop, or a failure. Never raises; returns the summary."""
        try:
            return self._run()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, NonFiniteLoss) else str(exc)
            origin = traceback.format_exc()
            try:
                self.summary = self._write_summary(status="failed", error=error)
            except Exception:
                log.exception("could not write the failed summary")
            self.emit(RunFailed(error=error, origin=origin, summary=self.summary))
            return self.summary
        finally:
            self.store.close()

    # ------------------------------------------------------------------ the loop
    def _run(self) -> dict[str, Any]:
        cfg = self.config
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        self.device = resolve_device(cfg.train.device)
        exp = build_experiment(cfg)
        self.exp = exp
        model = exp.model.to(self.device)
        if cfg.model.channels_last:
            model = model.to(memory_format=torch.channels_last)
        weighting = exp.weighting.to(self.device)
        optimizer = build_optimizer(cfg, model, weighting)
        precision = Precision(self.device, cfg.train.amp)
        self.params = model.param_counts()

        n_train = len(exp.train_set)
        batch_size = min(cfg.train.batch_size, n_train)
        steps_per_epoch = max(1, n_train // batch_size)
        epochs = cfg.train.epochs

        position = {"epoch": 0, "step": 0, "global_step": 0}
        state = {
            "best_value": None,
            "best_epoch": -1,
            "bad_epochs": 0,
            "best_metrics": {},
            "final_metrics": {},
            "epoch_sums": {},
            "epoch_count": 0,
            "elapsed": 0.0,
        }
        if self.resume:
            ckpt = load_checkpoint(self.store.last_checkpoint)
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            weighting.load_state_dict(ckpt["weighting"])
            if precision.scaler and ckpt.get("scaler"):
                precision.scaler.load_state_dict(ckpt["scaler"])
            torch.set_rng_state(ckpt["rng"]["torch"])
            if self.device.type == "cuda" and ckpt["rng"].get("cuda") is not None:
                torch.cuda.set_rng_state(ckpt["rng"]["cuda"], self.device)
            position = dict(ckpt["position"])
            state.update(ckpt["state"])
            self.store.truncate_metrics_after(position["global_step"])
        else:
            self.store.write_config(cfg)

        self.monitor = self._monitor_metric()
        self.summary = self._write_summary(
            status="running", params=self.params, state=state, position=position
        )
        self.emit(
            RunStarted(
                run_dir=str(self.store.path),
                config=to_dict(cfg),
                params=self.params,
                device=describe_device(self.device),
                task_names=tuple(t.name for t in exp.tasks),
                steps_per_epoch=steps_per_epoch,
                epochs=epochs,
                start_epoch=position["epoch"],
                start_step=position["global_step"],
            )
        )

        tasks = exp.tasks
        target_keys = needed_targets(tasks)
        # Built once: the shared parameters do not change during a run.
        backward_ctx = BackwardContext(scale=precision.scale, shared_params=model.shared_parameters())
        started = time.perf_counter() - state["elapsed"]
        rate = 0.0
        step_seconds = 0.0
        stop_reason = ""
        total_steps = epochs * steps_per_epoch
        epoch = position["epoch"]
        while epoch < epochs:
            epoch_started = time.perf_counter()
            order = epoch_order(cfg.train.seed, epoch, n_train)
            model.train()
            step = position["step"] if epoch == position["epoch"] else 0
            if step == 0:
                state["epoch_sums"] = {t.name: 0.0 for t in tasks}
                state["epoch_count"] = 0
            batches = iter_batches(
                exp.train_set, order, batch_size, step, steps_per_epoch, cfg.train.workers, target_keys
            )
            while step < steps_per_epoch:
                if self.control.paused:
                    self._write_summary(status="paused", state=state, position=position)
                    self.emit(Paused(position["global_step"]))
                    self.control.wait_while_paused()
                    if not self.control.stop_requested:
                        self._write_summary(status="running", state=state, position=position)
                        self.emit(Resumed(position["global_step"]))
                if self.control.stop_requested:
                    stop_reason = "stopped by user"
                    break
                t0 = time.perf_counter()
                images, targets = next(batches)
                images = images.to(self.device, non_blocking=True)
                targets = move_targets(targets, self.device)
                lr = learning_rate(cfg, position["global_step"], steps_per_epoch)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                with precision.autocast():
                    outputs = model(images)
                    losses = {t.name: t.loss(outputs[t.name], targets) for t in tasks}
                values = torch.stack([losses[t.name].detach().float() for t in tasks]).cpu().tolist()
                for t, v in zip(tasks, values, strict=True):
                    if not np.isfinite(v):
                        raise NonFiniteLoss(
                            f"task {t.name!r} loss became {v} at epoch {epoch + 1}, step {step + 1}; "
                            "the run stopped and its last checkpoint is kept"
                        )
                optimizer.zero_grad(set_to_none=True)
                total, weights = weighting.backward(
                    losses,
                    backward_ctx,
                )
                if cfg.optim.grad_clip > 0:
                    if precision.scaler:
                        precision.scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
                if precision.scaler:
                    precision.scaler.step(optimizer)
                    precision.scaler.update()
                else:
                    optimizer.step()
                for t, v in zip(tasks, values, strict=True):
                    state["epoch_sums"][t.name] += v
                state["epoch_count"] += 1
                position["global_step"] += 1
                step += 1
                position["step"] = step
                dt = time.perf_counter() - t0
                step_seconds = dt if step_seconds == 0 else 0.9 * step_seconds + 0.1 * dt
                rate = len(images) / step_seconds
                remaining = total_steps - position["global_step"]
                self.emit(
                    StepEnded(
                        epoch=epoch,
                        step=step - 1,
                        global_step=position["global_step"],
                        steps_per_epoch=steps_per_epoch,
                        losses={t.name: v for t, v in zip(tasks, values, strict=True)},
                        weights=weights,
                        total_loss=total,
                        lr=lr,
                        images_per_s=rate,
                        eta_s=remaining * step_seconds,
                    )
                )
                if cfg.train.time_limit_s and time.perf_counter() - started >= cfg.train.time_limit_s:
                    stop_reason = "time limit reached"
                    break
            state["elapsed"] = time.perf_counter() - started
            if stop_reason == "stopped by user":
                # Mid-epoch: keep the exact position so a resume continues this epoch.
                self._checkpoint(model, optimizer, weighting, precision, position, state)
                break
            # End of epoch (or time limit): validate, log, checkpoint.
            train_losses = {n: s / max(1, state["epoch_count"]) for n, s in state["epoch_sums"].items()}
            weighting.epoch_end(train_losses)
            val_losses, metrics, samples = evaluate(
                model,
                tasks,
                exp.val_set,
                batch_size,
                self.device,
                precision,
                cfg.train.num_samples,
                epoch,
            )
            is_best = self._update_best(metrics, epoch, state)
            state["final_metrics"] = metrics
            position.update(epoch=epoch + 1, step=0)
            state["elapsed"] = time.perf_counter() - started
            self._checkpoint(model, optimizer, weighting, precision, position, state)
            if is_best:
                save_checkpoint(
                    self.store.best_checkpoint,
                    {"model": model.state_dict(), "epoch": epoch, "metrics": metrics},
                )
            if samples is not None:
                self.store.save_samples(samples)
            self.summary = self._write_summary(status="running", state=state, position=position)
            self.emit(
                EpochEnded(
                    epoch=epoch,
                    global_step=position["global_step"],
                    train_losses=train_losses,
                    val_losses=val_losses,
                    val_metrics=metrics,
                    is_best=is_best,
                    seconds=time.perf_counter() - epoch_started,
                )
            )
            if samples is not None:
                self.emit(samples)
            if stop_reason:
                break
            if cfg.train.early_stopping_metric and state["bad_epochs"] >= cfg.train.patience:
                stop_reason = f"early stopping: no better {self.monitor} for {cfg.train.patience} epochs"
                break
            epoch += 1

        if stop_reason == "stopped by user":
            self.summary = self._write_summary(
                status="stopped", state=state, position=position, note=stop_reason
            )
            self.emit(RunStopped(summary=self.summary, reason=stop_reason))
            return self.summary
        latency = measure_latency(model, exp.val_set, self.device, precision)
        self.summary = self._write_summary(
            status="finished", state=state, position=position, note=stop_reason, latency_ms=latency
        )
        self.emit(RunFinished(summary=self.summary))
        return self.summary

    # ------------------------------------------------------------------ helpers
    def _monitor_metric(self) -> str:
        if self.config.train.early_stopping_metric:
            return self.config.train.early_stopping_metric
        first = self.exp.tasks[0]
        return f"{first.name}/{first.primary_metric}"

    def _update_best(self, metrics: dict[str, dict[str, float]], epoch: int, state: dict[str, Any]) -> bool:
        task, _, name = self.monitor.partition("/")
        kind = next(t for t in self.exp.tasks if t.name == task)
        value = metrics[task][name]
        best = state["best_value"]
        better = best is None or (value > best if kind.higher_is_better else value < best)
        if better:
            state.update(best_value=value, best_epoch=epoch, bad_epochs=0, best_metrics=metrics)
        else:
            state["bad_epochs"] += 1
        return better

    def _checkpoint(self, model, optimizer, weighting, precision, position, state) -> None:
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        save_checkpoint(
            self.store.last_checkpoint,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "weighting": weighting.state_dict(),
                "scaler": precision.scaler.state_dict() if precision.scaler else None,
                "rng": rng,
                "position": dict(position),
                "state": dict(state),
            },
        )

    def _write_summary(
        self,
        status: str,
        state: dict[str, Any] | None = None,
        position: dict[str, int] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        exp = getattr(self, "exp", None)
        previous = {}
        with contextlib.suppress(ValueError):
            previous = self.store.read_summary()
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
            summary["monitor"] = getattr(self, "monitor", "")
        if hasattr(self, "device"):
            summary["device"] = describe_device(self.device)
        if hasattr(self, "params"):
            summary["params"] = self.params
        if state is not None:
            summary.update(
                best_epoch=state["best_epoch"],
                best_metrics=state["best_metrics"],
                final_metrics=state["final_metrics"],
                elapsed_s=state["elapsed"],
            )
        if position is not None:
            summary.update(epochs_done=position["epoch"], global_step=position["global_step"])
        if status != "failed":
            summary.pop("error", None)
        summary.update(extra)
        return self.store.write_summary(summary)
