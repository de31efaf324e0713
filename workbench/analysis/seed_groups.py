"""Runs that differ only in their seed, merged into one row of mean ± standard deviation.

Pure Python (no Qt, no torch). The spread is the sample standard deviation (n - 1 in the
denominator) over the seeds; a row of one seed has no spread. A value undefined for one
seed (an mAP without objects, a Δm without baselines) is undefined for the row.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from workbench.analysis.compare import INCIDENTAL, RunFacts, _comparable, flatten_config


def _key(f: RunFacts) -> tuple:
    flat = flatten_config(f.config, f.sharing_depth)
    # the classes a task learned too: one config on a data folder whose classes changed
    # between the seeds is two experiments, not one row of two seeds
    classes = tuple(sorted((task, names) for task, names in f.task_classes.items()))
    if not f.config:  # a config.toml that could not be read: the run is like no other
        return (f.path,)
    return (
        # as config_differences compares them: loss_weight 1 and 1.0 are one setting
        tuple(
            sorted(
                (k, repr(_comparable(v)))
                for k, v in flat.items()
                if k != "train.seed" and k not in INCIDENTAL
            )
        ),
        classes,
        # a run stopped after one epoch of five (or failed) is another result than the
        # finished seeds: their mean was taken over both, and only "mixed" hinted at it
        # (finished seeds that stopped early at different epochs are still one experiment)
        f.status,
        None if f.status == "finished" else f.epochs_done,
    )


def group_by_seed(facts: Sequence[RunFacts]) -> list[list[RunFacts]]:
    """Groups of runs with the same configuration but for ``train.seed``, in first-seen order.
    Runs of the same seed too (repeats) are never merged: each stays its own group."""
    groups: dict[tuple, list[RunFacts]] = {}
    for f in facts:
        groups.setdefault(_key(f), []).append(f)
    out: list[list[RunFacts]] = []
    for group in groups.values():
        seeds = [_seed(f) for f in group]
        out += [group] if len(set(seeds)) == len(seeds) else [[f] for f in group]
    return out


def _seed(f: RunFacts) -> int:
    return int((f.config.get("train") or {}).get("seed", 0))


def _mean_std(values: list[float | None]) -> tuple[float | None, float | None]:
    present = [v for v in values if v is not None]
    if not present or len(present) < len(values):
        # undefined for a seed: a mean of the others would sit beside "seeds 0, 1" as if
        # it were theirs
        return None, None
    return statistics.fmean(present), (statistics.stdev(present) if len(present) > 1 else None)


def merge_seeds(group: Sequence[RunFacts]) -> RunFacts:
    """One RunFacts for a group: means of metrics, Δm, costs; ``spread`` their std; ``seeds``."""
    first = group[0]
    if len(group) == 1:
        return first
    spread: dict[str, float] = {}
    metrics: dict[str, float | None] = {}
    for task, metric in first.primary_metrics.items():
        mean, std = _mean_std([f.metrics.get(task) for f in group])
        metrics[task] = mean
        if std is not None:
            spread[f"metric:{task}/{metric}"] = std
    scalars = {}
    for key, attr in (("delta_m", "delta_m"), ("latency", "latency_ms"), ("wall", "elapsed_s")):
        mean, std = _mean_std([getattr(f, attr) for f in group])
        scalars[attr] = mean
        if std is not None:
            spread[key] = std
    seeds = tuple(sorted(_seed(f) for f in group))
    statuses = {f.status for f in group}
    name = _merged_name(group)
    return RunFacts(
        path=first.path,
        name=name,
        status=first.status if len(statuses) == 1 else "mixed",
        # the name column and the labels read it: every seed's, not seed 0's ("seed 0" named
        # a row of seeds 0 and 1)
        config={
            **first.config,
            "name": name,
            "train": {**(first.config.get("train") or {}), "seed": ", ".join(str(s) for s in seeds)},
        },
        primary_metrics=first.primary_metrics,
        higher_is_better=first.higher_is_better,
        metrics=metrics,
        best_epoch=-1,  # epochs differ per seed
        epochs_done=first.epochs_done,
        params_total=first.params_total,
        latency_ms=scalars["latency_ms"],
        elapsed_s=scalars["elapsed_s"],
        sharing_depth=first.sharing_depth,
        created=first.created,
        delta_m=scalars["delta_m"],
        seeds=seeds,
        spread=spread,
        member_paths=tuple(f.path for f in sorted(group, key=_seed)),
        task_classes=first.task_classes,
        metric_labels=first.metric_labels,
    )


def _merged_name(group: Sequence[RunFacts]) -> str:
    """The name of a row merged over seeds: the runs' name when they share one; names that
    differ only in a "-s<seed>" ending (a sweep's) as one name with every seed ("...-s0/1");
    else the first name and how many others."""
    names = [f.name for f in group]
    if len(set(names)) == 1:
        return names[0]
    endings = [f"-s{_seed(f)}" for f in group]
    if all(n.endswith(e) for n, e in zip(names, endings, strict=True)):
        stems = {n[: -len(e)] for n, e in zip(names, endings, strict=True)}
        if len(stems) == 1:
            return f"{stems.pop()}-s{'/'.join(str(s) for s in sorted(_seed(f) for f in group))}"
    return f"{names[0]} (+{len(names) - 1} more)"
