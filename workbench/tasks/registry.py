"""The registry of task kinds (kept apart from __init__ so task modules can import it)."""

from workbench.registry import Registry

TASK_KINDS: Registry = Registry("task kind")
