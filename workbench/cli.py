"""``workbench``: the desktop app with no arguments; ``workbench
train|eval|resume|baselines|sweep|export|config|data|weights`` headless."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workbench.shell_command import workbench_command

DEFAULT_RUNS = "runs"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description="Multi-task learning workbench")
    p.add_argument(
        "--version", action="store_true", help="print the versions of the app, Python, PyTorch, CUDA and Qt"
    )
    p.add_argument(
        "--smoke-test",
        action="store_true",
        help="start the app, show the window, load PyTorch, quit; prints the times (a packaged app's check)",
    )
    sub = p.add_subparsers(dest="command")

    t = sub.add_parser("train", help="train an experiment headless")
    t.add_argument("config", nargs="?", help="experiment TOML (default: the built-in experiment)")
    t.add_argument("--out", default=DEFAULT_RUNS, help="runs folder (default: ./runs)")
    t.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--epochs", type=int, help="override train.epochs")
    t.add_argument("--time-limit", type=float, help="stop cleanly after this many seconds")
    t.add_argument(
        "--init-from",
        metavar="CHECKPOINT",
        help="start from the weights of a checkpoint or weights file (where names and shapes match)",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("eval", help="re-evaluate a run's checkpoint on its validation set")
    e.add_argument("run_dir", help="the run's folder (holding config.toml and checkpoints/)")
    e.add_argument(
        "--checkpoint",
        choices=["best", "last"],
        default="best",
        help="best: the epoch of the best validation score; last: the latest epoch (default: best)",
    )
    e.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default: the run's train.device)")

    r = sub.add_parser(
        "resume",
        help="continue a stopped or killed run from its last checkpoint (from the start if it ended before its first one)",
    )
    r.add_argument("run_dir", help="the run's folder (holding config.toml and checkpoints/)")
    r.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default: the run's train.device)")
    r.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="train at most this many more seconds; 0 lifts the limit (default: the run's train.time_limit_s, "
        "which counts all of its training)",
    )
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    d = sub.add_parser("data", help="annotated image sets")
    dsub = d.add_subparsers(dest="data_command", required=True)
    dc = dsub.add_parser(
        "check", help="what is in a COCO / VOC / YOLO / image-folder set, and every problem with its file"
    )
    dc.add_argument("path", help="a COCO .json, a YOLO data.yaml, or the set's folder")
    dc.add_argument("--format", metavar="FORMAT", help="coco, voc, yolo or folder (default: detected)")
    dc.add_argument("--images", help="image folder of a COCO file (default: beside it or images/)")
    dc.add_argument("--all", action="store_true", help="list every problem (default: the first 50)")
    dx = dsub.add_parser(
        "export",
        help="write an experiment's data (default: the built-in shapes scenes) as COCO, VOC or YOLO",
        description="Write an experiment's data as its model sees it: each image letterboxed to the "
        "experiment's image size, as a PNG named by its place in the split (000000.png ...), with "
        "class ids in the experiment's class order. A set read from files gets sources.csv beside "
        "it, naming each written image's original file. Meant to try another tool or importer on "
        "the same samples, not to convert a set at its full resolution.",
    )
    dx.add_argument("out", help="folder to write (created; must be empty or new)")
    dx.add_argument("--format", metavar="FORMAT", required=True, help="coco, voc or yolo")
    dx.add_argument("--config", help="experiment TOML whose data is written (default: the built-in one)")
    dx.add_argument(
        "--train-size",
        type=int,
        help="images of the training split: scenes generated (shapes), or the first N of a set (default: all)",
    )
    dx.add_argument(
        "--val-size",
        type=int,
        help="images of the validation split: scenes generated (shapes), or the first N of a set (default: all)",
    )

    w = sub.add_parser(
        "weights", help="which backbones have ImageNet weights in torchvision's cache (never downloads)"
    )
    w.add_argument("--no-check", action="store_true", help="do not load the files, only look for them")

    from workbench import cli_baselines, cli_export, cli_sweep

    cli_baselines.add_parser(sub, DEFAULT_RUNS)
    cli_sweep.add_parser(sub, DEFAULT_RUNS)
    cli_export.add_parser(sub)
    c = sub.add_parser("config", help="print the built-in experiment as TOML")
    c.add_argument("--out", help="write to this file instead of stdout (a new file, unless --force)")
    c.add_argument("--force", action="store_true", help="replace an existing --out file")
    return p


def main(argv: list[str] | None = None) -> int:
    # started with stdout or stderr closed (`>&-`), Python has None there: what would be
    # printed goes nowhere, as for the commands that never print ("'NoneType' has no write")
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - for the process
    args = _parser().parse_args(argv)
    if (gone := _working_folder_gone()) is not None:
        print(f"error: {gone}", file=sys.stderr)
        return 2
    if args.version:
        from workbench.versions import version_lines

        if _rank() == 0:  # once for a torchrun job
            print("\n".join(version_lines()))
        return 0
    if args.command is None and _world_size() > 1:
        return _not_under_torchrun("the app")
    if args.command is None:
        return _gui(smoke_test=args.smoke_test)
    if args.command not in DISTRIBUTED_COMMANDS and _world_size() > 1:
        return _not_under_torchrun(f"'workbench {args.command}'")
    global last_stop_signal, command_stop_signal, continue_hint
    last_stop_signal = None  # per command (tests call main several times in one process)
    command_stop_signal = None
    continue_hint = None
    previous = _stop_signals_abort()
    try:
        commands = {
            "train": _train,
            "eval": _eval,
            "resume": _resume,
            "config": _config,
            "data": _data,
            "weights": _weights,
            "baselines": _baselines,
            "sweep": _sweep,
            "export": _export,
        }
        return commands[args.command](args)
    except KeyboardInterrupt:  # a second stop signal, or Ctrl-C outside a run's handler
        if _rank() == 0:  # one line for a torchrun job, whose every process got the signal
            print(
                "interrupted"
                + (f"; continue with: {continue_hint}" if continue_hint else _nothing_begun(args)),
                file=sys.stderr,
            )
        signum = command_stop_signal or last_stop_signal or signal.SIGINT
        return signal_exit_status(signum)
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # one clear line instead of a traceback
        from workbench.config import ConfigError

        try:
            from workbench.training.trainer import describe_error
        except Exception:  # the error is in importing the project itself (an extension's clash)
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if isinstance(exc, ConfigError):
            # every process of a torchrun job reads the same file: the first says it
            if _rank() == 0:
                print(f"error: config: {exc}", file=sys.stderr)
            return 2
        print(f"error: {describe_error(exc)}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_signals_abort() -> dict:
    """Until a run installs its own handlers (stop after the step, keep a checkpoint), a
    SIGTERM or SIGHUP ends the command as Ctrl-C does: one "interrupted" line and 128 + N,
    where the default action killed it in silence (for instance while torch was imported).
    Returns the handlers it replaced."""

    def on_signal(signum: int, frame: Any) -> None:
        global command_stop_signal
        command_stop_signal = command_stop_signal or signum
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS if sig != signal.SIGINT}


def _nothing_begun(args: argparse.Namespace) -> str:
    """Said with "interrupted" when no run had begun (reading the data, importing torch)."""
    if args.command == "train":
        return " before the run began; nothing was saved"
    if args.command == "sweep":  # before its queue took a run (the import of torch, its checks)
        again = workbench_command("sweep", Path(args.sweep), "--out", Path(args.out))
        return f" before the sweep began a run; continue with: {again}"
    if args.command == "resume":  # the trainer's own handler takes over once it resumes
        again = workbench_command("resume", Path(args.run_dir))
        return f" before the resume began; {args.run_dir} is as it was; continue with: {again}"
    return ""


# What a torchrun job runs: each process trains its slice. Every other command would run
# once per process (a sweep took its lock in one and was stopped by the other's failure).
DISTRIBUTED_COMMANDS = ("train", "resume")


def _not_under_torchrun(what: str) -> int:
    if _rank() == 0:  # one line for the job
        print(
            f"error: {what} does not run under torchrun, only 'workbench train' and 'workbench resume' do; "
            "start it without torchrun (a sweep or baselines trains its runs one after another in one "
            "process)",
            file=sys.stderr,
        )
    return 2


def _world_size() -> int:
    """The processes of this torchrun job (WORLD_SIZE), 1 outside one or when unreadable."""
    import os

    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def _rank() -> int:
    """This process's rank in a torchrun job (RANK), 0 outside one or when unreadable."""
    import os

    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _export(args: argparse.Namespace) -> int:
    from workbench import cli_export

    return cli_export.run(args)


