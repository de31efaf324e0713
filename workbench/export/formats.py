"""Writing and loading the two export formats.

ONNX goes through PyTorch's torch.export-based exporter (``torch.onnx.export(dynamo=True)``,
the default since PyTorch 2.9; it needs ``onnxscript``), opset 18, and runs in onnxruntime.
TorchScript is a trace (``torch.jit.trace(strict=False)``) whose output is a dict, so each
output keeps its name. Both are written to a temporary name and renamed by the caller once
verified.
"""

from __future__ import annotations

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


def write_torchscript(model: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    """``model`` traced with ``example`` and saved; its output is ``{name: tensor}``."""
    graph = ExportGraph(model, as_dict=True).eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notes
        traced = torch.jit.trace(graph, (example,), strict=False, check_trace=False)
        torch.jit.save(traced, str(path))


def onnx_session(path: Path, device: str = "cpu") -> Any:
    """An onnxruntime session of the ONNX file (CUDA execution provider for ``device="cuda"``)."""
    import onnxruntime as ort

    providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
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
