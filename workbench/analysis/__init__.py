"""Analysis of runs: pure functions over run summaries and configs (no Qt, no torch).

``compare``: a side-by-side table of runs with their configuration differences.
"""