def _gui(smoke_test: bool = False) -> int:
    from workbench.system_check import problem

    missing = problem()  # missing X11 libraries: one line instead of Qt's abort
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return 1
    try:
        from workbench.gui.app import run_app
    except ImportError as exc:
        print(f"error: the desktop app is not available: {exc}", file=sys.stderr)
        return 1
    return run_app(sys.argv[:1], smoke_test=smoke_test)


def _load(path: str | None):
    from workbench.config import ConfigError, default_experiment
    from workbench.experiment_check import check_method_imports, load_config, validate_experiment

    if path:
        try:
            cfg = load_config(path)
        except ConfigError as exc:  # which file: a sweep's base or the user's own
            raise exc.in_file(path) from None
    else:
        cfg = default_experiment()
        validate_experiment(cfg)
    check_method_imports(cfg)  # a damaged solver install is a config error now, not a run that fails
    return cfg


def _train(args: argparse.Namespace) -> int:
    from workbench.config import ConfigError
    from workbench.experiment_check import validate_experiment
    from workbench.training.experiment import absolute_paths, build_data, path_problem
    from workbench.training.preflight import check_sources, preflight
    from workbench.training.run_store import RunStore

    cfg = _load(args.config)
    if args.device is not None:  # "" is a value, and not a device
        _check_device(args.device)
        cfg.train.device = args.device
    if args.epochs is not None:
        cfg.train.epochs = args.epochs
    if args.time_limit is not None:
        cfg.train.time_limit_s = args.time_limit
    validate_experiment(cfg)
    absolute_paths(cfg)  # the run folder's config must not depend on where it was started
    problem = path_problem(cfg)  # a data path not there, or of the wrong kind: its field, not an OS error
    if problem is not None:
        error = ConfigError(*problem)
        raise error.in_file(args.config) if args.config else error
    # What the model cannot train, and what it cannot read, is refused before a run folder exists.
    files = [s.path for s in cfg.data.source_list() if s.source != "shapes"]
    if files and not args.quiet and _rank() == 0:  # a large set takes a while, said
        print(f"reading the data: {', '.join(files)}…", file=sys.stderr, flush=True)
    try:  # what the data cannot feed is a config error of this file: named as the others are
        infos = build_data(cfg, "val").task_infos
        n_train = len(build_data(cfg, "train").dataset)
        preflight(cfg, n_train, infos, processes=_world_size())
    except ConfigError as exc:
        raise exc.in_file(args.config) if args.config else exc from None
    try:
        check_sources(cfg, infos, args.init_from)
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from workbench.training.distributed import Distributed, DistributedSetupError, check_weighting

    dist = Distributed.from_env(cfg.train.device)  # under torchrun: join the other processes
    if dist.enabled:  # what cannot run on several processes is refused before a run folder exists
        try:
            check_weighting(cfg.weighting.method)
            dist.check_batch(min(cfg.train.batch_size, n_train), cfg.train.batch_size)
        except DistributedSetupError as exc:
            if dist.is_main:  # one line for the job, not one per process
                print(f"error: {exc}", file=sys.stderr)
            dist.close()
            return 2
    # one run folder for the job: rank 0 makes it, the others are told where it is
    created = RunStore.create(args.out, cfg.name) if dist.is_main else None
    path = dist.broadcast_object(str(created.path) if created else None)
    store = created or RunStore(path)
    status = _run_trainer(cfg, store, resume=False, quiet=args.quiet, init_from=args.init_from, dist=dist)
    if created is not None and status != 0:
        with contextlib.suppress(OSError):  # a folder the run never wrote to (e.g. a full disk) goes
            created.path.rmdir()
    return status


