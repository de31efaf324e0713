"""Reliability under kill -9: a headless training killed at random moments, then resumed.

Each trial starts ``workbench train`` (a small experiment: 6 epochs of 64 px shapes, a
checkpoint every epoch), sends SIGKILL after a random delay drawn over the run's length
(so some kills land while a checkpoint or the metrics log is being written), then checks
the run directory and resumes it:

- ``summary.json`` and ``config.toml`` parse; every complete line of ``metrics.jsonl``
  is a JSON record (a half-written last line is allowed: readers skip it);
- ``last.pt`` (when one exists) loads with the checked loader (``weights_only=True``);
- ``workbench resume`` finishes the run, and the epochs lost are at most one: the
  checkpoint's epoch is the last epoch logged before the kill, or one less.

    python benchmarks/bench_kill_resume.py [--trials 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """
name = "kill"
[data.options]
image_size = 64
train_size = 96
val_size = 32
max_objects = 3
[[tasks]]
name = "scene"
kind = "classification"
[[tasks]]
name = "objects"
kind = "detection"
[train]
epochs = 6
batch_size = 16
device = "cpu"
num_samples = 4
"""


def _check(run: Path) -> dict:
    """What a reader finds in ``run`` right after the kill."""
    from workbench.training.checkpoint import load_checkpoint

    facts = {"summary_ok": True, "bad_lines": 0, "epochs_logged": 0, "ckpt_epoch": None}
    try:
        json.loads((run / "summary.json").read_text())
    except (OSError, ValueError):
        facts["summary_ok"] = (run / "summary.json").exists() is False  # not written yet is fine
    raw = (run / "metrics.jsonl").read_bytes() if (run / "metrics.jsonl").exists() else b""
    complete = raw[: raw.rfind(b"\n") + 1] if b"\n" in raw else b""
    for line in complete.splitlines():
        try:
            record = json.loads(line)
            if record.get("type") == "epoch":
                facts["epochs_logged"] = max(facts["epochs_logged"], record["epoch"] + 1)
        except ValueError:
            facts["bad_lines"] += 1
    last = run / "checkpoints" / "last.pt"
    if last.exists():
        facts["ckpt_epoch"] = load_checkpoint(last, "last")["position"]["epoch"]
    return facts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    wb = [sys.executable, "-m", "workbench"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "exp.toml").write_text(CONFIG)
        started = time.perf_counter()
        subprocess.run(
            [*wb, "train", "exp.toml", "--out", "timing", "--quiet"], cwd=root, env=env, check=True
        )
        length = time.perf_counter() - started
        print(f"one uninterrupted run: {length:.1f} s (kills drawn uniformly in 3 s .. {length:.1f} s)")
        failures = []
        for trial in range(args.trials):
            out = root / f"t{trial}"
            job = subprocess.Popen(
                [*wb, "train", "exp.toml", "--out", str(out), "--quiet"],
                cwd=root,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            delay = rng.uniform(3.0, length)
            time.sleep(delay)
            os.kill(job.pid, signal.SIGKILL)
            job.wait()
            runs = list(out.glob("*/"))
            if not runs:
                print(f"trial {trial + 1:2d}: killed at {delay:5.1f} s before the run folder existed")
                continue
            run = runs[0]
            facts = _check(run)
            resumed = subprocess.run(
                [*wb, "resume", str(run), "--quiet"], cwd=root, env=env, capture_output=True, text=True
            )
            final = json.loads((run / "summary.json").read_text())
            lost = facts["epochs_logged"] - (facts["ckpt_epoch"] or 0)
            ok = (
                facts["summary_ok"]
                and facts["bad_lines"] == 0
                and resumed.returncode == 0
                and final.get("status") == "finished"
                and lost <= 1
            )
            print(
                f"trial {trial + 1:2d}: killed at {delay:5.1f} s, epochs logged {facts['epochs_logged']}, "
                f"checkpoint at epoch {facts['ckpt_epoch']}, lost {lost}, bad lines {facts['bad_lines']}, "
                f"resume {'finished' if final.get('status') == 'finished' else final.get('status')} "
                f"{'ok' if ok else 'FAILED: ' + resumed.stderr.strip()[-200:]}"
            )
            if not ok:
                failures.append(trial + 1)
        print(
            f"{args.trials - len(failures)} of {args.trials} trials ok"
            + (f"; failed: {failures}" if failures else "")
        )


if __name__ == "__main__":
    main()
