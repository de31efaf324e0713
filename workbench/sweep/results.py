"""A sweep's results: one row per run, mean ± std over seeds, CSV files and charts.

Metrics are the last epoch's (``final_metrics``), as Δm uses. ``results.csv`` has one row
per member of the sweep, with its ``status`` and ``error`` (a failed or unfinished member
has no metrics); ``table.csv`` one row per configuration (tasks, method, sharing depth) with the
mean and the sample standard deviation over its seeds and their number. Charts (PNG,
matplotlib's Agg backend, no display needed):

- ``depth-<tasks>.png``: each task's primary metric, Δm, parameters and latency against
  sharing depth, one line per method, error bars ± std over seeds;
- ``pareto-<tasks>.png``: the first two tasks' metrics against each other, one point per
  configuration (the Pareto front of the sweep, upper right is better when both metrics
  are higher-is-better).
"""

from __future__ import annotations

import contextlib
import csv
import math
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workbench.sweep.spec import SweepItem
from workbench.training.metrics_revision import METRICS_REVISION, run_revision

CONFIG_COLUMNS = ("tasks", "method", "sharing_depth", "seed")


RESULT_STATUSES = ("finished", "budget spent")  # rows whose metrics the table aggregates


def collect_rows(
    items: Sequence[SweepItem], queue: dict[str, str], failed: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One dict per sweep member, in the sweep's order: its axes, ``status`` and ``error``,
    and for a member with a result (``status`` in ``RESULT_STATUSES``: finished, or its time
    budget spent after a validation) its ``<task>/<metric>`` values, Δm, costs and
    ``epochs`` (the epochs it trained: fewer than configured when its time limit ended it).

    A member without a result keeps its row (it was left out, so a failed experiment
    vanished from results.csv): ``status`` is its run's (``failed``, ``stopped``, ...),
    ``not run`` when the sweep never reached it, ``unreadable`` for a damaged summary;
    ``error`` says why, from ``failed`` (the queue's reasons by key) where it has one."""
    from workbench.training.outcome import budget_spent, has_result, no_result_reason
    from workbench.training.run_store import RunStore

    failed = failed or {}
    rows = []
    for item in items:
        row: dict[str, Any] = dict(item.axes)
        if item.key not in queue:
            rows.append({**row, "status": "not run", "error": failed.get(item.key, "")})
            continue
        try:
            summary = RunStore(queue[item.key]).read_summary()
        except (OSError, ValueError) as err:  # damaged: reported as failed by the queue too
            reason = failed.get(item.key) or f"its summary.json cannot be read ({err})"
            rows.append({**row, "status": "unreadable", "error": reason, "run_dir": queue[item.key]})
            continue
        params = summary.get("params") if isinstance(summary.get("params"), dict) else {}
        depth = params.get("sharing_depth")
        if isinstance(depth, int) and depth >= 0:
            row["sharing_depth"] = depth  # -1 resolved to the number of stages, for every row alike
        if not has_result(summary):
            reason = failed.get(item.key) or str(summary.get("error") or no_result_reason(summary))
            status = str(summary.get("status") or "not started")
            rows.append({**row, "status": status, "error": reason, "run_dir": queue[item.key]})
            continue
        row["status"] = "budget spent" if budget_spent(summary) else "finished"
        row["error"] = ""
        for task, metric in (summary.get("primary_metrics") or {}).items():
            row[f"{task}/{metric}"] = (summary.get("final_metrics") or {}).get(task, {}).get(metric)
        delta = summary.get("delta_m") or {}
        row["delta_m"] = delta.get("maninis")
        row["delta_p_libmtl"] = delta.get("libmtl")
        row["params"] = params.get("total")
        row["latency_ms"] = summary.get("latency_ms")
        row["latency_load"] = summary.get("latency_load")  # load per core as it was measured
        row["wall_s"] = summary.get("elapsed_s")
        row["epochs"] = summary.get("epochs_done")
        row["metrics_revision"] = run_revision(summary)
        row["run_dir"] = queue[item.key]
        rows.append(row)
    return rows


def with_result(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of members that have a result (what means, charts and notes are made of)."""
    return [r for r in rows if r.get("status") in RESULT_STATUSES]


BUSY_LOAD = 1.0  # load per core above which processes waited for a core


def busy_latency_note(rows: Sequence[dict[str, Any]]) -> str:
    """A note when some latencies were measured on a busy machine ("" otherwise): a sweep's
    latency column put a 1.25 M-parameter model at 571 ms beside a 3.6 M one at 24 ms, the
    first measured at a load of 5 per core, without a word."""
    busy = [
        r for r in rows if isinstance(r.get("latency_load"), (int, float)) and r["latency_load"] > BUSY_LOAD
    ]
    if not busy:
        return ""
    worst = max(r["latency_load"] for r in busy)
    return (
        f"note: {len(busy)} of {len(rows)} runs measured their latency while the machine was busy "
        f"(load per core up to {worst:g}, column latency_load): their latency_ms says more about the "
        "machine than the model; measure again with `workbench export RUN` on a quiet machine"
    )


NOT_AVERAGED = ("run_dir", "metrics_revision")


def mixed_revision_note(rows: Sequence[dict[str, Any]]) -> str:
    """A note when members were measured by different rules ("" otherwise): a sweep
    continued after an upgrade keeps its finished members, measured the old way."""
    counts: dict[int, int] = {}
    for r in rows:
        if isinstance(r.get("metrics_revision"), int):
            counts[r["metrics_revision"]] = counts.get(r["metrics_revision"], 0) + 1
    if len(counts) < 2:
        return ""
    shown = ", ".join(f"revision {k}: {n} run{'s' if n > 1 else ''}" for k, n in sorted(counts.items()))
    return (
        f"note: the members were measured by different metrics revisions ({shown}; column "
        f"metrics_revision): their numbers are not comparable across revisions; move the older "
        f"members' run folders out of the sweep and run it again to train them by today's rules "
        f"(revision {METRICS_REVISION})"
    )


def _numeric_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The columns holding numbers, also those undefined (None) in every row: Δm undefined
    everywhere keeps its column, so every sweep's table has the same header."""
    seen: list[str] = []
    for row in rows:
        for k, v in row.items():
            numeric = v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
            if k not in CONFIG_COLUMNS and k not in NOT_AVERAGED and k not in seen and numeric:
                seen.append(k)
    return seen


def aggregate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows grouped by (tasks, method, sharing_depth): ``<col>`` the mean over seeds,
    ``<col>_std`` the sample standard deviation (n - 1; undefined, None, with one seed);
    both None when a seed's value is undefined;
    ``seeds`` their number and ``seed_values`` the seeds themselves ("0, 1")."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["tasks"], row["method"], row["sharing_depth"]), []).append(row)
    columns = _numeric_columns(rows)
    out = []
    for (tasks, method, depth), members in groups.items():
        agg: dict[str, Any] = {
            "tasks": tasks,
            "method": method,
            "sharing_depth": depth,
            "seeds": len(members),
            "seed_values": ", ".join(str(m["seed"]) for m in members),
        }
        for col in columns:
            values = [float(m[col]) for m in members if isinstance(m.get(col), (int, float))]
            values = [v for v in values if math.isfinite(v)]
            if len(values) < len(members):  # undefined for a seed: not a mean over "seeds"
                values = []
            agg[col] = statistics.fmean(values) if values else None
            agg[f"{col}_std"] = statistics.stdev(values) if len(values) > 1 else None
        out.append(agg)
    out.sort(key=lambda r: (r["tasks"], r["method"], r["sharing_depth"]))
    return out


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """``rows`` as CSV (atomically); the columns in the order they first appear, those of
    rows with a result first (a failed member's row has no metric columns of its own)."""
    from workbench.fsutil import atomic_write_text

    columns: list[str] = []
    for row in [*with_result(rows), *rows]:
        columns += [k for k in row if k not in columns]
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    atomic_write_text(path, buf.getvalue())


def write_results(
    folder: Path,
    items: Sequence[SweepItem],
    queue: dict[str, str],
    log: Callable[[str], None] = print,
    failed: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """results.csv (every member, its status and error, even when none has a result),
    table.csv (members with a result) and the charts; returns the aggregated table. ``failed``: the queue's reasons by key."""
    rows = collect_rows(items, queue, failed)
    write_csv(folder / "results.csv", rows)  # each member's status and error, results or not
    done = with_result(rows)
    if not done:
        _remove_other_charts(folder, [])
        log(f"{folder}: no finished run yet: results.csv lists each member's status; no table or charts")
        return []
    if note := busy_latency_note(done):
        log(note)
    if note := mixed_revision_note(done):
        log(note)
    table = aggregate(done)
    write_csv(folder / "table.csv", table)
    kinds = {t.name: t.kind for item in items for t in item.config.tasks}
    for path in write_charts(folder, table, kinds):
        log(f"chart: {path}")
    log(f"results: {folder / 'results.csv'}, {folder / 'table.csv'}")
    return table


def _metric_columns(table: Sequence[dict[str, Any]]) -> list[str]:
    return [c for c in _numeric_columns(table) if "/" in c and not c.endswith("_std")]


def write_charts(
    folder: Path, table: Sequence[dict[str, Any]], kinds: dict[str, str] | None = None
) -> list[Path]:
    """The depth and Pareto charts of ``table``; ``kinds`` (task -> task kind) names each
    metric as its own task kind does ("masks mIoU incl. background", not "masks miou",
    where two kinds label "miou" differently)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    written = []
    for tasks in sorted({r["tasks"] for r in table}):
        rows = [r for r in table if r["tasks"] == tasks]
        metrics = [c for c in _metric_columns(rows) if any(r.get(c) is not None for r in rows)]
        panels = [*metrics, "delta_m", "params", "latency_ms"]
        panels = [p for p in panels if any(r.get(p) is not None for r in rows)]
        if len({r["sharing_depth"] for r in rows}) > 1 and panels:
            ncols = min(3, len(panels))
            nrows = -(-len(panels) // ncols)
            fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.9 * nrows + 0.6), squeeze=False)
            depths = sorted({r["sharing_depth"] for r in rows})
            flat_axes = [ax for row_axes in axes for ax in row_axes]
            for ax in flat_axes[len(panels) :]:
                ax.set_visible(False)
            for ax, col in zip(flat_axes, panels, strict=False):
                for method in sorted({r["method"] for r in rows}):
                    line = sorted(
                        (r for r in rows if r["method"] == method and r.get(col) is not None),
                        key=lambda r: r["sharing_depth"],
                    )
                    if line:
                        ax.errorbar(
                            [r["sharing_depth"] for r in line],
                            [r[col] for r in line],
                            yerr=[r.get(f"{col}_std") or 0.0 for r in line],
                            marker="o",
                            capsize=3,
                            label=method,
                        )
                ax.set_title(_title(col, kinds), fontsize=9)
                ax.set_xticks(depths)
                ax.set_xlabel("sharing depth (stages)", fontsize=8)
                ax.tick_params(labelsize=7)
                ax.grid(alpha=0.3)
            handles, labels = flat_axes[0].get_legend_handles_labels()
            fig.legend(
                handles, labels, loc="upper center", ncol=max(1, len(labels)), fontsize=8, frameon=False
            )
            fig.suptitle(f"{tasks}: mean ± std over seeds", fontsize=9, y=0.02, va="bottom")
            fig.tight_layout(rect=(0, 0.04, 1, 0.94))
            path = folder / f"depth-{_slug(tasks)}.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            written.append(path)
        if len(metrics) >= 2:
            a, b = metrics[:2]
            fig, ax = plt.subplots(figsize=(6.4, 4.0))
            for r in rows:
                if r.get(a) is None or r.get(b) is None:
                    continue
                ax.errorbar(
                    r[a],
                    r[b],
                    xerr=r.get(f"{a}_std") or 0,
                    yerr=r.get(f"{b}_std") or 0,
                    marker="o",
                    capsize=2,
                    label=f"{r['method']}, depth {r['sharing_depth']}",
                )
            ax.set_xlabel(_title(a, kinds), fontsize=8)
            ax.set_ylabel(_title(b, kinds), fontsize=8)
            ax.set_title(f"{tasks}: one point per configuration, ± std", fontsize=9)
            ax.grid(alpha=0.3)
            # the names in a legend beside the plot: labels on the points overlap in a cluster
            ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7, frameon=False)
            fig.tight_layout()
            path = folder / f"pareto-{_slug(tasks)}.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            written.append(path)
    _remove_other_charts(folder, written)
    return written


def _remove_other_charts(folder: Path, written: Sequence[Path]) -> None:
    """Delete the depth and Pareto charts this call did not write: an earlier sweep file of
    the same name (other depths, other tasks) left its charts, and the app showed them
    beside a table without their rows. The charts are made from the runs, which stay."""
    keep = {Path(p).name for p in written}
    for pattern in ("depth-*.png", "pareto-*.png"):
        for old in folder.glob(pattern):
            if old.name not in keep:
                with contextlib.suppress(OSError):
                    old.unlink()


def _title(col: str, kinds: dict[str, str] | None = None) -> str:
    fixed = {
        "delta_m": "Δm % (Maninis; lower is better)",
        "params": "parameters",
        "latency_ms": "latency (ms / image)",
    }
    if col in fixed:
        return fixed[col]
    task, _, metric = col.partition("/")
    said = _metric_words(metric, (kinds or {}).get(task))
    return f"{task} {said[0]} ({said[1]} is better)" if said else col


def _metric_words(metric: str, kind: str | None = None) -> tuple[str, str] | None:
    """(label, "higher" / "lower") of a metric name, from its task's ``kind`` when known,
    else from the task kinds that have it (None when they disagree or none has it): "mae"
    -> ("MAE", "lower")."""
    from workbench.tasks import TASK_KINDS

    names = [kind] if kind in TASK_KINDS.names() else TASK_KINDS.names()
    kinds = [k for k in (TASK_KINDS.get(n) for n in names) if metric in k.metric_names]
    labels = {k.metric_label(metric) for k in kinds}
    directions = {"higher" if k.metric_higher_is_better(metric) else "lower" for k in kinds}
    if len(directions) != 1:
        return None
    return (labels.pop() if len(labels) == 1 else metric), directions.pop()


SLUG_BYTES = 200  # a chart's name within the usual 255-byte limit, with "pareto-" and ".png"


def _slug(text: str) -> str:
    """``text`` as a file-name part: letters, digits, "-" and "_". Past ``SLUG_BYTES`` (six
    tasks of 40 letters made a 280-byte name, and a sweep that trained every member then
    failed on its chart) it keeps its start and a hash of the whole, so names stay apart."""
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
    if len(slug.encode()) <= SLUG_BYTES:
        return slug
    import hashlib

    digest = hashlib.sha1(slug.encode()).hexdigest()[:10]
    head = slug.encode()[: SLUG_BYTES - 11].decode("utf-8", "ignore")
    return f"{head}-{digest}"
