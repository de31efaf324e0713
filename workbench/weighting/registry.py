"""The registry of loss-weighting / gradient methods."""

from workbench.registry import Registry

WEIGHTINGS: Registry = Registry("weighting method")
