"""``workbench baselines RUN_OR_CONFIG``: single-task baselines and the run's Δm."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


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
    from workbench.cli import _run_trainer

    def train(cfg: Any, store: Any, resume: bool) -> dict[str, Any]:
        _run_trainer(cfg, store, resume=resume, quiet=quiet, again=again)
        return store.read_summary()

    return train


def run(args: argparse.Namespace) -> int:
    from workbench.cli import _load
    from workbench.training.baselines import delta_m_entry, ensure_baselines
    from workbench.training.outcome import budget_spent, has_result, no_result_reason
    from workbench.training.run_store import RunStore

    target = Path(args.target)
    store = None
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
                f"(workbench resume {store.path}), or give {store.config_path} to train only the baselines",
                file=sys.stderr,
            )
            return 1
        cfg = store.read_config()
        runs_root = Path(args.out) if args.out else store.path.parent
    else:
        cfg = _load(args.target)
        runs_root = Path(args.out or "runs")
    if len(cfg.tasks) < 2:
        print(f"error: {args.target} has one task: it is its own single-task baseline", file=sys.stderr)
        return 1
    if args.device is not None:  # "" is a value, and not a device
        cfg.train.device = args.device
    again = shlex.join(
        ["workbench", "baselines", str(args.target), *(["--out", args.out] if args.out else [])]
    )
    baselines = ensure_baselines(cfg, runs_root, train_with_progress(args.quiet, again))
    if baselines is None:
        from workbench import cli

        return cli.signal_exit_status(cli.last_stop_signal) if cli.last_stop_signal else 1
    if store is None:
        return 0
    summary = store.read_summary()
    if not has_result(summary):
        print(f"baselines ready; {store.path} is {summary.get('status')}: Δm needs a finished run")
        return 0
    try:
        entry = delta_m_entry(summary, baselines)
    except ValueError as exc:  # e.g. a single-task metric of 0: no relative change exists
        print(f"error: Δm of {store.path} is undefined: {exc}; the baselines are kept", file=sys.stderr)
        return 1
    summary["delta_m"] = entry
    store.write_summary(summary)
    print(f"Δm (Maninis, lower is better): {entry['maninis']:+.2f} %")
    print(f"Δp (LibMTL, higher is better): {entry['libmtl']:+.2f} %")
    for task, change in entry["per_task"].items():
        print(f"  {task} {entry['metric'][task]}: {change:+.2f} % against {entry['baseline_runs'][task]}")
    return 0
