"""The sweep queue: runs one experiment after another into the sweep folder.

SWEEP_FOLDER/
    queue.json     experiment key -> its run folder, written before the run starts
    runs/          the runs (ordinary run folders: the app's runs browser opens them)
    results.csv    one row per member (status, error); table.csv: mean ± std over seeds; *.png charts

A killed sweep continues where it stopped: finished runs are kept, a stopped or
interrupted run is resumed from its last checkpoint, a failed run is reported and
skipped (``retry_failed`` trains it again from the start in a new folder). A run that
reached its time limit has spent its budget: the sweep goes on to the next experiment and
never resumes it; its last validated epoch is its result (``workbench.training.outcome``). An experiment
that already finished in another sweep of the same folder (the same configuration, up to
name, device and such) is reused, not trained again. With several devices, one experiment
runs per device at a time.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.config import ExperimentConfig
from workbench.sweep.spec import SweepItem, SweepSpec
from workbench.training.run_lock import RunBusy

# train(config, run folder, resume) -> the run's summary; must be safe to call from threads
# when several devices are given
TrainFn = Callable[[ExperimentConfig, Any, bool], dict[str, Any]]


@dataclass
class SweepOutcome:
    folder: Path
    finished: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # key -> error
    skipped: list[str] = field(default_factory=list)  # not reached (a stop)
    stopped: list[str] = field(default_factory=list)  # begun and stopped (continued when run again)


def _read_queue(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise ValueError(
            f"{path}: unreadable sweep queue ({reason}); move it away to start the sweep afresh"
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: not a sweep queue (expected key -> run folder)")
    return {key: str(_run_folder(path.parent, value)) for key, value in data.items()}


def _run_folder(folder: Path, written: str) -> Path:
    """A queue entry as an absolute run folder. Entries are written relative to the sweep
    folder (``runs/NAME``); older ones were relative to the working directory of the process
    that wrote them, so a sweep run again from elsewhere (the app, another shell) found none
    of its runs and trained every experiment again. Those are looked up in the sweep's
    ``runs/`` by name."""
    path = Path(written)
    if path.is_absolute():
        return path
    for candidate in (folder / path, folder / "runs" / path.name, path):
        if candidate.is_dir():
            return Path(os.path.normpath(candidate.absolute()))
    return Path(os.path.normpath((folder / path).absolute()))


def _queue_text(queue: dict[str, str], folder: Path) -> str:
    """queue.json: runs under the sweep folder relative to it (the folder can be moved or
    reached from any working directory), others absolute."""
    base = Path(os.path.normpath(folder.absolute()))
    out = {}
    for key, value in queue.items():
        path = Path(os.path.normpath(Path(value).absolute()))
        out[key] = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
    return json.dumps(out, indent=1)


def _changed_since(item: SweepItem, store: Any) -> str:
    """The fields in which ``item``'s experiment differs from the config ``store``'s run was
    made with, up to what does not change what a run learns (name, device, workers ...);
    empty when they agree or the run has no readable config (a run killed before writing it)."""
    from workbench.config import to_dict
    from workbench.training.baselines import comparable_config
    from workbench.training.resume_check import config_changes, describe

    made = store.read_config_dict()
    if not made:
        return ""
    changes = config_changes(comparable_config(made), comparable_config(to_dict(item.config)))
    shown = [describe(c) for c in changes[:4]]
    if len(changes) > 4:
        shown.append(f"and {len(changes) - 4} more")
    return ", ".join(shown)


def run_sweep(
    spec: SweepSpec,
    out_root: str | Path,
    train: TrainFn,
    log: Callable[[str], None] = print,
    stop: Callable[[], bool] = lambda: False,
    devices: list[str] | None = None,
    retry_failed: bool = False,
) -> SweepOutcome:
    """Run every experiment of ``spec`` not finished yet; then Δm and the results files.

    Raises ConfigError for a bad experiment (before anything is written), SweepBusy when
    another process runs a sweep into the same folder."""
    items = spec.items()  # every experiment checked before anything is written
    folder = Path(out_root) / spec.name
    runs = folder / "runs"
    from workbench.training.run_store import runs_folder_too_long

    if (problem := runs_folder_too_long(runs)) is not None:  # before any folder is made
        from workbench.fsutil import SaveFailed

        raise SaveFailed(runs, problem)
    try:
        runs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # worded as a run's folder that cannot be made (train --out)
        from workbench.fsutil import SaveFailed, write_reason

        raise SaveFailed(runs, write_reason(runs, exc)) from exc
    sweep_lock = _lock_folder(folder)
    try:
        return _run_locked(spec, items, folder, runs, train, log, stop, devices, retry_failed, sweep_lock)
    finally:
        sweep_lock.release()


class SweepBusy(RunBusy):  # a RunBusy: said as it is, in one line
    """Another live process runs a sweep into the same folder."""


def _lock_folder(folder: Path) -> Any:
    """The sweep folder's lock (``.lock``, as a run's: pid, host, heartbeat). Two sweeps into
    one folder would train the same experiments and baselines twice and rewrite each other's
    Δm. Raises SweepBusy naming the other process."""
    from workbench.training.run_lock import RunLock, read_lock

    lock = RunLock(folder)
    try:
        lock.acquire()
    except RunBusy:
        info = read_lock(folder)
        who = f"process {info.pid} on {info.host}" if info else "another process"
        raise SweepBusy(
            f"{folder}: {who} is running this sweep now; wait for it to end, or stop it (it continues "
            "where it stopped when run again)"
        ) from None
    return lock


def _run_locked(
    spec: SweepSpec,
    items: list[SweepItem],
    folder: Path,
    runs: Path,
    train: TrainFn,
    log: Callable[[str], None],
    stop: Callable[[], bool],
    devices: list[str] | None,
    retry_failed: bool,
    sweep_lock: Any,
) -> SweepOutcome:
    from workbench.fsutil import atomic_write_text
    from workbench.training.baselines import wrote_anything
    from workbench.training.outcome import budget_spent, has_result, no_result_reason
    from workbench.training.run_store import RunStore

    queue_path = folder / "queue.json"
    queue = _read_queue(queue_path)
    others = sorted(set(queue) - {item.key for item in items})
    if others:  # another sweep file of the same name: its runs stay, the results are this one's
        log(
            f"[{spec.name}] {len(others)} experiment(s) in {folder} are not in this sweep ({others[0]}"
            f"{' ...' if len(others) > 1 else ''}): their runs are kept, and results.csv and table.csv "
            "hold this sweep's experiments only"
        )
    lock = threading.Lock()
    outcome = SweepOutcome(folder)
    halted = threading.Event()  # a run was stopped (Ctrl-C, SIGTERM, Stop): the sweep stops too
    user_stop = stop

    def stop() -> bool:
        return halted.is_set() or user_stop()

    def done(item: SweepItem, summary: dict[str, Any]) -> None:
        """A run the sweep will not train again: a result, or (time limit before the first
        validation) a failure to report."""
        if has_result(summary):
            outcome.finished.append(item.key)
        else:
            outcome.failed[item.key] = f"no result: {no_result_reason(summary)}"

    def claim(item: SweepItem) -> tuple[Any, bool] | None:
        """(run folder, resume) for the item, or None when there is nothing to do."""
        sweep_lock.beat()
        with lock:
            known = queue.get(item.key)
            if known and Path(known).is_dir() and (changed := _changed_since(item, RunStore(known))):
                # the sweep file (or its base config) was edited: the queued run is another
                # experiment now; it is kept, and the edited one trained (or found) anew
                log(
                    f"[{spec.name}] {item.key}: the experiment changed since {known} was made "
                    f"({changed}); it is not reused"
                )
                known = None
            if known and not Path(known).is_dir():
                # its run is gone from there (a reused sibling's, after the folder moved; or
                # deleted): a finished run of the same experiment is looked for, as for a new one
                log(f"[{spec.name}] {item.key}: its run {known} is not there any more")
                known = None
            if known:
                store = RunStore(known)
                try:
                    summary = store.read_summary()
                except (OSError, ValueError) as exc:  # damaged: this member fails, the others run
                    outcome.failed[item.key] = (
                        f"{exc}; to train it again from the start, delete or move {store.path} "
                        "and run the command again"
                    )
                    return None
                status = summary.get("status", "")
                if status == "finished" or budget_spent(summary):
                    done(item, summary)
                    return None
                if status == "failed" and not retry_failed:
                    outcome.failed[item.key] = str(summary.get("error", "failed"))
                    return None
                if status != "failed" and store.config_path.is_file():
                    return store, True
            else:
                # the same experiment finished in this or another sweep of the folder: reuse it
                from workbench.training.baselines import find_finished_run

                siblings = sorted(p for p in runs.parent.parent.glob("*/runs") if p != runs)
                found = find_finished_run([runs, *siblings], item.config)
                if found is not None:
                    queue[item.key] = os.path.normpath(Path(found).absolute())
                    atomic_write_text(queue_path, _queue_text(queue, folder))
                    log(f"[{spec.name}] {item.key}: reusing the finished run {found}")
                    outcome.finished.append(item.key)
                    return None
            store = RunStore.create(runs, item.config.name)
            queue[item.key] = os.path.normpath(Path(store.path).absolute())
            atomic_write_text(queue_path, _queue_text(queue, folder))
            return store, False

    def work(item: SweepItem, device: str | None) -> None:
        if stop():
            outcome.skipped.append(item.key)
            return
        claimed = claim(item)
        if claimed is None:
            return
        store, resume = claimed
        cfg = item.config
        if device:
            cfg.train.device = device
        log(f"[{spec.name}] {item.key}: {'resuming' if resume else 'training'} in {store.path}")
        summary = train(cfg, store, resume)
        with lock:
            if summary.get("status") == "stopped" and summary.get("not_started"):
                # stopped while its data was read: a new run's empty folder goes, a resumed
                # one is as it was; either way the sweep halts here, as for any stop
                if not resume and not wrote_anything(store.path):
                    with contextlib.suppress(OSError):
                        store.path.rmdir()
                    queue.pop(item.key, None)
                    atomic_write_text(queue_path, _queue_text(queue, folder))
                    outcome.skipped.append(item.key)
                else:  # a resumed run, as it was: stopped, not "not run"
                    outcome.stopped.append(item.key)
                halted.set()
            elif not resume and not wrote_anything(store.path):  # refused before it started: no empty folder
                with contextlib.suppress(OSError):
                    store.path.rmdir()
                queue.pop(item.key, None)
                atomic_write_text(queue_path, _queue_text(queue, folder))
                outcome.failed[item.key] = str(summary.get("error") or "did not start (its error is above)")
            elif summary.get("status") == "finished" or budget_spent(summary):
                done(item, summary)
                if budget_spent(summary):
                    log(
                        f"[{spec.name}] {item.key}: time limit reached after {summary.get('epochs_done', 0)} "
                        "epoch(s): its budget is spent"
                    )
            elif summary.get("not_started"):
                # a resume refused (an unreadable checkpoint): this experiment failed; the
                # others still run and Δm is still written (it stopped the whole sweep,
                # said "not run" and exited 0, on every run of the sweep after)
                from workbench.training.outcome import fresh_start_hint

                outcome.failed[item.key] = (
                    f"could not be resumed: {summary.get('error') or 'its error is above'}"
                    + fresh_start_hint(summary, store.path)
                )
            elif summary.get("status") == "failed":
                outcome.failed[item.key] = str(summary.get("error", "failed"))
            else:  # stopped mid-run: its folder stays in the queue, resumed when run again
                outcome.stopped.append(item.key)
                halted.set()

    if devices and len(devices) > 1:
        free = list(devices)
        slots = threading.Semaphore(len(free))

        def on_device(item: SweepItem) -> None:
            with slots:
                with lock:
                    device = free.pop()
                try:
                    work(item, device)
                finally:
                    with lock:
                        free.append(device)

        with ThreadPoolExecutor(max_workers=len(devices)) as pool:
            list(pool.map(on_device, items))
    else:
        for item in items:
            work(item, devices[0] if devices else None)

    if spec.baselines and not stop():
        _write_delta_m(items, queue, runs, train, log, stop)
    from workbench.sweep.results import write_results

    write_results(folder, items, queue, log, outcome.failed)
    return outcome


def _write_delta_m(
    items: list[SweepItem], queue: dict[str, str], runs: Path, train: TrainFn, log, stop: Callable[[], bool]
) -> None:
    """Δm of every finished multi-task run against its baselines (trained or reused); a stop
    ends it before the next baseline (the sweep run again continues it)."""
    from workbench.training.baselines import delta_m_entry, ensure_baselines
    from workbench.training.outcome import has_result
    from workbench.training.run_split import SPLIT_FILE
    from workbench.training.run_store import RunStore

    for item in items:
        if len(item.config.tasks) < 2 or item.key not in queue:
            continue
        store = RunStore(queue[item.key])
        try:
            summary = store.read_summary()
        except (OSError, ValueError):  # damaged: failed in the queue already
            continue
        if not has_result(summary):
            continue
        # other sweeps in the same folder may hold the baselines already (e.g. a depth sweep's
        # depth-0 runs for a methods sweep)
        siblings = sorted(p for p in runs.parent.parent.glob("*/runs") if p != runs)
        split = store.path / SPLIT_FILE  # the baselines see the run's images and classes
        # named for what they are: the member's method and depth are not theirs (a baseline
        # named "...-equal_sum-d2-s0-stl" was a depth-0 run, shared by every depth)
        named = copy.deepcopy(item.config)
        named.name = f"{runs.parent.name}-{item.axes['tasks']}-s{item.axes['seed']}"[:100]
        baselines = ensure_baselines(
            named,
            runs,
            train,
            log,
            also_search=siblings,
            split_from=split if split.is_file() else None,
            stop=stop,
        )
        if stop():
            return
        if baselines is None:
            log(f"[Δm] {item.key}: a baseline did not finish; no Δm")
            continue
        try:
            summary["delta_m"] = delta_m_entry(summary, baselines)
            summary.pop("delta_m_note", None)
        except ValueError as exc:  # kept as a null with why, as the summary says any undefined value
            log(f"[Δm] {item.key}: {exc}")
            summary["delta_m"], summary["delta_m_note"] = None, f"undefined: {exc}"
        store.write_summary(summary)
