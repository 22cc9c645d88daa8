"""The checks and conversions that the group report and the gaps share."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tabular_mlops.errors import StageError
from tabular_mlops.fairness.groups import group_labels, group_sort_key

TASKS = ("classification", "regression")


def report_columns(task, target, probability_or_prediction, decision, groups) -> tuple[dict[str, np.ndarray], pd.Series]:
    """Float arrays named as the measures' arguments, and the group labels (raw values are labelled)."""
    if task not in TASKS:
        raise StageError(f"fairness report: task must be one of {', '.join(TASKS)}; got {task!r}")
    if (task == "regression") != (decision is None):
        raise StageError(f"fairness report: decision is needed for classification and must be None for regression (task {task!r})")
    score = "probability" if task == "classification" else "prediction"
    columns = {"target": target, score: probability_or_prediction}
    if decision is not None:
        columns["decision"] = decision
    columns = {name: np.asarray(values, dtype=float).reshape(-1) for name, values in columns.items()}
    labels = group_labels(pd.Series(groups).reset_index(drop=True))
    for name, array in columns.items():
        if len(array) != len(labels):
            raise StageError(f"fairness report: {name} has {len(array)} rows but groups has {len(labels)}")
        if not np.isfinite(array).all():
            raise StageError(f"fairness report: {name} must hold finite numbers; row {int(np.argmin(np.isfinite(array)))} does not")
        if name in ("target", "decision") and task == "classification" and not np.isin(array, (0, 1)).all():
            raise StageError(f"fairness report: classification {name} must hold only 0 and 1")
    return columns, labels


def compared_groups(labels: pd.Series, min_group_rows: int) -> list[str]:
    """The groups with at least min_group_rows rows, in group_sort_key order."""
    if min_group_rows < 1:
        raise StageError(f"fairness report: min_group_rows must be >= 1; got {min_group_rows}")
    counts = labels.value_counts()
    return sorted((label for label, rows in counts.items() if rows >= min_group_rows), key=group_sort_key)


def json_number(value) -> float | None:
    """Rounded to 6 decimals; NaN and infinities (undefined) -> None; -0.0 -> 0.0."""
    value = float(value)
    return round(value, 6) + 0.0 if math.isfinite(value) else None
