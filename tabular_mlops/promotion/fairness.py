"""The gated fairness gaps (gates: fairness.<column>.<gap>) of one model on the compared rows.

The gaps are evaluate's (tabular_mlops/fairness/gaps.py: fairlearn's, over the groups with at
least fairness.min_group_rows rows), of the model's served decisions, so a challenger that
passed its gates on the test split is held to them again on the rows it is compared on.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tabular_mlops.config.params import Gate
from tabular_mlops.errors import StageError
from tabular_mlops.fairness.gaps import gap_metrics
from tabular_mlops.fairness.groups import group_labels
from tabular_mlops.promotion.scores import Scores


def fairness_gates(gates: list[Gate]) -> list[tuple[Gate, str, str]]:
    """(gate, column, gap) for each gate on a fairness gap; a column name may hold dots."""
    found = []
    for gate in gates:
        if gate.metric.startswith("fairness."):
            column, _, gap = gate.metric.removeprefix("fairness.").rpartition(".")
            found.append((gate, column, gap))
    return found


def group_columns(rows: pd.DataFrame, gated: list[tuple[Gate, str, str]], bands: dict[str, list[float] | None]) -> dict[str, pd.Series]:
    """{protected column: group labels of the rows} (bands as the contract cuts them), for each gated column."""
    groups = {}
    for _, column, _ in gated:
        if column not in rows.columns:
            raise StageError(f"gate fairness.{column}: the compared rows have no column '{column}'")
        groups[column] = group_labels(rows[column].reset_index(drop=True), bands.get(column))
    return groups


def gap_values(truth: np.ndarray, scores: Scores, gated: list[tuple[Gate, str, str]], groups: dict[str, pd.Series],
               min_group_rows: int) -> dict[str, dict]:
    """{"<column>.<gap>": {"value": the gap or None, "reason": why None, or None}} for each gated gap."""
    task = "regression" if scores.problem == "regression" else "classification"
    decision = None if task == "regression" else scores.decision
    reports = {column: gap_metrics(task, truth, scores.score, decision, groups[column], min_group_rows=min_group_rows)
               for column in groups}
    return {f"{column}.{gap}": {"value": reports[column][gap], "reason": reports[column]["reason"]} for _, column, gap in gated}


def gap_holds(gate: Gate, value: float | None) -> bool:
    return value is not None and (gate.min is None or value >= gate.min) and (gate.max is None or value <= gate.max)
