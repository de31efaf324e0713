"""Reliability under kill -9: a headless training killed at random moments, then resumed.

Each trial starts ``workbench train`` (a small experiment: 6 epochs of 6 steps on 64 px
shapes, a checkpoint every epoch), waits until the run has logged a random number of
steps (0 to all 36), then a random 0-0.6 s more, and sends SIGKILL: the kills fall on
steps, validation, checkpoint and log writes, and the final summary. It then checks the
run directory and resumes it:

- ``summary.json`` and ``config.toml`` parse; every complete line of ``metrics.jsonl``
  is a JSON record (a half-written last line is allowed: readers skip it);
- ``last.pt`` (when one exists) loads with the checked loader (``weights_only=True``);
- ``workbench resume`` finishes the run (unless its summary already said "finished": the
  kill came while the process was exiting), and the epochs lost are at most one: the
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

    facts = {"summary_ok": True, "bad_lines": 0, "epochs_logged": 0, "ckpt_epoch": None, "status": None}
    try:
        facts["status"] = json.loads((run / "summary.json").read_text()).get("status")
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


def _steps_logged(out: Path) -> int:
    logs = list(out.glob("*/metrics.jsonl"))
    if not logs:
        return 0
    try:
        return logs[0].read_bytes().count(b'"type": "step"')
    except OSError:
        return 0


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
        steps = 6 * (96 // 16)  # epochs x steps per epoch of CONFIG
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
            target, extra = rng.randint(0, steps), rng.uniform(0.0, 0.6)
            started = time.perf_counter()
            while job.poll() is None and _steps_logged(out) < target:
                time.sleep(0.01)
            time.sleep(extra)
            delay = time.perf_counter() - started
            if job.poll() is not None:
                print(f"trial {trial + 1:2d}: the run ended before the kill (after step {target})")
                continue
            os.kill(job.pid, signal.SIGKILL)
            job.wait()
            runs = list(out.glob("*/"))
            if not runs:
                print(f"trial {trial + 1:2d}: killed at {delay:5.1f} s, before the run folder existed")
                continue
            run = runs[0]
            facts = _check(run)
            if facts["status"] == "finished":  # killed while the process was exiting: nothing to resume
                resumed = subprocess.CompletedProcess([], 0, "", "")
            else:
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
                f"trial {trial + 1:2d}: killed {extra:.2f} s after step {target:2d} ({delay:5.1f} s), epochs logged {facts['epochs_logged']}, "
                f"checkpoint at epoch {facts['ckpt_epoch']}, lost {lost}, bad lines {facts['bad_lines']}, "
                f"status at the kill {facts['status']}, after resume {final.get('status')} "
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
