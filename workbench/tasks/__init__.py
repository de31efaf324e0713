"""Task kinds: one module each (head, loss, metrics, decode, drawing spec)."""

from workbench.tasks import (  # noqa: F401,E402  (each module registers its kind)
    classification,
    counting,
    detection,
    localization,
    multilabel,
    segmentation,
)
from workbench.tasks.registry import TASK_KINDS

__all__ = ["TASK_KINDS", "build_task"]


def build_task(task_config, data_info, dropout: float = 0.0):
    """Instantiate the task kind of a ``TaskConfig``."""
    cls = TASK_KINDS.get(task_config.kind)
    return cls(task_config.name, task_config.options, data_info, dropout=dropout)