def _data(args: argparse.Namespace) -> int:
    """``data check``: exit 0 when the set is usable, 2 with one line when it is not;
    ``data export``: write the experiment's data in a standard format."""
    if args.data_command == "export":
        return _data_export(args)
    from workbench.data.dataset_check import DatasetError, check_dataset
    from workbench.data.import_report import one_line

    try:
        result = check_dataset(args.path, args.format, args.images)
    except DatasetError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except (OSError, ValueError, RecursionError) as exc:  # a case the readers did not foresee
        print(
            f"error: {args.path}: cannot check: {one_line(f'{type(exc).__name__}: {exc}')}", file=sys.stderr
        )
        return 2
    print("\n".join(result.lines(None if args.all else 50)))
    if not result.tasks:  # images, but nothing a task could learn from: the report says why
        print(
            f"error: {result.path}: no usable annotations ({result.format}): no task could be trained",
            file=sys.stderr,
        )
        return 2
    return 0


def _weights(args: argparse.Namespace) -> int:
    """Where each backbone's ImageNet file is expected, and whether it is there and loads."""
    from workbench.models.weights_report import weights_status

    rows = weights_status(check=not args.no_check)
    width = max(len(r.backbone) for r in rows)
    for r in rows:
        fit = f" ({r.matched}/{r.total} tensors fit)" if r.total else ""
        where = f"  {r.path}" if r.path else ""
        print(f"{r.backbone:<{width}}  {r.state}{fit}{where}")
    print("copy missing files to the folder shown (torchvision's cache); the app never downloads")
    return 0


