"""``workbench export RUN_DIR``: the run's network as ONNX or TorchScript, verified and timed."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    x = sub.add_parser(
        "export",
        help="write a run's network as ONNX or TorchScript (one named output per task head), "
        "verified on its validation images, with a latency table",
        description="Exports the network of a run's checkpoint with one named output per task head output, "
        "writes a decode.json beside it (input size, normalisation, class names, thresholds, how to "
        "decode each output), checks the export against PyTorch on the run's validation images (refused "
        "above 1e-3) and times eager PyTorch, TorchScript and onnxruntime at batch 1 and 32.",
    )
    x.add_argument("run_dir", help="the run's folder (holding config.toml and checkpoints/)")
    x.add_argument(
        "--format", choices=["onnx", "torchscript"], default="onnx", help="the file to write (default: onnx)"
    )
    x.add_argument(
        "--checkpoint",
        choices=["best", "last"],
        default="best",
        help="best: the epoch of the best validation score; last: the latest epoch (default: best)",
    )
    x.add_argument("--dynamic-batch", action="store_true", help="any batch size (default: batch 1)")
    x.add_argument(
        "--out",
        help="file to write (default: RUN/export/model-CHECKPOINT.onnx or .torchscript.pt; "
        "model-CHECKPOINT-dynamic.* with --dynamic-batch)",
    )
    x.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --out file (a default file is always made again from its checkpoint)",
    )
    x.add_argument("--images", type=int, default=32, help="validation images to verify on (default 32)")
    x.add_argument("--no-latency", action="store_true", help="skip the latency table")


def run(args: argparse.Namespace) -> int:
    import torch

    from workbench.export import ExportError, export_run
    from workbench.export.latency import format_table

    if args.images < 1:
        print("error: --images must be at least 1", file=sys.stderr)
        return 2
    import signal

    from workbench.cli import STOP_SIGNALS, signal_exit_status

    stopped: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:  # unwinds, so the half-written file is removed
        stopped.append(signum)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        report = export_run(
            args.run_dir,
            args.format,
            args.checkpoint,
            args.dynamic_batch,
            args.out,
            images=args.images,
            latency=not args.no_latency,
            replace=args.force,
        )
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        signum = stopped[0] if stopped else signal.SIGINT
        print(
            f"\n{signal.Signals(signum).name}: export stopped (a file it had not finished is removed)",
            file=sys.stderr,
        )
        return signal_exit_status(signum)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if report.latency:
        print(f"\nlatency ({torch.get_num_threads()} CPU threads; each runtime timed on its own):")
        print(format_table(report.latency))
    return 0
