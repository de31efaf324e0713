"""``export_run``: a run's checkpoint exported, verified on its validation images, timed."""

from __future__ import annotations

import contextlib
import copy
import os
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from workbench.export.decode_spec import decode_spec
from workbench.export.formats import (
    FORMATS,
    SUFFIX,
    load_torchscript,
    onnx_runner,
    onnx_session,
    onnxruntime_devices,
    torchscript_runner,
    write_onnx,
    write_torchscript,
)
from workbench.export.graph import flatten, output_names
from workbench.export.latency import BATCHES, LatencyRow, interquartile_ms, timed_runs
from workbench.export.verify import TOLERANCE, max_differences
from workbench.fsutil import SaveFailed


class ExportError(RuntimeError):
    """An export that cannot be made or does not match the PyTorch model: one line naming the
    run or file and the reason. Nothing is left at the export's path."""


@dataclass
class ExportReport:
    """What ``export_run`` wrote and measured. ``differences``: the largest absolute difference
    per output on ``images`` validation images; ``latency``: the timing table's rows."""

    path: Path
    decode_path: Path
    format: str
    images: int
    differences: dict[str, float]
    latency: list[LatencyRow] = field(default_factory=list)

    @property
    def max_difference(self) -> float:
        return max(self.differences.values(), default=0.0)


def _refuse_overwrite(run_dir: Path, target: Path, decode_path: Path, replace: bool) -> None:
    """Raises ExportError before anything is written when ``target`` or ``decode_path``
    would replace one of the run's own files (a checkpoint, the summary: anything outside
    ``RUN/export/``), or an existing file that ``replace`` does not allow."""
    run = run_dir.resolve()
    exports = (run_dir / "export").resolve()
    for path in (target, decode_path):
        where = path.resolve()
        if where.is_relative_to(run) and not where.is_relative_to(exports):
            raise ExportError(
                f"{path} is among the run's own files; write the export under {run_dir / 'export'} "
                "or outside the run folder"
            )
        if path.exists() and not replace:
            raise ExportError(f"{path} exists; choose another --out, or add --force to replace it")


_OWN_SUFFIXES = {"onnx": (".onnx",), "torchscript": (".torchscript.pt", ".pt", ".pth", ".torchscript")}


def _stem(name: str, fmt: str) -> str:
    """The name without the format's suffix, in any case (``M.ONNX`` -> ``M``): the
    decode.json beside it is ``STEM.decode.json`` for every spelling."""
    lower = name.lower()
    for suffix in (SUFFIX[fmt], *_OWN_SUFFIXES[fmt]):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


_OTHER_FORMATS_SUFFIXES = {"onnx": (".pt", ".pth", ".torchscript", ".zip"), "torchscript": (".onnx", ".ort")}


def _resize_mode(cfg: Any) -> str:
    """How the run's first data source fitted images to the input ("letterbox" or "stretch")."""
    from workbench.data import source_options

    try:
        return str(getattr(source_options(cfg.data.source_list()[0]), "resize", "letterbox"))
    except Exception:  # an odd source: the default fit
        return "letterbox"