def _data_export(args: argparse.Namespace) -> int:
    from workbench.data.export import EXPORT_FORMATS, SOURCES_FILE, boxes_part, export_dataset
    from workbench.fsutil import SaveFailed
    from workbench.training.experiment import build_data, image_size

    if args.format not in EXPORT_FORMATS:  # worded as data check words it
        print(f"error: --format: {args.format!r} is not one of {', '.join(EXPORT_FORMATS)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"error: {out}: is a file, not a folder; choose a new folder", file=sys.stderr)
        return 2
    if out.exists() and any(out.iterdir()):
        print(f"error: {out}: is a folder that is not empty; choose a new one", file=sys.stderr)
        return 2
    cfg = _load(args.config)
    for split, limit in (("train", args.train_size), ("val", args.val_size)):
        if limit is not None and limit < 1:
            print(f"error: --{split}-size must be at least 1, got {limit}", file=sys.stderr)
            return 2
    if cfg.data.source == "shapes" and not cfg.data.sources:  # generated: as many scenes as asked
        for key, size in (("train_size", args.train_size), ("val_size", args.val_size)):
            if size is not None:
                cfg.data.options[key] = size
        from workbench.experiment_check import validate_experiment

        validate_experiment(cfg)  # a size out of the source's limits: one line from main
    splits = {}
    for split, limit in (("train", args.train_size), ("val", args.val_size)):
        built = build_data(cfg, split).dataset
        try:
            dataset = boxes_part(built)  # of several sources, the one with boxes
        except ValueError as exc:
            print(f"error: {args.config or 'the built-in experiment'}: {exc}", file=sys.stderr)
            return 2
        if split == "train" and getattr(built, "parts", None):
            for i, (src, (_part, keys)) in enumerate(zip(cfg.data.sources, built.parts, strict=False)):
                if "boxes" not in keys:  # its images are unlabelled for boxes: not written, said
                    print(
                        f"note: data.sources[{i}] ({src.source} {src.path}, tasks {', '.join(src.tasks)}) has no "
                        "boxes and is not written",
                        file=sys.stderr,
                    )
        if hasattr(dataset, "as_files"):
            dataset.as_files()  # as the files hold them: no augmentation, no stand-ins
        if limit is not None:
            if limit > len(dataset):  # a set on disk has what it has
                print(
                    f"note: --{split}-size {limit}: the {split} split has {len(dataset)} images; all are written",
                    file=sys.stderr,
                )
            dataset = _First(dataset, limit)
        splits[split] = dataset
    total = sum(len(d) for d in splits.values())
    done = [0]

    def progress(split: str, i: int, n: int) -> None:
        done[0] += 1
        if done[0] % 200 == 0 or done[0] == total:
            print(f"\r{done[0]}/{total} images", end="", file=sys.stderr, flush=True)

    existed = out.exists()

    def remove_partial() -> None:  # a part of a set is no set: what this command wrote goes
        import shutil

        if existed:  # it was empty: empty again
            for child in out.iterdir():
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        else:
            shutil.rmtree(out, ignore_errors=True)

    try:
        path, skipped, notes = export_dataset(splits, out, args.format, progress)
    except ValueError as exc:
        remove_partial()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SaveFailed as exc:
        remove_partial()
        print(file=sys.stderr)
        print(f"error: {exc}; the partial export was removed", file=sys.stderr)
        return 1
    except BaseException:
        remove_partial()  # whatever ended it (a fault, Ctrl-C): no half set left to be mistaken for one
        raise
    print(file=sys.stderr)
    for line in skipped + notes:
        print(f"warning: {line}", file=sys.stderr)
    written = total - len(skipped)
    if (out / SOURCES_FILE).is_file():  # a set from files: it is not copied, it is resampled
        side = image_size(cfg)
        print(
            f"note: the images are written as the model sees them: letterboxed to {side} x {side} px, "
            f"PNG, renamed 000000.png ...; {out / SOURCES_FILE} names each one's original file",
            file=sys.stderr,
        )
    print(
        f"wrote {written} images as {args.format} to {out}; check it with: {workbench_command('data', 'check', Path(path))}"
    )
    return 0


class _First:
    """The first ``n`` samples of a dataset."""

    def __init__(self, dataset: Any, n: int) -> None:
        self.dataset, self.n, self.info = dataset, min(n, len(dataset)), dataset.info

    def __len__(self) -> int:
        return self.n

    def sample(self, index: int) -> dict[str, Any]:
        return self.dataset.sample(index)

    @property
    def records(self) -> Any:  # a set from files: its images' original files
        return getattr(self.dataset, "records", None)


def _baselines(args: argparse.Namespace) -> int:
    from workbench import cli_baselines

    return cli_baselines.run(args)


def _sweep(args: argparse.Namespace) -> int:
    from workbench import cli_sweep

    return cli_sweep.run(args)


def _resume(args: argparse.Namespace) -> int:
    from workbench.training.run_store import RunStore

    store = RunStore(args.run_dir)
    if (reason := store.not_a_run_reason()) is not None:
        print(f"error: {reason}", file=sys.stderr)
        return 1
    cfg = store.read_config()
    if args.device is not None:  # "" is a value, and not a device
        _check_device(args.device)
        cfg.train.device = args.device
    if args.time_limit is not None:
        from workbench.config import ConfigError

        if not (0 <= args.time_limit <= 30 * 24 * 3600):  # NaN fails too
            raise ConfigError("--time-limit", f"{args.time_limit:g} is not between 0 and 2592000 seconds")
    from workbench.training.distributed import Distributed

    dist = Distributed.from_env(cfg.train.device)  # a resume may use another number of processes
    return _run_trainer(cfg, store, resume=True, quiet=args.quiet, dist=dist, more_time_s=args.time_limit)


def _check_device(device: str) -> None:
    from workbench.config import validate_device

    validate_device("--device", device)


# Signals that end a headless run the way Ctrl-C does: stop after this step, keep a checkpoint.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


# The signal that stopped the last run of this process (None: it was not stopped by one).
# A command that runs several (sweep, baselines) reads it to end with the same exit status.
last_stop_signal: int | None = None


# What continues the work after an abort (a second signal): "workbench resume RUN", or the
# sweep or baselines command itself.
continue_hint: str | None = None
# the summary the last ``_run_trainer`` returned: a resume refused before anything was
# written leaves the run's summary.json as it was ("running" after a kill), so callers
# that read the file back (sweeps, baselines) need this one to know why
last_run_summary: dict[str, Any] = {}

# The first stop signal of this command, kept across its runs: a sweep or `baselines`
# starts no further run after it, also when the run it came in still finished.
command_stop_signal: int | None = None


@contextlib.contextmanager
def stop_between_runs(on_stop: Callable[[], None] = lambda: None) -> Iterator[None]:
    """For commands that run several trainings: a stop signal that comes between two runs
    (or while results are written) is kept in ``command_stop_signal`` instead of ending the
    process mid-write, and ``on_stop`` is called (runs in other threads stop after their
    step); a second one aborts (KeyboardInterrupt)."""

    def on_signal(signum: int, frame: Any) -> None:
        global command_stop_signal
        if command_stop_signal is not None:
            raise KeyboardInterrupt
        command_stop_signal = signum
        print(f"\n{signal.Signals(signum).name}: no further run starts (again to abort)...", file=sys.stderr)
        on_stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def signal_exit_status(signum: int) -> int:
    """The shell's convention for a command ended by a signal: 128 + its number (130 for
    Ctrl-C, 143 for SIGTERM), so that `timeout` and scripts tell a stop from a finish."""
    return 128 + int(signum)


def _run_trainer(
    cfg,
    store,
    resume: bool,
    quiet: bool,
    init_from: str | None = None,
    dist=None,
    again: str | None = None,
    more_time_s: float | None = None,
) -> int:
    """Train and report; exit status 0 (finished, or stopped by its time limit), 1 (failed),
    or ``signal_exit_status`` when a signal stopped it. ``again`` replaces the command the
    stop message offers to continue with (a sweep continues by running the sweep again)."""
    from workbench.training.distributed import Distributed

    dist = dist or Distributed()
    try:
        return _train_and_report(cfg, store, resume, quiet, init_from, dist, again, more_time_s)
    finally:
        dist.close()


def _train_and_report(
    cfg,
    store,
    resume: bool,
    quiet: bool,
    init_from: str | None,
    dist,
    again: str | None = None,
    more_time_s: float | None = None,
) -> int:
    global last_stop_signal
    from workbench.cli_progress import ProgressPrinter
    from workbench.training.control import RunControl
    from workbench.training.trainer import Trainer

    control = RunControl()
    printer = ProgressPrinter(enabled=not quiet and dist.is_main, notes=dist.is_main)

    last_stop_signal = None

    def on_signal(signum: int, frame: Any) -> None:
        global last_stop_signal, command_stop_signal
        last_stop_signal = last_stop_signal or signum
        command_stop_signal = command_stop_signal or signum
        if control.stop_requested:
            raise KeyboardInterrupt  # the trainer marks the run "interrupted" on its way out
        name = signal.Signals(signum).name
        if dist.is_main:  # torchrun forwards the signal to every process: one line for the job
            print(f"\n{name}: stopping after this step (again to abort)...", file=sys.stderr)
        control.request_stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    global continue_hint
    continue_hint = again or workbench_command("resume", store.path)
    if command_stop_signal is not None:
        # a signal that came after a sweep or `baselines` decided to start this run (before
        # this handler was in place): the run stops at once, resumable, instead of training
        control.request_stop()
    try:
        summary = Trainer(
            cfg,
            store,
            control,
            [printer],
            resume=resume,
            init_from=init_from,
            dist=dist,
            more_time_s=more_time_s,
        ).run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        printer.close()
    global last_run_summary
    last_run_summary = summary
    status = summary.get("status")
    if status == "failed" and summary.get("not_started"):  # refused before anything was written
        error = str(summary.get("error", "unknown error"))
        print(f"error: {error}", file=sys.stderr)
        return 2 if error.startswith("config: ") else 1  # a config error is one, however late found
    signalled = status in ("stopped", "interrupted") and last_stop_signal is not None
    if not dist.is_main:  # rank 0 reports for the job
        if status == "failed":
            print(f"error: rank {dist.rank}: {summary.get('error', 'unknown error')}", file=sys.stderr)
        return 1 if status == "failed" else signal_exit_status(last_stop_signal) if signalled else 0
    if status == "failed":
        if _holds_files(store.path):  # an empty one (nothing could be written) is removed by `train`
            print(f"run directory: {store.path}")
        print(f"error: run failed: {summary.get('error', 'unknown error')}", file=sys.stderr)
        return 1
    print(f"run directory: {store.path}")
    for task, metrics in summary.get("final_metrics", {}).items():
        print(f"  {task}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in metrics.items()))
    from workbench.training.outcome import budget_spent, has_result

    if again is not None and budget_spent(summary):  # a sweep's or baselines' run: its budget is spent
        print(
            "time limit reached: this run's budget is spent; "
            + ("its last validated epoch is its result" if has_result(summary) else "it validated no epoch")
        )
    elif again is not None:  # a sweep or `baselines` says how to continue once, at its end
        pass
    elif budget_spent(summary):  # the limit counts all of the run's training
        further = workbench_command("resume", store.path, "--time-limit", "SECONDS")
        print(f"time limit reached; to train further: {further}")
    elif status == "stopped" and summary.get("not_started"):  # stopped while the data was read
        print(
            "stopped while reading the data; "
            + (
                f"the run is as it was; continue with: {workbench_command('resume', store.path)}"
                if resume
                else "nothing was saved"
            )
        )
    elif status in ("stopped", "interrupted"):
        print(f"{status}; continue with: {workbench_command('resume', store.path)}")
    return signal_exit_status(last_stop_signal) if signalled else 0


def _holds_files(folder: Any) -> bool:
    try:
        return any(Path(folder).iterdir())
    except OSError:
        return False


def _fmt(value: Any) -> str:
    if value is None:
        return "undefined"
    return f"{value:.4f}" if value == value and abs(value) != float("inf") else f"{value} (not finite)"


def _working_folder_gone() -> str | None:
    """Why the process cannot work where it was started (its folder was deleted); None when
    it can. torch's MKL aborts with "Cannot load libtorch_cpu.so" there, and the app's runs
    list raised FileNotFoundError while resolving its folder."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return (
            "the current folder no longer exists (it was deleted or moved after this shell entered "
            "it); cd to an existing folder and run the command again"
        )
    except OSError:
        return None
    return None


def _eval(args: argparse.Namespace) -> int:
    import torch

    from workbench.config import to_dict
    from workbench.training.checkpoint import (
        checkpoint_epoch,
        checkpoint_weights_text,
        load_checkpoint,
        load_model_state,
    )
    from workbench.training.device import Precision, resolve_device
    from workbench.training.evaluation import evaluate
    from workbench.training.experiment import build_experiment, run_data_gone
    from workbench.training.metrics_revision import METRICS_REVISION, eval_note, run_revision
    from workbench.training.run_split import SPLIT_FILE
    from workbench.training.run_store import RunFileError, RunStore

    store = RunStore(args.run_dir)
    if (reason := store.not_a_run_reason()) is not None:
        print(f"error: {reason}", file=sys.stderr)
        return 1
    try:
        summary = store.read_summary()  # a run of a newer schema is refused before anything is written
    except RunFileError as exc:  # damaged: not needed, the config and checkpoint are
        print(f"warning: {exc}; evaluating with config.toml and the checkpoint", file=sys.stderr)
        summary = None
    if summary is not None and store.effective_status(summary) in ("running", "paused"):
        print(
            f"warning: {store.path} is still training: its {args.checkpoint}.pt may be replaced after "
            "this evaluation (the result names the epoch it scored)",
            file=sys.stderr,
        )
    cfg = store.read_config()
    if args.device is not None:  # "" is a value, and not a device
        _check_device(args.device)
    path = store.best_checkpoint if args.checkpoint == "best" else store.last_checkpoint
    checkpoint = load_checkpoint(path, "best" if args.checkpoint == "best" else "last")
    epoch = checkpoint_epoch(checkpoint)
    if isinstance(checkpoint.get("config"), dict):
        from workbench.training.resume_check import describe, split_changes
        from workbench.training.run_split import SPLIT_FILE as KEPT_SPLIT
        from workbench.training.trainer import normalised_config

        # what a resume may change (epochs, the time limit, the device; the data's place
        # when the run keeps its images) is no warning: it was said on every eval of a
        # moved or resumed run
        _allowed, changed = split_changes(
            normalised_config(checkpoint["config"]),
            normalised_config(to_dict(cfg)),
            moved_data=(store.path / KEPT_SPLIT).is_file(),
        )
        if changed:
            shown = ", ".join(describe(c) for c in changed[:4]) + (" ..." if len(changed) > 4 else "")
            print(
                f"warning: {store.config_path} differs from the checkpoint's config ({shown}); "
                "evaluating with config.toml",
                file=sys.stderr,
            )
    device = resolve_device(args.device or cfg.train.device)
    if (gone := run_data_gone(cfg, store.config_path)) is not None:  # as resume says it
        print(f"error: {gone}", file=sys.stderr)
        return 1
    # the checkpoint holds every weight: the pretrained file (which may be gone) is not read
    exp = build_experiment(cfg, with_data=False, pretrained=False, split_file=store.path / SPLIT_FILE)
    print(f"{path}: the weights of {checkpoint_weights_text(checkpoint)}")  # said once the evaluation can run
    for note in exp.split_notes:  # the run's validation images, as the data folder changed
        print(f"note: {note}", file=sys.stderr)
    for line in _data_problems(exp.val_set):
        print(f"note: {line}", file=sys.stderr)
    if summary is not None and (revision := eval_note(run_revision(summary))):
        print(f"note: {revision}", file=sys.stderr)
    load_model_state(exp.model, checkpoint["model"], path)
    model = exp.model.to(device)
    if cfg.model.channels_last:
        model = model.to(memory_format=torch.channels_last)
    precision = Precision(device, cfg.train.amp, cfg.train.amp_dtype)
    result = evaluate(model, exp.tasks, exp.val_set, cfg.train.batch_size, device, precision, 0)
    from workbench.fsutil import SaveFailed, atomic_write_json

    # an image that cannot be decoded (gone, damaged) is left out of validation, not replaced
    parts = [d for d, _ in exp.val_set.parts] if hasattr(exp.val_set, "parts") else [exp.val_set]
    unreadable = [str(d.records[i].image) for d in parts for i in sorted(getattr(d, "broken", ()))]
    broken = len(unreadable)
    scored = len(exp.val_set) - broken
    print(f"scored {scored} validation image(s)")
    if unreadable:
        shown = ", ".join(unreadable[:3]) + (f" and {broken - 3} more" if broken > 3 else "")
        print(
            f"warning: {broken} validation image(s) cannot be read and are left out: {shown}", file=sys.stderr
        )
    for task, values in result.metrics.items():
        print(
            f"{task} ({result.counts.get(task, 0)} labelled): loss {_fmt(result.losses[task])}, "
            + ", ".join(f"{k} {_fmt(v)}" for k, v in values.items())
        )
    # Only this file is written: a failed or repeated eval never touches the run's status.
    # It is written after the results are shown: a run folder that cannot be written
    # (read-only, full) still gives them.
    try:
        atomic_write_json(
            store.path / f"eval_{args.checkpoint}.json",
            {
                "checkpoint": str(path),
                # 1-based, as printed; summary.json's best_epoch and metrics.jsonl count from
                # 0: epoch_index joins them (as in an export's decode.json)
                "epoch": epoch or None,  # 0: no step trained yet
                "epoch_index": epoch - 1 if epoch else None,
                "images": scored,
                "images_left_out": broken,
                "labelled": result.counts,
                "metrics_revision": METRICS_REVISION,
                "notes": exp.split_notes,
                "val_losses": result.losses,
                "val_metrics": result.metrics,
            },
        )
    except SaveFailed as exc:
        print(f"error: {exc}; the results above are not saved", file=sys.stderr)
        return 1
    return 0


def _data_problems(val_set: Any) -> list[str]:
    """One line per data source whose files had problems as they were read now (skipped
    label lines, boxes cut, images left out): what was scored may differ from what the run
    saw. The run split's own notes are said apart."""
    from workbench.training.run_split import real_parts

    lines = []
    for part in real_parts(val_set):
        problems = [p for p in part.set.report.problems if p.where != "run split"]
        if problems:
            lines.append(
                f"{part.set.path}: {len(problems)} problem(s) in its files as they are now, e.g. {problems[0]}; "
                f"{workbench_command('data', 'check', Path(part.set.path))} lists them"
            )
    return lines


def _config(args: argparse.Namespace) -> int:
    from workbench.config import config_to_toml, default_experiment

    text = config_to_toml(default_experiment())
    if args.out:
        from workbench.fsutil import atomic_write_text

        out = Path(args.out)
        if (out.exists() or out.is_symlink()) and not args.force:  # an edited experiment is not lost
            print(f"error: {out} exists; choose a new name, or add --force to replace it", file=sys.stderr)
            return 2
        atomic_write_text(out, text)
    else:
        sys.stdout.write(text)
    return 0


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2)


if __name__ == "__main__":
    sys.exit(main())
