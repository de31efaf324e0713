"""``workbench sweep SWEEP.toml``: run a sweep's queue, then its Δm, table and charts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from workbench.shell_command import workbench_command


def add_parser(sub: Any, default_runs: str) -> None:
    s = sub.add_parser(
        "sweep",
        help="run a series of experiments (sharing depths, methods, task sets, seeds) into a sweep folder",
        description="Runs every experiment of SWEEP.toml not finished yet (a killed sweep continues where "
        "it stopped), then writes Δm against single-task baselines, results.csv, table.csv and charts.",
    )
    s.add_argument("sweep", help="the sweep TOML")
    s.add_argument(
        "--out", default=default_runs, help=f"folder for sweep folders (default: ./{default_runs})"
    )
    s.add_argument(
        "--devices",
        help="comma-separated devices, one experiment per device at a time (e.g. cuda:0,cuda:1)",
    )
    s.add_argument("--retry-failed", action="store_true", help="train failed experiments again")
    s.add_argument("--list", action="store_true", help="print the experiments and exit")
    s.add_argument("--quiet", action="store_true", help="no progress bar")


_running: set[Any] = set()  # the RunControl of each run training in a thread


def _threaded_train(cfg: Any, store: Any, resume: bool) -> dict[str, Any]:
    """Several devices: a plain Trainer per thread (signals belong to the main thread, whose
    handler stops these runs through their controls)."""
    from workbench.training.control import RunControl
    from workbench.training.trainer import Trainer

    control = RunControl()
    _running.add(control)
    try:
        return Trainer(cfg, store, control, resume=resume).run()
    finally:
        _running.discard(control)


def _stop_threads() -> None:
    for control in list(_running):
        control.request_stop()


def parse_devices(text: str | None) -> list[str] | None:
    """``--devices`` as a list: each one a valid device name that exists on this machine,
    no repeats. None when not given. Raises ConfigError naming ``--devices`` (before any
    sweep or run folder exists)."""
    from workbench.config import ConfigError, validate_device
    from workbench.training.device import DeviceUnavailable, resolve_device

    if text is None:
        return None
    devices = [d.strip() for d in text.split(",") if d.strip()]
    if not devices:
        raise ConfigError("--devices", f"{text!r} names no device; e.g. cuda:0,cuda:1 or cpu")
    for device in devices:
        validate_device("--devices", device)
        try:
            resolve_device(device)
        except DeviceUnavailable as exc:
            raise ConfigError("--devices", str(exc)) from None
    repeated = sorted({d for d in devices if devices.count(d) > 1})
    if repeated:
        raise ConfigError(
            "--devices", f"{', '.join(repeated)} named twice; one experiment per device at a time"
        )
    return devices


def run(args: argparse.Namespace) -> int:
    from workbench.cli_baselines import train_with_progress
    from workbench.config import ConfigError
    from workbench.sweep.queue import run_sweep
    from workbench.sweep.spec import load_sweep

    try:
        spec = load_sweep(args.sweep)
    except ConfigError as exc:  # the sweep file's own field, or its base config's
        raise exc.in_file(args.sweep) from None
    devices = parse_devices(args.devices)
    if args.list:
        for item in spec.items():
            print(item.key)
        return 0
    from workbench import cli

    again = workbench_command("sweep", Path(args.sweep), "--out", Path(args.out))
    train = _threaded_train if devices and len(devices) > 1 else train_with_progress(args.quiet, again)
    cli.continue_hint = again  # said if a second signal aborts
    with cli.stop_between_runs(_stop_threads):
        outcome = run_sweep(
            spec,
            args.out,
            train,
            devices=devices,
            retry_failed=args.retry_failed,
            stop=lambda: cli.command_stop_signal is not None,
        )
    print(
        f"sweep {spec.name}: {len(outcome.finished)} finished, {len(outcome.failed)} failed, "
        + (f"{len(outcome.stopped)} stopped, " if outcome.stopped else "")
        + f"{len(outcome.skipped)} not run; folder {outcome.folder}"
    )
    for key, error in outcome.failed.items():
        print(f"  failed {key}: {error}", file=sys.stderr)
    if cli.command_stop_signal:  # stopped by Ctrl-C / SIGTERM: not a finish, even if every run did
        print(f"stopped; continue with: {again}")
        return cli.signal_exit_status(cli.command_stop_signal)
    return 1 if outcome.failed else 0
