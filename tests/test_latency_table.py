"""The export's latency table: which rows say their median cannot be trusted."""

from __future__ import annotations

from workbench.export.latency import LatencyRow, format_table, unsteady


def test_rows_whose_repeats_spread_widely_are_marked_unsteady():
    """A busy machine timed eager PyTorch at 575 ms (IQR 151) against onnxruntime's
    0.59 ms: a 1,000x gap the table gave as a result. IQR 2.5 of 10 ms is a quarter (kept);
    3 of 10 is over it (marked, with what to do)."""
    steady = LatencyRow("PyTorch eager", "cpu", 1, 10.0, spread_ms=2.5, runs=20)
    shaky = LatencyRow("onnxruntime", "cpu", 1, 10.0, spread_ms=3.0, runs=20)
    empty = LatencyRow("TorchScript", "cpu", 32, None, "not exported")
    assert not unsteady(steady) and unsteady(shaky) and not unsteady(empty)
    lines = format_table([steady, shaky, empty]).splitlines()
    assert lines[1].endswith(" 100.0") and lines[2].endswith(" 100.0  !")  # 1 image / 10 ms
    assert lines[-1].startswith("! unsteady: the runs' IQR is over 25% of their median")
    assert not format_table([steady]).splitlines()[-1].startswith("!")
