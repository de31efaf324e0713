"""``workbench baselines RUN_OR_CONFIG``: single-task baselines and the run's Δm."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.shell_command import workbench_command


def add_parser(sub: Any, default_runs: str) -> None:
    b = sub.add_parser(
        "baselines",
        help="train (or reuse) each task's single-task baseline and write a run's Δm",
        description="Trains each task alone with the same data, backbone, budget and seed, or reuses a "
        "finished run of the same configuration; for a finished run, writes its Δm into summary.json.",
    )
    b.add_argument("target", help="a run folder, or an experiment TOML")
    b.add_argument(
        "--out", help=f"runs folder for the baselines (default: the run's folder, else ./{default_runs})"
    )
    b.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    b.add_argument("--quiet", action="store_true", help="no progress bar")


def train_with_progress(quiet: bool, again: str | None = None) -> Callable[[Any, Any, bool], dict[str, Any]]:
    """A ``train(config, store, resume)`` for the CLI: progress bar, Ctrl-C stops cleanly;
    ``again`` is the command a stopped run says to continue with."""
    from workbench import cli

    def train(cfg: Any, store: Any, resume: bool) -> dict[str, Any]:
        cli.last_run_summary = {}
        cli._run_trainer(cfg, store, resume=resume, quiet=quiet, again=again)
        if cli.last_run_summary.get("not_started"):  # refused: the file still says what it said
            return cli.last_run_summary
        return store.read_summary()

    return train


def _unwritable(runs_root: Path, store: Any, out: str | None) -> str | None:
    """Why the baselines' runs folder, or the run whose summary takes the Δm, cannot be
    written (a read-only disk, no permission), with the way out; None when both can."""
    import os

    def why(folder: Path) -> str:
        try:
            return "a read-only file system" if os.statvfs(folder).f_flag & os.ST_RDONLY else "no permission"
        except OSError:
            return "no permission"

    if store is not None and not os.access(store.path, os.W_OK):
        return (
            f"cannot write {store.path} ({why(store.path)}): its summary.json takes the Δm; copy the run "
            "to a folder you can write and give the copy"
        )
    existing = next((p for p in (runs_root, *runs_root.absolute().parents) if p.exists()), None)
    if existing is not None and existing.is_dir() and not os.access(existing, os.W_OK):
        return f"cannot write the baselines into {runs_root}: {existing} is not writable ({why(existing)}); give --out DIR"
    return None


def _split_problem(cfg: Any, run_dir: Path) -> str | None:
    """Why the baselines cannot train on the images and classes the run used (its
    ``split.json`` against the data folder as it is now), or None; the changes that still
    allow it (images gone or added) are printed as notes."""
    from workbench.data.source import DataSourceError
    from workbench.training import run_split
    from workbench.training.experiment import build_experiment, run_data_gone
    from workbench.training.run_split import SPLIT_FILE, SplitFileError

    if (gone := run_data_gone(cfg, run_dir / "config.toml")) is not None:
        return gone
    try:
        exp = build_experiment(cfg, with_data=False, pretrained=False, split_file=run_dir / SPLIT_FILE)
    except (SplitFileError, DataSourceError) as exc:
        return f"the baselines of {run_dir} must train on the images and classes it used: {exc}"
    stored = run_split.read(run_dir / SPLIT_FILE)
    if stored is not None:
        listed = sum(len(entry["val"]) for entry in stored["sources"] if entry is not None)
        parts = run_split.real_parts(exp.val_set)
        left = sum(len(part.records) for part in parts)
        if left < listed:  # the run's metrics are over images its baselines would not see
            kept = {str(r.image) for part in parts for r in part.records}
            gone = [
                name
                for entry, part in zip((e for e in stored["sources"] if e is not None), parts, strict=False)
                for name in entry["val"]
                if str(part.file_of(name)) not in kept
            ]
            shown = ", ".join(gone[:3]) + (f" and {len(gone) - 3} more" if len(gone) > 3 else "")
            return (
                f"{listed - left} of the {listed} validation images {run_dir} was scored on are no longer in its "
                f"data ({shown}): its baselines would be scored on other images, and Δm would compare the two. "
                "Restore them"
            )
    for note in exp.split_notes:
        print(f"note: {note}", file=sys.stderr)
    return None


def run(args: argparse.Namespace) -> int:
    from workbench.cli import _load
    from workbench.training.baselines import delta_m_entry, ensure_baselines
    from workbench.training.outcome import budget_spent, has_result, no_result_reason
    from workbench.training.run_store import RunStore

    target = Path(args.target)
    store = None
    if not target.exists():  # neither a run folder nor an experiment: say so, not "cannot read config"
        print(f"error: {target} does not exist; give a run folder or an experiment TOML", file=sys.stderr)
        return 2
    if target.is_dir():
        store = RunStore(target)
        if (reason := store.not_a_run_reason()) is not None:
            print(f"error: {reason}", file=sys.stderr)
            return 1
        summary = store.read_summary()
        status = store.effective_status(summary)
        if budget_spent(summary) and not has_result(summary):
            print(f"error: {store.path} has no result: {no_result_reason(summary)}", file=sys.stderr)
            return 1
        if status != "finished" and not (status == "stopped" and has_result(summary)):
            # hours of baselines for a Δm that cannot be computed yet
            print(
                f"error: {store.path} is {status}: Δm needs a finished run; finish it first "
                f"({workbench_command('resume', store.path)}), or give {store.config_path} to train only the baselines",
                file=sys.stderr,
            )
            return 1
        cfg = store.read_config()
        runs_root = Path(args.out) if args.out else store.path.parent
        if (problem := _split_problem(cfg, store.path)) is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 1
    else:
        cfg = _load(args.target)
        runs_root = Path(args.out or "runs")
    if len(cfg.tasks) < 2:
        print(f"error: {args.target} has one task: it is its own single-task baseline", file=sys.stderr)
        return 1
    if args.device is not None:  # "" is a value, and not a device
        cfg.train.device = args.device
    # said before hours of training, not after them: where the baselines and Δm are written
    if (problem := _unwritable(runs_root, store, args.out)) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    from workbench.training.run_store import runs_folder_too_long

    if (problem := runs_folder_too_long(runs_root)) is not None:
        print(f"error: cannot write {runs_root}: {problem}", file=sys.stderr)
        return 1
    again = workbench_command(
        "baselines", Path(args.target), *(["--out", Path(args.out)] if args.out else [])
    )
    from workbench.training.run_split import SPLIT_FILE

    split_from = (
        store.path / SPLIT_FILE if store is not None and (store.path / SPLIT_FILE).is_file() else None
    )
    from workbench import cli

    cli.continue_hint = again  # said if a second signal aborts
    with cli.stop_between_runs():
        baselines = ensure_baselines(
            cfg,
            runs_root,
            train_with_progress(args.quiet, again),
            split_from=split_from,
            stop=lambda: cli.command_stop_signal is not None,
        )
    if cli.command_stop_signal:  # no Δm from a stopped set of baselines; running it again continues
        print(f"stopped; continue with: {again}")
        return cli.signal_exit_status(cli.command_stop_signal)
    if baselines is None:
        return 1
    if store is None:
        return 0
    summary = store.read_summary()
    if not has_result(summary):
        print(f"baselines ready; {store.path} is {summary.get('status')}: Δm needs a finished run")
        return 0
    try:
        entry = delta_m_entry(summary, baselines)
    except ValueError as exc:  # e.g. a single-task metric of 0: no relative change exists
        summary["delta_m"], summary["delta_m_note"] = None, f"undefined: {exc}"  # said, as a null with why
        store.write_summary(summary)
        print(f"error: Δm of {store.path} is undefined: {exc}; the baselines are kept", file=sys.stderr)
        return 1
    summary.pop("delta_m_note", None)
    summary["delta_m"] = entry
    store.write_summary(summary)
    print(f"Δm (Maninis, lower is better): {entry['maninis']:+.2f} %")
    if entry["libmtl"] is None:
        print(f"Δp (LibMTL, over every metric) is {entry.get('libmtl_note', 'undefined')}")
    else:
        print(f"Δp (LibMTL, over every metric, higher is better): {entry['libmtl']:+.2f} %")
    for task, change in entry["per_task"].items():
        print(f"  {task} {entry['metric'][task]}: {change:+.2f} % against {entry['baseline_runs'][task]}")
    return 0
