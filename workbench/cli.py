"""``workbench``: the desktop app with no arguments; ``workbench train|eval|resume|config`` headless."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

DEFAULT_RUNS = "runs"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description="Multi-task learning workbench")
    sub = p.add_subparsers(dest="command")

    t = sub.add_parser("train", help="train an experiment headless")
    t.add_argument("config", nargs="?", help="experiment TOML (default: the built-in experiment)")
    t.add_argument("--out", default=DEFAULT_RUNS, help="runs folder (default: ./runs)")
    t.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--epochs", type=int, help="override train.epochs")
    t.add_argument("--time-limit", type=float, help="stop cleanly after this many seconds")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("eval", help="re-evaluate a run's checkpoint on its validation set")
    e.add_argument("run_dir")
    e.add_argument("--checkpoint", choices=["best", "last"], default="best")
    e.add_argument("--device")

    r = sub.add_parser("resume", help="continue a stopped or killed run from its last checkpoint")
    r.add_argument("run_dir")
    r.add_argument("--device")
    r.add_argument("--quiet", action="store_true")

    c = sub.add_parser("config", help="print the built-in experiment as TOML")
    c.add_argument("--out", help="write to this file instead of stdout")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        return _gui()
    try:
        return {"train": _train, "eval": _eval, "resume": _resume, "config": _config}[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line instead of a traceback
        from workbench.config import ConfigError

        if isinstance(exc, ConfigError):
            print(f"error: config: {exc}", file=sys.stderr)
            return 2
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _gui() -> int:
    try:
        from workbench.gui.app import run_app
    except ImportError as exc:
        print(f"error: the desktop app is not available: {exc}", file=sys.stderr)
        return 1
    return run_app(sys.argv[:1])


def _load(path: str | None):
    from workbench.config import default_experiment, load_config, validate_experiment

    if path:
        return load_config(path)
    cfg = default_experiment()
    validate_experiment(cfg)
    return cfg


def _train(args: argparse.Namespace) -> int:
    from workbench.config import validate_experiment
    from workbench.training.run_store import RunStore

    cfg = _load(args.config)
    if args.device:
        cfg.train.device = args.device
    if args.epochs is not None:
        cfg.train.epochs = args.epochs
    if args.time_limit is not None:
        cfg.train.time_limit_s = args.time_limit
    validate_experiment(cfg)
    store = RunStore.create(args.out, cfg.name)
    return _run_trainer(cfg, store, resume=False, quiet=args.quiet)


def _resume(args: argparse.Namespace) -> int:
    from workbench.training.run_store import RunStore

    store = RunStore(args.run_dir)
    if not store.last_checkpoint.exists():
        print(f"error: {store.path} has no checkpoint to resume from", file=sys.stderr)
        return 1
    cfg = store.read_config()
    if args.device:
        cfg.train.device = args.device
    return _run_trainer(cfg, store, resume=True, quiet=args.quiet)


def _run_trainer(cfg, store, resume: bool, quiet: bool) -> int:
    from workbench.cli_progress import ProgressPrinter
    from workbench.training.control import RunControl
    from workbench.training.trainer import Trainer

    control = RunControl()
    printer = ProgressPrinter(enabled=not quiet)

    def on_sigint(signum: int, frame: Any) -> None:
        if control.stop_requested:
            raise KeyboardInterrupt
        print("\nstopping after this step (Ctrl-C again to abort)...", file=sys.stderr)
        control.request_stop()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        summary = Trainer(cfg, store, control, [printer], resume=resume).run()
    finally:
        signal.signal(signal.SIGINT, previous)
        printer.close()
    status = summary.get("status")
    print(f"run directory: {store.path}")
    if status == "failed":
        print(f"error: run failed: {summary.get('error', 'unknown error')}", file=sys.stderr)
        return 1
    for task, metrics in summary.get("final_metrics", {}).items():
        print(f"  {task}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    if status == "stopped":
        print(f"stopped; continue with: workbench resume {store.path}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    import torch

    from workbench.training.device import Precision, resolve_device
    from workbench.training.evaluation import evaluate
    from workbench.training.experiment import build_experiment
    from workbench.training.run_store import RunStore
    from workbench.training.trainer import load_checkpoint

    store = RunStore(args.run_dir)
    cfg = store.read_config()
    path = store.best_checkpoint if args.checkpoint == "best" else store.last_checkpoint
    if not path.exists():
        print(f"error: {path} does not exist", file=sys.stderr)
        return 1
    device = resolve_device(args.device or cfg.train.device)
    exp = build_experiment(cfg, with_data=False)
    exp.model.load_state_dict(load_checkpoint(path)["model"])
    model = exp.model.to(device)
    if cfg.model.channels_last:
        model = model.to(memory_format=torch.channels_last)
    precision = Precision(device, cfg.train.amp)
    losses, metrics, _ = evaluate(model, exp.tasks, exp.val_set, cfg.train.batch_size, device, precision, 0)
    result = {"checkpoint": str(path), "val_losses": losses, "val_metrics": metrics}
    from workbench.fsutil import atomic_write_json

    atomic_write_json(store.path / f"eval_{args.checkpoint}.json", result)
    for task, values in metrics.items():
        print(f"{task}: loss {losses[task]:.4f}, " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
    return 0


def _config(args: argparse.Namespace) -> int:
    from workbench.config import config_to_toml, default_experiment

    text = config_to_toml(default_experiment())
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2)


if __name__ == "__main__":
    sys.exit(main())
