"""Model export: a trained multi-task network as ONNX or TorchScript, checked and timed.

``export_run`` (``workbench export RUN_DIR``) writes the network of a run's checkpoint with
one named output per task head output (``graph``), a ``decode.json`` beside it that says how
to turn each raw output into predictions (``decode_spec``), checks the exported file against
the PyTorch model on the run's validation images (``verify``) and times eager PyTorch,
TorchScript and onnxruntime at batch 1 and 32 (``latency``).
"""

from workbench.export.run_export import ExportError, ExportReport, export_run

__all__ = ["ExportError", "ExportReport", "export_run"]
