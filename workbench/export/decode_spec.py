"""``decode.json``: what an exported model takes and how each of its outputs is decoded."""

from __future__ import annotations

from typing import Any

from workbench import __version__
from workbench.data.sample_transforms import PAD_IMAGE
from workbench.models.multitask import IMAGENET_MEAN, IMAGENET_STD


def decode_spec(
    tasks: list[Any],
    names: list[str],
    shapes: dict[str, list[int | str]],
    image_size: int,
    dynamic_batch: bool,
    source: dict[str, Any],
    resize: str = "letterbox",
) -> dict[str, Any]:
    """The JSON beside an export.

    ``tasks``: the run's task kinds (each gives ``export_decode``); ``names``: the graph's
    output names (``graph.output_names``); ``shapes``: each output's shape, the batch axis
    as "batch" when it is dynamic; ``source``: run, checkpoint, epoch and format facts.
    Raises NotImplementedError naming a task kind that cannot describe its decoding.
    """
    batch: int | str = "batch" if dynamic_batch else 1
    return {
        "workbench": __version__,
        **source,
        "input": {
            "name": "images",
            "shape": [batch, 3, image_size, image_size],
            "dtype": "float32",
            "layout": "NCHW, RGB",
            "range": [0, 255],
            "normalisation": "inside the model: (x - 255 * mean) / (255 * std), ImageNet mean and std",
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
            "resize": _resize_text(resize, image_size),
            "resize_mode": resize,
            "pad_value": PAD_IMAGE if resize == "letterbox" else None,
        },
        "outputs": [{"name": n, "shape": shapes[n], "dtype": "float32"} for n in names],
        "tasks": {
            task.name: {
                "kind": task.kind,
                "outputs": [n for n in names if n == task.name or n.startswith(f"{task.name}.")],
                **_task_decode(task),
            }
            for task in tasks
        },
    }


def _task_decode(task: Any) -> dict[str, Any]:
    """``task.export_decode()``, checked before anything is written: a dict of values JSON can
    hold (numbers, text, lists, dicts; numpy scalars and arrays as lists). Raises
    NotImplementedError as the kind does, TypeError naming the task and the key otherwise
    (a set or a tensor failed in ``json.dumps`` after the model file was already written)."""
    import json

    import numpy as np

    from workbench.fsutil import json_safe
    from workbench.tasks.task_errors import in_task

    with in_task(task, None, "export_decode()"):
        described = task.export_decode()
        if not isinstance(described, dict):
            raise TypeError(f"export_decode() must return a dict, got {type(described).__name__}")

        def plain(value: Any) -> Any:
            if isinstance(value, np.ndarray | np.generic):
                return value.tolist()
            if isinstance(value, dict):
                if not all(
                    isinstance(k, str) for k in value
                ):  # JSON keys are text: ('a', 1) became "('a', 1)"
                    key = next(k for k in value if not isinstance(k, str))
                    raise TypeError(f"export_decode() has a key {key!r} that is not text; JSON keys are text")
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        described = plain(described)
        for key, value in described.items():
            nulled: list[str] = []
            json_safe(value, nulled)
            if nulled:  # a NaN scale was written as null: a reader cannot decode with it
                raise TypeError(f"export_decode()'s {key!r} holds a value that is not finite (NaN or inf)")
            try:
                json.dumps(json_safe(value), allow_nan=False)
            except (TypeError, ValueError):
                raise TypeError(
                    f"export_decode()'s {key!r} holds a value JSON cannot hold ({_kind_of(value)}); "
                    "give numbers, text, lists or dicts"
                ) from None
    return described


def _kind_of(value: Any) -> str:
    """The first value in ``value`` JSON cannot hold, by type name."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _kind_of(item)
            if found:
                return found
        return ""
    if value is None or isinstance(value, str | int | float | bool):
        return ""
    return type(value).__name__


def _resize_text(mode: str, size: int) -> str:
    """How training fitted an image to the input (``data.sample_transforms.fit_sample``)."""
    if mode == "stretch":
        return (
            f"resize to {size} x {size} (the aspect ratio is not kept; bilinear, antialiased), as in training"
        )
    return (
        f"scale the longer side to {size} px keeping the aspect ratio (bilinear, antialiased), then pad to "
        f"{size} x {size} with grey {PAD_IMAGE}, the image centred (an odd padding puts the extra pixel "
        "right and bottom); outputs are in that padded frame, as in training"
    )