def export_run(
    run_dir: str | Path,
    fmt: str = "onnx",
    checkpoint: str = "best",
    dynamic_batch: bool = False,
    out: str | Path | None = None,
    images: int = 32,
    latency: bool = True,
    log: Callable[[str], None] = print,
    replace: bool = False,
) -> ExportReport:
    """Export the network of ``run_dir``'s ``checkpoint`` ("best" or "last") as ``fmt``
    ("onnx" or "torchscript") to ``out`` (default ``RUN/export/model-CHECKPOINT.onnx`` or
    ``.torchscript.pt``, ``model-CHECKPOINT-dynamic...`` with ``dynamic_batch``, described by
    ``model-CHECKPOINT[-dynamic].FORMAT.decode.json`` beside it), or to ``out`` with
    ``decode.json`` beside it (same stem, ``.decode.json``).
    A default file is replaced by a new export of the same checkpoint, format and batch
    rule (it is made again from the checkpoint; the other variants stay); a file given as
    ``out`` (or its decode.json) that exists is refused unless ``replace``, and nothing is
    ever written among the run's own records (only under ``RUN/export/``).

    The export is run on up to ``images`` validation images of the run (one at a time, or
    in one batch with ``dynamic_batch``) and compared with the PyTorch model; it is kept
    only when no raw output differs by more than 1e-3. With ``latency``, eager PyTorch,
    TorchScript and onnxruntime are timed at batch 1 and 32 on the CPU and, where present,
    CUDA. Raises ExportError (one line) for a missing or foreign run or checkpoint, a task
    kind that cannot be exported, or a mismatch; CheckpointError for a damaged checkpoint.
    """
    from workbench.data.base import collate
    from workbench.training.checkpoint import checkpoint_epoch, load_checkpoint, load_model_state
    from workbench.training.experiment import build_experiment
    from workbench.training.run_store import RunFileError, RunStore

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if checkpoint not in ("best", "last"):
        raise ExportError(f"checkpoint must be 'best' or 'last', not {checkpoint!r}")
    store = RunStore(run_dir)
    if (reason := store.not_a_run_reason()) is not None:
        raise ExportError(reason)
    try:
        summary = store.read_summary()  # a run of a newer schema is refused here
        if store.effective_status(summary) in ("running", "paused"):
            log(
                f"warning: {store.path} is still training: its {checkpoint}.pt may be replaced after this "
                "export (the decode JSON names the epoch exported)"
            )
    except RunFileError as exc:  # damaged: not needed, the config and checkpoint are
        log(f"warning: {exc}; exporting from config.toml and the checkpoint")
    cfg = store.read_config()
    ckpt_path = store.best_checkpoint if checkpoint == "best" else store.last_checkpoint
    if not ckpt_path.is_file():
        raise ExportError(f"{ckpt_path} does not exist: the run has no {checkpoint} checkpoint yet")
    state = load_checkpoint(ckpt_path, checkpoint)
    from workbench.training.run_split import SPLIT_FILE

    _refuse_changed_config(store, cfg, state, ckpt_path)

    # a batch-1 and a dynamic-batch export are two files: one must not replace the other
    variant = f"model-{checkpoint}{'-dynamic' if dynamic_batch else ''}"
    target = Path(out) if out else store.path / "export" / f"{variant}{SUFFIX[fmt]}"
    if target.is_dir():
        raise ExportError(
            f"{target} is a folder; give the file to write, e.g. {target / ('model' + SUFFIX[fmt])}"
        )
    if target.name.lower().endswith(_OTHER_FORMATS_SUFFIXES[fmt]):
        # a TorchScript file named .onnx (or the reverse) is misread by whatever trusts the name
        raise ExportError(
            f"{target}: that name says another format than {fmt}; name it *{SUFFIX[fmt]} "
            f"(e.g. {target.with_name(target.name.split('.')[0] + SUFFIX[fmt])})"
        )
    # the default folder holds both formats side by side: each its own description (one
    # shared name let a TorchScript export replace the ONNX file's, verification included)
    decode_path = target.with_name(
        _stem(target.name, fmt) + (f".{fmt}" if out is None else "") + ".decode.json"
    )
    if not _stem(target.name, fmt).strip(".") or target.name.endswith("."):
        raise ExportError(f"{target}: not a file name to write; give one such as model{SUFFIX[fmt]}")
    _refuse_overwrite(store.path, target, decode_path, replace=replace or out is None)
    # where the export goes, and that it can be written there: said before a minute of
    # loading, exporting and checking (a read-only run, a file named export/)
    _open_temp(target, out).unlink()

    from workbench.training.experiment import run_data_gone

    if (gone := run_data_gone(cfg, store.config_path)) is not None:  # as eval and resume say it
        raise ExportError(gone)
    exp = build_experiment(cfg, with_data=False, pretrained=False, split_file=store.path / SPLIT_FILE)
    for note in exp.split_notes:
        log(f"note: {note}")
    load_model_state(exp.model, state["model"], ckpt_path)
    model = exp.model.float().eval()
    # distinct images only: one that cannot be decoded is stood in for by the next, which
    # would be compared twice and counted as two
    samples = []
    for i in range(len(exp.val_set)):
        if len(samples) >= int(images):
            break
        sample = exp.val_set.sample(i)
        if not sample.get("stand_in"):
            samples.append(sample)
    count = len(samples)
    if count < 1:
        raise ExportError(
            f"{store.path}: no validation image of the run can be read; nothing to verify the export on"
        )
    batch_images, _ = collate(samples)
    batch_images = batch_images.float()
    size = int(batch_images.shape[-1])
    example = batch_images[: 2 if dynamic_batch else 1]
    with torch.no_grad():
        reference = model(example)
    names = output_names(reference)
    shapes = {
        n: ["batch" if dynamic_batch else 1, *t.shape[1:]]
        for n, t in zip(names, flatten(reference), strict=True)
    }
    try:
        spec = decode_spec(
            exp.tasks,
            names,
            shapes,
            size,
            dynamic_batch,
            {
                "format": fmt,
                "run": str(store.path.resolve()),
                "checkpoint": ckpt_path.name,
                # 1-based, as the app and `eval` say it; summary.json's best_epoch, metrics.jsonl
                # and samples/epoch_NNN.npz count from 0: epoch_index
                "epoch": checkpoint_epoch(state) or None,  # 0: no step trained yet
                "epoch_index": checkpoint_epoch(state) - 1 if checkpoint_epoch(state) else None,
            },
            resize=_resize_mode(cfg),
        )
    except NotImplementedError as exc:
        raise ExportError(str(exc)) from None
    except Exception as exc:  # an extension kind's export_decode: named before anything is written
        from workbench.tasks.task_errors import task_context

        if not task_context(exc):
            raise
        raise ExportError(f"{task_context(exc)}: {type(exc).__name__}: {exc}") from None

    tmp = _open_temp(target, out)
    try:
        log(f"exporting {ckpt_path} (epoch {spec['epoch']}) as {fmt}, input {size} x {size} px")
        _write(fmt, model, example, names, tmp, dynamic_batch, target)
        run = onnx_runner(tmp, names) if fmt == "onnx" else torchscript_runner(tmp)
        try:
            differences = max_differences(run, model, batch_images, count if dynamic_batch else 1)
        except Exception as exc:  # the exported graph does not run on the images
            raise ExportError(
                f"{target}: the exported model failed on the validation images: {exc}"
            ) from None
        worst_name = max(differences, key=differences.get)
        worst = differences[worst_name]
        if not worst <= TOLERANCE:  # NaN is refused too
            raise ExportError(
                f"{target}: output {worst_name!r} differs from the PyTorch model by {worst:.3g} on "
                f"{count} validation images (limit {TOLERANCE:g}); the export was not kept"
            )
        spec["verification"] = {
            "images": count,
            "tolerance": TOLERANCE,
            "max_abs_difference": differences,
            "runtime": "onnxruntime" if fmt == "onnx" else "torch.jit.load",
        }
        from workbench.fsutil import FILE_MODE, atomic_write_json

        try:
            os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; an export is shared like any file
            # the description first: a model without (or beside an older) decode.json is
            # not left behind when the description cannot be written
            atomic_write_json(decode_path, spec)
            os.replace(tmp, target)
        except OSError as exc:
            raise ExportError(
                f"{exc.filename2 or exc.filename or target}: cannot write the export: {exc.strerror or exc}"
            ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    log(
        f"wrote {target} and {decode_path.name}; largest difference from PyTorch {worst:.2e} on {count} images"
    )
    for name, diff in differences.items():
        log(f"  {name:<24} max |export - PyTorch| {diff:.2e}")
    report = ExportReport(target, decode_path, fmt, count, differences)
    if latency:
        report.latency = _latency(model, fmt, target, names, size, dynamic_batch, example, log)
    return report


def _refuse_changed_config(store: Any, cfg: Any, state: dict[str, Any], ckpt_path: Path) -> None:
    """ExportError when ``config.toml`` changed since the checkpoint in what a resume would
    refuse too (input size, tasks, backbone ...): the decode description would not be the
    network's. Changes a resume allows (epochs, device, a moved data folder) pass."""
    from workbench.config import to_dict
    from workbench.training.resume_check import describe, split_changes
    from workbench.training.run_split import SPLIT_FILE
    from workbench.training.trainer import normalised_config

    before = state.get("config")
    if not isinstance(before, dict):
        return  # a checkpoint from before configs were stored: the model fit is checked
    _, refused = split_changes(
        normalised_config(before),
        normalised_config(to_dict(cfg)),
        moved_data=(store.path / SPLIT_FILE).is_file(),
    )
    if refused:
        shown = ", ".join(describe(c) for c in refused[:4]) + (
            f" and {len(refused) - 4} more" if len(refused) > 4 else ""
        )
        raise ExportError(
            f"{store.config_path} changed since {ckpt_path.name} was saved ({shown}), as a resume may not "
            "either; the export and its decode JSON must describe the checkpoint's training. Undo the change "
            "to export this run"
        )


def _open_temp(target: Path, out: str | Path | None) -> Path:
    """A new empty temporary file beside ``target`` (its folder made); ExportError naming
    the folder and the way out when it cannot be written there."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        from workbench.fsutil import write_reason

        where = exc.filename if isinstance(exc.filename, str) else target.parent
        elsewhere = (
            "; write it elsewhere (--out FILE), or copy the run to a folder you can write"
            if out is None
            else ""
        )
        raise ExportError(
            f"{target.parent}: cannot write the export there: {write_reason(where, exc)}{elsewhere}"
        ) from None
    os.close(fd)
    return Path(tmp_name)


def _write(
    fmt: str,
    model: torch.nn.Module,
    example: torch.Tensor,
    names: list[str],
    path: Path,
    dynamic: bool,
    target: Path | None = None,
) -> None:
    """Write the export to ``path``; a failure names ``target`` (the file asked for, when
    ``path`` is its temporary file), else ``path``."""
    try:
        if fmt == "onnx":
            write_onnx(model, example, names, path, dynamic)
        else:
            write_torchscript(model, example, path, dynamic)
    except ExportError:
        raise
    except SaveFailed as exc:  # a full disk, said as a write: not as the exporter's failure
        raise ExportError(f"{target or path}: cannot write the export: {exc.reason}") from None
    except Exception as exc:  # the exporter's own failure, in one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"{target or path}: the {fmt} exporter failed: {first}") from None


# what to do, not only why the cell is empty
BATCH_ONE_NOTE = "exported for batch 1: export with --dynamic-batch to time this batch"


def _latency(
    model: torch.nn.Module,
    fmt: str,
    path: Path,
    names: list[str],
    size: int,
    dynamic: bool,
    example: torch.Tensor,
    log: Callable[[str], None],
) -> list[LatencyRow]:
    """Eager, TorchScript and onnxruntime at batch 1 and 32 on each device; the format not
    exported is made in a temporary folder for the table (with the same batch rule)."""
    log("timing eager PyTorch, TorchScript and onnxruntime (median ms per batch) ...")
    rows: list[LatencyRow] = []
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    with tempfile.TemporaryDirectory() as tmp:
        files = {fmt: path}
        other = "torchscript" if fmt == "onnx" else "onnx"
        files[other] = Path(tmp) / f"model{SUFFIX[other]}"
        try:
            _write(other, model, example, names, files[other], dynamic)
        except ExportError as exc:
            files.pop(other)
            log(f"(no {other} timing: {exc})")
        ort_devices = onnxruntime_devices() if "onnx" in files else []
        # Each runtime is timed on its own, one after the other, and its model let go before
        # the next: runtimes interleaved compete for the cores (onnxruntime's spinning threads).
        for device in devices:
            inputs = {b: torch.rand(b, 3, size, size, device=device) * 255 for b in BATCHES}
            eager = copy.deepcopy(model).to(device)
            for batch, x in inputs.items():
                rows.append(_row("PyTorch eager", device, batch, lambda m=eager, x=x: _no_grad(m, x)))
            del eager
            script = load_torchscript(files["torchscript"], device) if "torchscript" in files else None
            for batch, x in inputs.items():
                if script is None:
                    rows.append(LatencyRow("TorchScript", device, batch, None, "not exported"))
                elif not dynamic and batch != 1:
                    rows.append(LatencyRow("TorchScript", device, batch, None, BATCH_ONE_NOTE))
                else:
                    rows.append(_row("TorchScript", device, batch, lambda s=script, x=x: _no_grad(s, x)))
            del script
            threads = torch.get_num_threads()  # the same cores as PyTorch had
            session = onnx_session(files["onnx"], device, threads) if device in ort_devices else None
            for batch, x in inputs.items():
                if session is None:
                    note = "no CUDA provider in onnxruntime" if "onnx" in files else "not exported"
                    rows.append(LatencyRow("onnxruntime", device, batch, None, note))
                elif not dynamic and batch != 1:
                    rows.append(LatencyRow("onnxruntime", device, batch, None, BATCH_ONE_NOTE))
                else:
                    feed = {"images": x.cpu().numpy()}
                    rows.append(_row("onnxruntime", device, batch, lambda s=session, f=feed: s.run(None, f)))
            del session
    order = {"PyTorch eager": 0, "TorchScript": 1, "onnxruntime": 2}  # the table by device, batch, runtime
    return sorted(rows, key=lambda r: (devices.index(r.device), r.batch, order[r.runtime]))


def _row(runtime: str, device: str, batch: int, fn: Callable[[], Any]) -> LatencyRow:
    try:
        runs = timed_runs(fn, device)
        return LatencyRow(
            runtime, device, batch, statistics.median(runs), spread_ms=interquartile_ms(runs), runs=len(runs)
        )
    except Exception as exc:  # e.g. a trace that fixed the batch size
        first = str(exc).strip().splitlines()[0][:80] if str(exc).strip() else type(exc).__name__
        return LatencyRow(runtime, device, batch, None, f"failed: {first}")


def _no_grad(module: Any, x: torch.Tensor) -> Any:
    with torch.no_grad():
        return module(x)
