"""The run directory: the source of truth for a run, live or finished. Torch-free.

Layout (``SCHEMA_VERSION`` 1)::

    RUN_DIR/
      config.toml          the experiment, as run
      summary.json         schema_version, status, device, params, best/final metrics, latency
      metrics.jsonl        append-only: one JSON object per step / epoch (see event_to_record)
      samples/epoch_NNN.npz  validation images with targets and predictions
      checkpoints/last.pt  model, optimiser, weighting, RNG state, position, config
      checkpoints/best.pt  weights of the best epoch by the early-stopping / primary metric
      .lock                pid and heartbeat of the process training it (see run_lock)

Every file but metrics.jsonl is written atomically (temp file + rename). At the end of an
epoch the trainer writes the epoch line, samples, ``best.pt``, then ``last.pt`` (the commit
point), then the summary; a resume drops log lines past its checkpoint, so after a kill the
log, both checkpoints and the summary agree again. All JSON is strict (no NaN/Infinity).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from workbench.config import ExperimentConfig, config_to_toml
from workbench.fsutil import (
    TEMP_SUFFIX,
    SaveFailed,
    atomic_write,
    atomic_write_json,
    atomic_write_text,
    dumps_json_line,
    os_reason,
    remove_temp_files,
    write_reason,
)
from workbench.training.events import EpochEnded, SamplesReady, StepEnded
from workbench.training.run_lock import lock_is_live, read_lock

SCHEMA_VERSION = 1
STATUSES = ("created", "running", "paused", "finished", "stopped", "failed", "interrupted")
LIVE_STATUSES = ("created", "running", "paused")


class RunFileError(ValueError):
    """A file of a run folder cannot be read or is not what it should be; the message names it."""


class SchemaError(ValueError):
    """summary.json was written by another version of the workbench."""


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
            "weighted_loss": event.weighted_loss,
            "regulariser": event.regulariser,
            "lr": event.lr,
            "images_per_s": event.images_per_s,
            "elapsed_s": event.elapsed_s,
            **({"conflict": event.conflict} if event.conflict else {}),
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
        "best_epoch": event.best_epoch,
        "seconds": event.seconds,
        "elapsed_s": event.elapsed_s,
        "labelled": event.labelled,
        "time": time.time(),
    }


def record_to_event(record: dict[str, Any], steps_per_epoch: int = 0) -> StepEnded | EpochEnded | None:
    """Inverse of ``event_to_record`` so a run on disk replays through the live code path.

    Records written by older versions lack the newer keys (defaults fill them in); a
    malformed record gives None rather than an exception.
    """
    try:
        kind = record.get("type")
        if kind == "step":
            total = float(record["total_loss"])
            regulariser = float(record.get("regulariser", 0.0))
            return StepEnded(
                epoch=int(record["epoch"]),
                step=int(record["step"]),
                global_step=int(record["global_step"]),
                steps_per_epoch=steps_per_epoch,
                losses=dict(record["losses"]),
                weights=dict(record["weights"]),
                total_loss=total,
                lr=float(record["lr"]),
                images_per_s=float(record["images_per_s"]),
                eta_s=0.0,
                weighted_loss=float(record.get("weighted_loss", total - regulariser)),
                regulariser=regulariser,
                elapsed_s=float(record.get("elapsed_s", 0.0)),
                conflict=record.get("conflict") if isinstance(record.get("conflict"), dict) else None,
            )
        if kind == "epoch":
            return EpochEnded(
                epoch=int(record["epoch"]),
                global_step=int(record["global_step"]),
                train_losses=dict(record["train_losses"]),
                val_losses=dict(record["val_losses"]),
                val_metrics={k: dict(v) for k, v in record["val_metrics"].items()},
                is_best=bool(record["is_best"]),
                seconds=float(record["seconds"]),
                elapsed_s=float(record.get("elapsed_s", 0.0)),
                best_epoch=int(record.get("best_epoch", -1)),
                labelled={k: dict(v) for k, v in (record.get("labelled") or {}).items()},
            )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return None


def _count(value: Any) -> bool:
    return type(value) is int and 0 <= value < 2**53


def valid_record(record: Any) -> bool:
    """A metrics.jsonl line the readers can rely on: its kind and position are counts."""
    if not isinstance(record, dict):
        return False
    if record.get("type") == "step":
        return all(_count(record.get(k)) for k in ("epoch", "step", "global_step"))
    if record.get("type") == "epoch":
        return _count(record.get("epoch")) and _count(record.get("global_step"))
    return False


def parse_metrics_lines(raw: bytes) -> tuple[list[dict[str, Any]], int]:
    """The records of metrics.jsonl bytes, and how many lines were not usable records (not
    UTF-8 JSON objects with a valid kind and position: a line being written, damage)."""
    records: list[dict[str, Any]] = []
    skipped = 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            skipped += 1
            continue
        if not valid_record(record):
            skipped += 1
            continue
        records.append(record)
    return records, skipped


# the longest path a run writes below its folder, in bytes: an image cache file in the
# making ("cache/train-4096-letterbox/.<40 hex>.npy.XXXXXXXX.tmp", 82) or an export's
# decode file ("export/.model-best-dynamic.onnx.decode.json.XXXXXXXX.tmp", 58), with room
RUN_FILES_ROOM = 128


# a run folder's name: the experiment name (at most 100 characters) and its start time
# "-YYYYMMDD-HHMMSS-NN"; a sweep member's or baseline's name adds a little
RUN_NAME_ROOM = 128


def _path_limit(path: Path) -> int | None:
    """The system's longest path (bytes) for ``path``'s file system, asked of its nearest
    existing folder; None where no such limit is known (Windows)."""
    existing = next((p for p in (path, *path.parents) if p.is_dir()), None)
    try:
        return os.pathconf(existing or ".", "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        return None


def _path_room_problem(run_dir: Path) -> str | None:
    """Why the files of a run in ``run_dir`` would pass the system's longest path, or
    None: a runs folder of 4,050 characters trained an epoch, then failed to write its
    checkpoint ("File name too long")."""
    limit = _path_limit(run_dir)
    length = len(os.fsencode(os.path.abspath(run_dir)))
    if limit is None or length + RUN_FILES_ROOM < limit:
        return None
    return (
        f"its path is too long for a run: the run's folder would be {length:,} bytes long, and its files "
        f"need about {RUN_FILES_ROOM} more within the system's limit of {limit:,}; choose a shorter runs folder"
    )


def runs_folder_too_long(folder: str | Path) -> str | None:
    """Why runs made in ``folder`` (a run's name, then its files) could pass the system's
    longest path (said after "cannot write FOLDER: "); None when there is room. Asked before
    anything is made: a refused runs folder of 22 levels was left behind, empty."""
    folder = Path(folder)
    limit = _path_limit(folder)
    length = len(os.fsencode(os.path.abspath(folder)))
    if limit is None or length + 1 + RUN_NAME_ROOM + RUN_FILES_ROOM < limit:
        return None
    return (
        f"its path is {length:,} bytes long, and a run's folder and files in it need "
        f"about {RUN_NAME_ROOM + RUN_FILES_ROOM} more within the system's limit of {limit:,}; choose a shorter "
        "runs folder"
    )


class RunStore:
    """Reads and writes one run directory. Every write failure is a ``SaveFailed``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._metrics_fh: io.TextIOBase | None = None
        self.skipped_lines = 0  # metrics.jsonl lines the last read_metrics could not use
        self.kept_damaged_log: Path | None = None  # where truncate_metrics_after kept a damaged log
        self.damaged_lines = 0  # and how many lines of it it could not read

    # -- creation
    @classmethod
    def create(cls, runs_root: str | Path, name: str) -> RunStore:
        """Make a new, uniquely named run directory directly under ``runs_root``.

        Raises:
            SaveFailed: ``runs_root`` is a file or cannot be created, or ``name`` would
                place the run outside it.
        """
        if not str(runs_root).strip():
            raise SaveFailed("''", "the runs folder must not be empty")
        root = Path(runs_root)
        if root.is_symlink() and not root.exists():
            raise SaveFailed(root, "it is a broken symbolic link; choose a folder for the runs")
        if root.exists() and not root.is_dir():
            raise SaveFailed(root, "it is a file, not a folder; choose a folder for the runs")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = f"{name}-{stamp}"
        if Path(base).name != base or base.startswith("."):
            raise SaveFailed(root / base, "the experiment name is not a plain file name")
        path = root / base
        # said before any folder is made, not at the first checkpoint
        if (problem := _path_room_problem(Path(f"{path}-99"))) is not None:
            raise SaveFailed(root, problem)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SaveFailed(root, write_reason(root, exc)) from exc
        n = 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                path = root / f"{base}-{n}"
            except OSError as exc:
                raise SaveFailed(path, write_reason(path, exc)) from exc
        if path.resolve().parent != root.resolve():
            raise SaveFailed(path, "outside the runs folder")
        return cls(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    def not_a_run_reason(self) -> str | None:
        """None for a run directory (it has ``config.toml``), else a one-line message that
        names the folder and says what it is instead.

        A folder holding nothing but a lock or temp files is a run killed between making its
        folder and writing its config (data loading runs in between): nothing was trained, so
        the message says to start the experiment again rather than calling it a stranger.
        """
        if self.config_path.is_file():
            return None
        if not self.path.exists():
            return f"{self.path} does not exist"
        if not self.path.is_dir():
            return f"{self.path} is a file, not a run directory"
        try:
            left = [p.name for p in self.path.iterdir()]
        except OSError as exc:
            return f"{self.path}: {os_reason(exc)}"
        if not left:  # nothing says a run was ever started here (a killed one leaves its lock)
            return (
                f"{self.path} is an empty folder, not a run (if an experiment was started here, it stopped "
                "before it wrote anything; start it again with 'workbench train CONFIG.toml')"
            )
        if all(name == ".lock" or (name.startswith(".") and name.endswith(TEMP_SUFFIX)) for name in left):
            info = read_lock(self.path)
            if lock_is_live(info):  # it is reading its data: nothing to start again
                return (
                    f"{self.path} is being started by process {info.pid} on {info.host} (it writes "
                    "config.toml once its data is read); wait for it"
                )
            return (
                f"{self.path} holds no run: it was stopped before it wrote config.toml, so nothing "
                "was trained; start the experiment again with 'workbench train CONFIG.toml'"
            )
        if self.config_path.exists() or self.config_path.is_symlink():  # a folder, a broken link
            return f"{self.config_path} is not a file: the run's config must be a TOML file"
        if "queue.json" in left:  # what `workbench sweep` writes
            return f"{self.path} is a sweep folder, not a run directory; its runs are in {self.path / 'runs'}"
        return f"{self.path} is not a run directory (no config.toml)"

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
    def pending_best(self) -> Path:
        """The next best.pt, written before the epoch's commit and renamed after it."""
        return self.checkpoint_dir / "best.next.pt"

    def promote_pending_best(self) -> None:
        try:
            os.replace(self.pending_best, self.best_checkpoint)
        except OSError as exc:
            raise SaveFailed(self.best_checkpoint, os_reason(exc)) from exc

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    def exists(self) -> bool:
        return self.summary_path.exists() or self.config_path.exists()

    def remove_temp_files(self) -> list[Path]:
        """Delete temp files a killed writer left (call only while holding the run's lock)."""
        return remove_temp_files(self.path)

    # -- config
    def write_config(self, cfg: ExperimentConfig) -> None:
        atomic_write_text(self.config_path, config_to_toml(cfg))

    def read_config(self) -> ExperimentConfig:
        """The run's config.toml, checked; ConfigError names that file (an edit there is
        easily taken for the experiment file's)."""
        from workbench.config import ConfigError
        from workbench.experiment_check import load_config  # the registries: not at import time

        try:
            return load_config(self.config_path)
        except ConfigError as exc:
            if str(self.config_path) in exc.message:
                raise
            raise ConfigError(exc.path, f"{exc.message} (in {self.config_path})") from None

    def read_config_dict(self) -> dict[str, Any]:
        """config.toml as a plain dict without validation ({} when unreadable)."""
        try:
            return tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return {}

    # -- summary
    def write_summary(self, summary: dict[str, Any]) -> dict[str, Any]:
        data = {"schema_version": SCHEMA_VERSION, **summary}
        atomic_write_json(self.summary_path, data)
        return data

    def read_summary(self) -> dict[str, Any]:
        """summary.json as a dict ({} when there is none).

        Raises:
            SchemaError: written by another schema version (never overwrite it).
            RunFileError: unreadable or not a JSON object.
        """
        try:
            data = json.loads(self.summary_path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise RunFileError(f"{self.summary_path} is unreadable: {os_reason(exc)}") from exc
        if not isinstance(data, dict):
            raise RunFileError(f"{self.summary_path} is not a JSON object")
        version = data.get("schema_version")
        if type(version) is not int or version != SCHEMA_VERSION:
            newer = type(version) is int and version > SCHEMA_VERSION
            raise SchemaError(
                f"{self.summary_path} has schema version {version!r}; this workbench reads version "
                f"{SCHEMA_VERSION}" + ("; use a newer workbench for this run" if newer else "")
            )
        return data

    def update_summary(self, **changes: Any) -> dict[str, Any]:
        data = self.read_summary()
        data.pop("schema_version", None)
        data.update(changes)
        return self.write_summary(data)

    def effective_status(self, summary: dict[str, Any] | None = None) -> str:
        """The summary's status, or "interrupted" when it says running/paused but no live
        process holds the run's lock (killed without a chance to say so); "unknown" for a
        status that is none of ``STATUSES`` (a hand-edited or damaged summary)."""
        s = self.read_summary() if summary is None else summary
        status = s.get("status", "unknown")
        if not isinstance(status, str) or status not in STATUSES:
            return "unknown"
        if status in LIVE_STATUSES and not lock_is_live(read_lock(self.path)):
            return "interrupted"
        return status

    # -- metrics log
    def append_metrics(self, record: dict[str, Any]) -> None:
        line = dumps_json_line(record) + "\n"
        try:
            if self._metrics_fh is None:
                self._metrics_fh = open(self.metrics_path, "a", encoding="utf-8")  # noqa: SIM115
            self._metrics_fh.write(line)
            self._metrics_fh.flush()
        except OSError as exc:
            self.close()
            raise SaveFailed(self.metrics_path, os_reason(exc)) from exc

    def check_log_present(self) -> None:
        """SaveFailed when metrics.jsonl was removed while this run writes it (its lines
        would go to a file no one can read)."""
        if self._metrics_fh is not None and not self.metrics_path.exists():
            self.close()
            if not self.path.is_dir():
                raise SaveFailed(self.path, "the run folder was removed while the run was writing it")
            raise SaveFailed(self.metrics_path, "it was removed while the run was writing it")

    def truncate_metrics_after(self, global_step: int, epochs_done: int | None = None) -> None:
        """Keep only what a checkpoint at ``global_step`` with ``epochs_done`` finished
        epochs has seen: step lines up to that step and epoch lines of finished epochs.
        Used on resume so the log has no repeats and no line the checkpoint lacks."""

        def keep(r: dict[str, Any]) -> bool:
            if r.get("type") == "epoch" and epochs_done is not None:
                return int(r.get("epoch", 0)) < epochs_done
            return int(r.get("global_step", 0)) <= global_step

        records = [r for r in self.read_metrics() if keep(r)]
        self.close()
        if self.skipped_lines:
            # lines it cannot read are not rewritten away unsaid: the file as it was stays
            # beside the log (the run's notes say so); ``kept_damaged_log`` names it and
            # ``damaged_lines`` counts them (``skipped_lines`` is reset by every later read)
            self.kept_damaged_log = _free_name(
                self.metrics_path.with_name(self.metrics_path.name + ".damaged")
            )
            self.damaged_lines = self.skipped_lines
            shutil.copy2(self.metrics_path, self.kept_damaged_log)
        atomic_write_text(self.metrics_path, "".join(dumps_json_line(r) + "\n" for r in records))

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every usable record of metrics.jsonl, in order ([] when there is none yet). Lines
        that are not UTF-8 JSON objects with a "type" (a line being written right now,
        damage) are skipped and counted in ``skipped_lines``.

        Raises RunFileError naming the file when it exists but cannot be read (no
        permission, a folder): read as empty, the run looked as if it had logged nothing,
        and a resume rewrote the log without its history."""
        records: list[dict[str, Any]] = []
        self.skipped_lines = 0
        try:
            raw = self.metrics_path.read_bytes()
        except FileNotFoundError:
            return records
        except OSError as exc:
            raise RunFileError(f"{self.metrics_path} cannot be read: {os_reason(exc)}") from None
        records, self.skipped_lines = parse_metrics_lines(raw)
        return records

    def close(self) -> None:
        if self._metrics_fh is not None:
            with contextlib.suppress(OSError):
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
        path = self.samples_path(event.epoch)
        atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays), make_folder=True)
        return path

    def samples_path(self, epoch: int) -> Path:
        """Where ``save_samples`` puts epoch ``epoch``'s samples."""
        return self.samples_dir / f"epoch_{epoch:03d}.npz"

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

    def remove_samples_from(self, epoch: int) -> None:
        """Delete sample files of ``epoch`` and later (a restart or a rewound resume)."""
        for e in self.sample_epochs():
            if e >= epoch:
                (self.samples_dir / f"epoch_{e:03d}.npz").unlink(missing_ok=True)

    def load_samples(self, epoch: int) -> SamplesReady:
        """The validation samples saved for ``epoch`` (0-based).

        Raises RunFileError naming the file when it is missing, damaged or not a samples
        file (any decoding error: a truncated zip, a missing array, bad JSON)."""
        path = self.samples_path(epoch)
        try:
            with open(path, "rb") as fh:
                head = fh.read(4)
            if head[:2] != b"PK":  # not a zip: numpy's words would advise unpickling it
                kind = "empty" if not head else "not an .npz (zip) archive"
                raise RunFileError(f"{path}: not a readable samples file ({kind})")
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
        except OSError as exc:
            raise RunFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        except RunFileError:
            raise
        except Exception as exc:  # zipfile.BadZipFile, EOFError, KeyError, ValueError, TypeError ...
            raise RunFileError(f"{path}: not a readable samples file ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class RunInfo:
    """One line of the runs browser (everything read from summary.json and config.toml)."""

    path: Path
    name: str
    created: float
    status: str  # the summary's, or "interrupted" / "unreadable"
    tasks: tuple[str, ...]
    key_metrics: dict[str, float | None]  # "task/metric" -> last epoch's value (each task's primary metric)
    error: str = ""
    backbone: str = ""
    sharing_depth: int = -1  # resolved: hard sharing is the number of stages; -1 unknown
    num_stages: int = 0
    weighting: str = ""
    best_epoch: int = -1  # 0-based; -1 none
    epochs_done: int = 0
    params_total: int = 0
    latency_ms: float | None = None
    elapsed_s: float | None = None
    primary_metrics: dict[str, str] = field(default_factory=dict)  # task -> metric name
    higher_is_better: dict[str, bool] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)  # config.toml as a plain dict
    # Δm against single-task baselines (``workbench baselines``): {"maninis", "libmtl",
    # "per_task", "metric", "baseline_runs"}; {} before baselines were compared
    delta_m: dict[str, Any] = field(default_factory=dict)
    delta_m_note: str = ""  # why Δm is undefined ("undefined: objects/map_50: ...")
    sweep: str = ""  # the sweep folder's name for a run of RUNS/sweeps/NAME/runs/ (``sweep_runs``)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _int(value: Any, default: int) -> int:
    # within ±2⁵³: exact as a float and a 64-bit int (Qt's item data, sorting)
    return value if type(value) is int and abs(value) <= 2**53 else default


def _timestamp(value: Any) -> float | None:
    """A Unix time in seconds that the calendar functions accept (1970 to 2200), else None
    (e.g. a time in nanoseconds written by another tool)."""
    number = _number(value)
    return number if number is not None and 0 <= number < 7.3e9 else None


def _number(value: Any) -> float | None:
    if type(value) in (int, float) and value == value and abs(value) != float("inf"):
        return float(value)
    return None


def _duration(value: Any) -> float | None:
    """A time (seconds, milliseconds): finite and >= 0, else unknown (a hand-edited file)."""
    number = _number(value)
    return number if number is not None and number >= 0 else None


def read_run_info(path: Path) -> RunInfo | None:
    """The RunInfo of one run directory; None when it is not a run. Fields of the wrong
    type in summary.json (edited by hand, another tool) read as unknown, never raise."""
    if not (path / "summary.json").exists():
        if (path / "config.toml").is_file() and (
            (path / "checkpoints").is_dir() or (path / "metrics.jsonl").is_file()
        ):  # a run that trained and lost its summary: listed, with why (it vanished)
            return RunInfo(
                path,
                path.name,
                _started(path),
                "unreadable",
                (),
                {},
                f"{path / 'summary.json'} is missing (deleted or moved); the run's checkpoints and log are still there",
            )
        return None
    store = RunStore(path)
    try:
        s = store.read_summary()
    except ValueError as exc:
        return RunInfo(path, path.name, _started(path), "unreadable", (), {}, str(exc))
    config = store.read_config_dict()
    primary = {str(k): str(v) for k, v in _dict(s.get("primary_metrics")).items()}
    # the last validated epoch's, as the compare table and Δm (a summary from before
    # final_metrics has its best only)
    final = _dict(s.get("final_metrics")) or _dict(s.get("best_metrics"))
    key: dict[str, float | None] = {}
    for task, metric in primary.items():
        key[f"{task}/{metric}"] = _number(_dict(final.get(task)).get(metric))
    params = _dict(s.get("params"))
    model = _dict(config.get("model"))
    weighting = _dict(config.get("weighting"))
    depth = _int(params.get("sharing_depth"), _int(model.get("sharing_depth"), -1))
    stages = _int(params.get("num_stages"), 0)
    if depth == -1 and stages:
        depth = stages
    created = _timestamp(s.get("created")) or _started(path)
    tasks = s.get("tasks")
    status = s.get("status")
    return RunInfo(
        path=path,
        name=s["name"] if isinstance(s.get("name"), str) and s["name"] else path.name,
        created=created,
        status=store.effective_status(s) if isinstance(status, str) else "unknown",
        tasks=tuple(str(t) for t in tasks) if isinstance(tasks, list) else (),
        key_metrics=key,
        error=str(s.get("error", "")),
        backbone=str(model.get("backbone", "")),
        sharing_depth=depth,
        num_stages=stages,
        weighting=str(weighting.get("method", "")),
        best_epoch=_int(s.get("best_epoch"), -1),
        epochs_done=_int(s.get("epochs_done"), 0),
        params_total=_int(params.get("total"), 0),
        latency_ms=_duration(s.get("latency_ms")),
        elapsed_s=_duration(s.get("elapsed_s")),
        primary_metrics=primary,
        higher_is_better={str(k): bool(v) for k, v in _dict(s.get("higher_is_better")).items()},
        config=config,
        delta_m=_dict(s.get("delta_m"))
        if _number(_dict(s.get("delta_m")).get("maninis")) is not None
        else {},
        delta_m_note=s["delta_m_note"] if isinstance(s.get("delta_m_note"), str) else "",
    )


_STAMP = re.compile(r"-(\d{8}-\d{6})(?:-\d+)?$")


def _started(path: Path) -> float:
    """When the run started, for a run whose summary cannot say: the stamp in its folder's
    name (``RunStore.create`` writes NAME-YYYYMMDD-HHMMSS, local time), else the folder's
    modification time (which a damaged or edited file moves to the present)."""
    match = _STAMP.search(path.name)
    if match:
        with contextlib.suppress(ValueError, OverflowError):
            return time.mktime(time.strptime(match.group(1), "%Y%m%d-%H%M%S"))
    return _mtime(path)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


SWEEPS_FOLDER = "sweeps"  # RUNS/sweeps/NAME/runs/: where the app's Sweep dialog puts a sweep
SWEEP_QUEUE = "queue.json"  # what marks a sweep folder (workbench.sweep.queue writes it)


def sweep_folders(runs_root: str | Path) -> list[Path]:
    """The sweep folders the app lists runs from: every folder under ``runs_root/sweeps/``
    (the app's Sweep dialog), and ``runs_root`` itself or any folder directly under it that
    holds a ``queue.json`` (``workbench sweep FILE --out RUNS`` writes RUNS/NAME/: with the
    app and the CLI at their defaults a terminal's sweep was invisible in the runs list)."""
    root = Path(runs_root)
    found: list[Path] = []
    with contextlib.suppress(OSError):
        if (root / SWEEP_QUEUE).is_file():
            found.append(root)
        for child in sorted(root.iterdir()) if root.is_dir() else []:
            if child.name != SWEEPS_FOLDER and (child / SWEEP_QUEUE).is_file():
                found.append(child)
    with contextlib.suppress(OSError):
        shelf = root / SWEEPS_FOLDER
        if shelf.is_dir():
            found += sorted(p for p in shelf.iterdir() if p.is_dir())
    return found


def sweep_runs(runs_root: str | Path) -> list[RunInfo]:
    """The runs of every sweep folder (``sweep_folders``) in its ``runs/``, newest first,
    each with ``sweep`` set to its sweep folder's name."""
    runs = [
        dataclasses.replace(info, sweep=sweep.name)
        for sweep in sweep_folders(runs_root)
        for info in list_runs(sweep / "runs")
    ]
    runs.sort(key=lambda r: r.created, reverse=True)
    return runs


# path -> (the stat key of its summary and config, its RunInfo): the app lists its runs every
# few seconds while one trains; a folder of hundreds of finished runs must not be parsed
# again each time (one JSON and one TOML file per run), only the runs whose files changed.
_INFO_CACHE: dict[Path, tuple[tuple[int, ...], RunInfo]] = {}


def _stat_key(path: Path) -> tuple[int, ...] | None:
    """(mtime ns, change time ns, size, inode) of summary.json and config.toml; None without
    a summary. The change time moves on every write, even one that keeps the modification
    time (``cp -p``, ``rsync -t``), and cannot be set back. Raises PermissionError for a
    folder that cannot be looked into (it may be a run)."""
    key: list[int] = []
    for name in ("summary.json", "config.toml"):
        try:
            st = (path / name).stat()
        except PermissionError:
            if name == "summary.json":
                raise
            key += [-1, -1, -1, -1]
            continue
        except OSError:
            if name == "summary.json":
                return None
            key += [-1, -1, -1, -1]
            continue
        key += [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]
    return tuple(key)


def cached_run_info(path: Path) -> RunInfo | None:
    """``read_run_info`` that reuses the last reading while the run's summary and config
    are unchanged on disk. A run whose summary says it is live is always read again: its
    status also depends on whether its process is still alive."""
    key = _stat_key(path)
    if key is None:  # no summary: a run that lost it is still listed (``read_run_info``)
        _INFO_CACHE.pop(path, None)
        return read_run_info(path) if (path / "config.toml").is_file() else None
    hit = _INFO_CACHE.get(path)
    if hit is not None and hit[0] == key:
        return hit[1]
    info = read_run_info(path)
    if info is not None and info.status not in LIVE_STATUSES and info.status != "interrupted":
        _INFO_CACHE[path] = (key, info)
    else:
        _INFO_CACHE.pop(path, None)
    return info


def runs_root_problem(runs_root: str | Path) -> str | None:
    """Why the runs folder cannot be listed (missing, not a folder, no permission), one
    line; None when it can. ``list_runs`` gives no runs for all of these alike."""
    root = Path(runs_root)
    try:
        if not root.exists():
            return f"Runs folder {root} does not exist (yet): a run started here creates it"
        if not root.is_dir():
            return f"Runs folder {root} is a file, not a folder"
        next(iter(os.scandir(root)), None)
    except OSError as exc:
        return f"Runs folder {root} cannot be read: {os_reason(exc)}"
    return None


def no_runs_reason(runs_root: str | Path) -> str:
    """What an empty runs list says of a readable ``runs_root`` (one line): where runs are
    when a folder inside holds some (the parent of the runs folder was chosen), else that
    there are none yet."""
    root = Path(runs_root)
    with contextlib.suppress(OSError):
        for child in sorted(p for p in root.iterdir() if p.is_dir()):
            with contextlib.suppress(OSError):
                held = sum(1 for p in child.iterdir() if (p / "summary.json").is_file())
                if held:
                    return (
                        f"No runs directly in {root}; {child} holds {held}: choose it as the runs folder "
                        "(File ▸ Runs folder…)"
                    )
    return f"No runs in {root} yet: a run started here is listed"


def list_runs(runs_root: str | Path) -> list[RunInfo]:
    """Runs under ``runs_root``, newest first; unreadable runs are listed as such."""
    root = Path(runs_root)
    if not root.is_dir():
        return []
    runs = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    for path in entries:
        try:
            info = cached_run_info(path)
        except PermissionError as exc:  # a folder it may not look into: listed, with why
            info = RunInfo(path, path.name, _started(path), "unreadable", (), {}, f"{path}: {os_reason(exc)}")
        except OSError:
            continue
        except Exception as exc:  # a summary with fields of the wrong type: listed, not fatal
            info = RunInfo(
                path, path.name, _started(path), "unreadable", (), {}, f"{path / 'summary.json'}: {exc}"
            )
        if info is not None:
            runs.append(info)
    runs.sort(key=lambda r: r.created, reverse=True)
    return runs


def _free_name(path: Path) -> Path:
    """``path``, or ``path.1``, ``path.2`` ... the first that does not exist (never
    overwrites a file kept earlier)."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate
