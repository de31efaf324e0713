"""Writing and loading the two export formats.

ONNX goes through PyTorch's torch.export-based exporter (``torch.onnx.export(dynamo=True)``,
the default since PyTorch 2.9; it needs ``onnxscript``), opset 18, and runs in onnxruntime.
TorchScript is a trace (``torch.jit.trace(strict=False)``) whose output is a dict, so each
output keeps its name. Both are written to a temporary name and renamed by the caller once
verified.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.export.graph import ExportGraph

FORMATS = ("onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}
OPSET = 18

Runner = Callable[[torch.Tensor], dict[str, np.ndarray]]


def write_onnx(
    model: torch.nn.Module, example: torch.Tensor, names: list[str], path: Path, dynamic: bool
) -> None:
    """``model`` (eval, CPU, float32) to ONNX at ``path``; ``dynamic`` makes the batch axis free."""
    graph = ExportGraph(model).eval()
    kwargs = {"dynamic_shapes": ({0: torch.export.Dim("batch", min=1, max=4096)},)} if dynamic else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's progress notes and deprecations of its own
        program = torch.onnx.export(
            graph,
            (example,),
            input_names=["images"],
            output_names=names,
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
            **kwargs,
        )
    program.save(str(path))


class _CheckedInput(torch.nn.Module):
    """The traced network behind a check of its input's shape. A trace bakes in the sizes it
    saw (an upsampling to the training size, say): an image of another size came out as a
    mask of the wrong size without an error, and any batch passed where the file says 1.
    ONNX refuses both by itself; this makes TorchScript do the same."""

    def __init__(self, inner: torch.nn.Module, size: int, batch: int) -> None:
        super().__init__()
        self.inner = inner
        self.size = size
        self.batch = batch  # 0: any

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if (
            images.dim() != 4
            or images.shape[1] != 3
            or images.shape[2] != self.size
            or images.shape[3] != self.size
        ):
            raise ValueError(
                "images must be float32 N x 3 x "
                + str(self.size)
                + " x "
                + str(self.size)
                + " (see the decode JSON)"
            )
        if self.batch > 0 and images.shape[0] != self.batch:
            raise ValueError(
                "this export takes a batch of " + str(self.batch) + " (exported without --dynamic-batch)"
            )
        return self.inner(images)


def write_torchscript(
    model: torch.nn.Module, example: torch.Tensor, path: Path, dynamic: bool = False
) -> None:
    """``model`` traced with ``example`` and saved; its output is ``{name: tensor}``, its input
    checked: N x 3 x S x S at the training size S, N = 1 unless ``dynamic``."""
    graph = ExportGraph(model, as_dict=True).eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notes
        traced = torch.jit.trace(graph, (example,), strict=False, check_trace=False)
        checked = torch.jit.script(_CheckedInput(traced, int(example.shape[-1]), 0 if dynamic else 1))
        # saved to memory, then written by Python: torch.jit.save's own writer aborts the
        # process (a C++ exception, exit 134) when the disk fills mid-write
        buffer = io.BytesIO()
        torch.jit.save(checked, buffer)
    try:
        with open(path, "wb") as fh:
            fh.write(buffer.getbuffer())
    except OSError as exc:
        from workbench.fsutil import SaveFailed, os_reason

        raise SaveFailed(path, os_reason(exc)) from exc


def onnx_session(path: Path, device: str = "cpu", threads: int = 0) -> Any:
    """An onnxruntime session of the ONNX file (CUDA execution provider for ``device="cuda"``).

    ``threads`` > 0: that many intra-op threads, which do not spin between runs: timed
    beside PyTorch, onnxruntime's default busy-waiting threads kept the cores busy and
    made eager PyTorch up to 30x slower in the same process (measured)."""
    import onnxruntime as ort

    providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    if threads > 0:
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=providers)


def load_torchscript(path: Path, device: str = "cpu") -> Any:
    """The TorchScript module of ``path`` on ``device``, in eval mode."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notes
        return torch.jit.load(str(path), map_location=device).eval()


def onnx_runner(path: Path, names: list[str], device: str = "cpu") -> Runner:
    """Run the ONNX file in onnxruntime: ``{name: array}`` of a batch of images."""
    session = onnx_session(path, device)

    def run(images: torch.Tensor) -> dict[str, np.ndarray]:
        values = session.run(names, {"images": images.detach().cpu().float().numpy()})
        return dict(zip(names, values, strict=True))

    return run


def torchscript_runner(path: Path, device: str = "cpu") -> Runner:
    """Run the TorchScript file on ``device``: ``{name: array}`` of a batch of images."""
    module = load_torchscript(path, device)

    def run(images: torch.Tensor) -> dict[str, np.ndarray]:
        with torch.no_grad():
            out = module(images.to(device).float())
        return {k: v.detach().cpu().numpy() for k, v in out.items()}

    return run


def onnxruntime_devices() -> list[str]:
    """Devices onnxruntime can run on here: "cpu", and "cuda" with its CUDA provider."""
    import onnxruntime as ort

    return ["cpu", *(["cuda"] if "CUDAExecutionProvider" in ort.get_available_providers() else [])]
