"""Multi-Task Learning Workbench: train, watch and compare multi-task networks."""

__version__ = "0.1.0"
