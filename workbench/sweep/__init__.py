"""Sweeps: a queue of experiments from one base config, with a results table and charts."""

from workbench.sweep.spec import SweepItem, SweepSpec, load_sweep, parse_sweep

__all__ = ["SweepItem", "SweepSpec", "load_sweep", "parse_sweep"]
