"""The run directory: the source of truth for a run, live or finished.

Layout (``SCHEMA_VERSION`` 1)::

    RUN_DIR/
      config.toml          the experiment, as run
      summary.json         schema_version, status, device, params, best/final metrics, latency
      metrics.jsonl        append-only: one JSON object per step / epoch (see event_to_record)
      samples/epoch_NNN.npz  validation images with targets and predictions
      checkpoints/last.pt  model, optimiser, scheduler, weighting, RNG state, position
      checkpoints/best.pt  weights of the best epoch by the early-stopping / primary metric

Every file but metrics.jsonl is written atomically (temp file + rename); a reader of
metrics.jsonl skips a half-written last line.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.config import ExperimentConfig, config_to_toml, load_config
from workbench.fsutil import atomic_write, atomic_write_json, atomic_write_text
from workbench.training.events import EpochEnded, SamplesReady, StepEnded

SCHEMA_VERSION = 1
STATUSES = ("created", "running", "paused", "finished", "stopped", "failed")


def event_to_record(event: StepEnded | EpochEnded) -> dict[str, Any]:
    """The metrics.jsonl line of a step or epoch event."""
    if isinstance(event, StepEnded):
        return {
            "type": "step",
            "epoch": event.epoch,
            "step": event.step,
            "global_step": event.global_step,
            "losses": event.losses,
            "weights": event.weights,
            "total_loss": event.total_loss,
            "lr": event.lr,
            "images_per_s": event.images_per_s,
            "time": time.time(),
        }
    return {
        "type": "epoch",
        "epoch": event.epoch,
        "global_step": event.global_step,
        "train_losses": event.train_losses,
        "val_losses": event.val_losses,
        "val_metrics": event.val_metrics,
        "is_best": event.is_best,
        "seconds": event.seconds,
        "time": time.time(),
    }


def record_to_event(record: dict[str, Any], steps_per_epoch: int = 0) -> StepEnded | EpochEnded | None:
    """Inverse of ``event_to_record`` so a run on disk replays through the live code path."""
    kind = record.get("type")
    if kind == "step":
        return StepEnded(
            epoch=record["epoch"],
            step=record["step"],
            global_step=record["global_step"],
            steps_per_epoch=steps_per_epoch,
            losses=record["losses"],
            weights=record["weights"],
            total_loss=record["total_loss"],
            lr=record["lr"],
            images_per_s=record["images_per_s"],
            eta_s=0.0,
        )
    if kind == "epoch":
        return EpochEnded(
            epoch=record["epoch"],
            global_step=record["global_step"],
            train_losses=record["train_losses"],
            val_losses=record["val_losses"],
            val_metrics=record["val_metrics"],
            is_best=record["is_best"],
            seconds=record["seconds"],
        )
    return None


class RunStore:
    """Reads and writes one run directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._metrics_fh: io.TextIOBase | None = None

    # -- creation
    @classmethod
    def create(cls, runs_root: str | Path, name: str) -> RunStore:
        """Make a new, uniquely named run directory under ``runs_root``."""
        root = Path(runs_root)
        root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = f"{name}-{stamp}"
        path = root / base
        n = 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                path = root / f"{base}-{n}"
        return cls(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoint_dir / "best.pt"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    def exists(self) -> bool:
        return self.summary_path.exists() or self.config_path.exists()

    # -- config
    def write_config(self, cfg: ExperimentConfig) -> None:
        atomic_write_text(self.config_path, config_to_toml(cfg))

    def read_config(self) -> ExperimentConfig:
        return load_config(self.config_path)

    # -- summary
    def write_summary(self, summary: dict[str, Any]) -> dict[str, Any]:
        data = {"schema_version": SCHEMA_VERSION, **summary}
        atomic_write_json(self.summary_path, data)
        return data

    def read_summary(self) -> dict[str, Any]:
        try:
            data = json.loads(self.summary_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{self.summary_path} is unreadable: {exc}") from exc
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"{self.summary_path} has schema version {version}; this workbench reads {SCHEMA_VERSION}"
            )
        return data

    def update_summary(self, **changes: Any) -> dict[str, Any]:
        data = self.read_summary()
        data.pop("schema_version", None)
        data.update(changes)
        return self.write_summary(data)

    # -- metrics log
    def append_metrics(self, record: dict[str, Any]) -> None:
        if self._metrics_fh is None:
            self._metrics_fh = open(self.metrics_path, "a", encoding="utf-8")  # noqa: SIM115
        self._metrics_fh.write(json.dumps(record) + "\n")
        self._metrics_fh.flush()

    def truncate_metrics_after(self, global_step: int) -> None:
        """Drop records past ``global_step`` (used on resume so the log has no repeats)."""
        keep = [r for r in self.read_metrics() if r.get("global_step", 0) <= global_step]
        self.close()
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in keep))

    def read_metrics(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        try:
            lines = self.metrics_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return records
        for line in lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line being written right now
        return records

    def close(self) -> None:
        if self._metrics_fh is not None:
            self._metrics_fh.close()
            self._metrics_fh = None

    # -- samples
    def save_samples(self, event: SamplesReady) -> Path:
        """Store a SamplesReady event as ``samples/epoch_NNN.npz`` (pickle-free)."""
        arrays: dict[str, np.ndarray] = {"images": event.images}
        index: dict[str, Any] = {"epoch": event.epoch, "targets": {}, "predictions": {}}
        for group, per_task in (("targets", event.targets), ("predictions", event.predictions)):
            for task, items in per_task.items():
                keys = []
                for i, item in enumerate(items):
                    keys.append(sorted(item))
                    for key, value in item.items():
                        arrays[f"{group}/{task}/{i}/{key}"] = np.asarray(value)
                index[group][task] = keys
        arrays["index"] = np.frombuffer(json.dumps(index).encode(), dtype=np.uint8)
        path = self.samples_dir / f"epoch_{event.epoch:03d}.npz"
        atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
        return path

    def sample_epochs(self) -> list[int]:
        if not self.samples_dir.is_dir():
            return []
        epochs = []
        for p in self.samples_dir.glob("epoch_*.npz"):
            try:
                epochs.append(int(p.stem.split("_")[1]))
            except ValueError:
                continue
        return sorted(epochs)

    def load_samples(self, epoch: int) -> SamplesReady:
        path = self.samples_dir / f"epoch_{epoch:03d}.npz"
        with np.load(path, allow_pickle=False) as data:
            index = json.loads(data["index"].tobytes().decode())
            groups: dict[str, dict[str, list[dict[str, np.ndarray]]]] = {"targets": {}, "predictions": {}}
            for group in groups:
                for task, keys_per_item in index[group].items():
                    groups[group][task] = [
                        {key: data[f"{group}/{task}/{i}/{key}"] for key in keys}
                        for i, keys in enumerate(keys_per_item)
                    ]
            images = data["images"]
        return SamplesReady(epoch=index["epoch"], images=images, **groups)


@dataclass(frozen=True)
class RunInfo:
    """One line of the runs browser."""

    path: Path
    name: str
    created: float
    status: str
    tasks: tuple[str, ...]
    key_metrics: dict[str, float]  # "task/metric" -> best value
    error: str = ""


def list_runs(runs_root: str | Path) -> list[RunInfo]:
    """Runs under ``runs_root``, newest first; unreadable runs are listed as failed."""
    root = Path(runs_root)
    if not root.is_dir():
        return []
    runs = []
    for path in root.iterdir():
        if not (path / "summary.json").exists():
            continue
        store = RunStore(path)
        try:
            s = store.read_summary()
        except ValueError as exc:
            runs.append(RunInfo(path, path.name, path.stat().st_mtime, "unreadable", (), {}, str(exc)))
            continue
        best = s.get("best_metrics", {})
        key = {}
        for task, metrics in best.items():
            primary = s.get("primary_metrics", {}).get(task)
            if primary and primary in metrics:
                key[f"{task}/{primary}"] = metrics[primary]
        runs.append(
            RunInfo(
                path=path,
                name=s.get("name", path.name),
                created=s.get("created", path.stat().st_mtime),
                status=s.get("status", "unknown"),
                tasks=tuple(s.get("tasks", [])),
                key_metrics=key,
                error=s.get("error", ""),
            )
        )
    runs.sort(key=lambda r: r.created, reverse=True)
    return runs
