"""Per-group metrics with bootstrap intervals, and the gaps between groups.

A group with fewer than `min_group_rows` rows is listed with its size and no numbers: a rate
on five rows is noise, and it must not drive a gap either, so gaps compare only the groups
with enough rows. Every number is rounded to 6 decimals and an undefined one is None, so the
report is JSON as it stands and the same inputs and seed give the same bytes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame

from tabular_mlops.errors import StageError
from tabular_mlops.fairness.bootstrap import bootstrap_intervals
from tabular_mlops.fairness.gaps import gap_metrics
from tabular_mlops.fairness.groups import TOO_FEW_ROWS, group_sort_key
from tabular_mlops.fairness.inputs import compared_groups, json_number, report_columns
from tabular_mlops.fairness.measures import MEASURES

__all__ = ["gap_metrics", "group_report"]


def group_report(
    task, target, probability_or_prediction, decision, groups, *, min_group_rows: int,
    bootstrap_rounds: int, confidence: float, seed: int,
) -> dict:
    """{"groups": [one entry per group, sorted by group_sort_key], "gaps": gap_metrics(...)}.

    classification: target 0/1, the probability of class 1, the 0/1 decision at the chosen
    threshold. regression: target and prediction, decision None. Values come from fairlearn's
    MetricFrame, intervals from `bootstrap_rounds` seeded resamples within each group.
    """
    if bootstrap_rounds < 1 or not 0 < confidence < 1:
        raise StageError(
            f"group_report: bootstrap_rounds must be >= 1 and confidence in (0, 1), "
            f"got {bootstrap_rounds} and {confidence}"
        )
    columns, labels = report_columns(task, target, probability_or_prediction, decision, groups)
    counts = labels.value_counts()
    compared = compared_groups(labels, min_group_rows)
    measures = MEASURES[task]
    values = _point_values(measures, columns, labels, compared)
    entries = []
    for label in sorted(counts.index, key=group_sort_key):
        entry = {"group": label, "rows": int(counts[label])}
        if label not in compared:
            entries.append({**entry, "status": TOO_FEW_ROWS})
            continue
        inside = (labels == label).to_numpy()
        intervals = bootstrap_intervals(
            measures, {name: array[inside] for name, array in columns.items()},
            rounds=bootstrap_rounds, confidence=confidence, seed=seed, label=label,
        )
        metrics = {name: _estimate(values.at[label, name], *intervals[name]) for name in measures}
        entries.append({**entry, "status": "ok", "metrics": metrics})
    gaps = gap_metrics(task, target, probability_or_prediction, decision, groups, min_group_rows=min_group_rows)
    return {"groups": entries, "gaps": gaps}


def _point_values(measures, columns: dict[str, np.ndarray], labels: pd.Series, compared: list[str]) -> pd.DataFrame:
    if not compared:
        return pd.DataFrame()
    keep = labels.isin(compared).to_numpy()
    target, score, *rest = (array[keep] for array in columns.values())
    sample_params = {name: {"decision": rest[0]} for name in measures} if rest else None
    frame = MetricFrame(
        metrics=measures, y_true=target, y_pred=score, sensitive_features=labels[keep].to_numpy(),
        sample_params=sample_params,
    )
    return frame.by_group


def _estimate(value, low: float, high: float) -> dict:
    value = json_number(value)
    if value is None:
        return {"value": None, "low": None, "high": None}
    return {"value": value, "low": json_number(low), "high": json_number(high)}
