"""train.monotonic checked on the fitted model, whatever enforced the constraints (or nothing did).

For each constrained column: a seeded sample of test rows, each swept over a grid of the column's
training values with every other column held fixed, and scored as the service scores it (the
positive class's probability, or the predicted value). A step of a sweep where the prediction moves
against the column's direction by more than TOLERANCE is a violation. The model is a black box
here, so the count means the same for a family that enforces the constraints and one that cannot.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from tabular_mlops.metrics import MONOTONIC_TOLERANCE as TOLERANCE
from tabular_mlops.models.scoring import DIGITS, predict


def sweep_grid(values: pd.Series, points: int) -> np.ndarray:
    """At most `points` of the column's training values, at even quantile steps from the smallest
    to the largest (repeats merged, so a column with few values gives a shorter grid)."""
    present = values.dropna().to_numpy()
    if not len(present):
        return present
    return np.unique(np.quantile(present, np.linspace(0, 1, points), method="lower"))


def sample_rows(inputs: pd.DataFrame, rows: int | None, seed: int) -> pd.DataFrame:
    """A seeded sample of at most `rows` rows (None: every row), in their order in the table."""
    if rows is None or rows >= len(inputs):
        return inputs
    drawn = np.random.default_rng(seed).choice(len(inputs), size=rows, replace=False)
    return inputs.iloc[np.sort(drawn)]


def swept(rows: pd.DataFrame, column: str, grid: np.ndarray) -> pd.DataFrame:
    """Each row once per grid value, in order, with `column` set to that value and the rest as they were."""
    frame = rows.loc[rows.index.repeat(len(grid))].reset_index(drop=True)
    frame[column] = pd.Series(np.tile(grid, len(rows)), dtype=rows[column].dtype)
    return frame


def column_violations(task: str, model: BaseEstimator, rows: pd.DataFrame, column: str, grid: np.ndarray, direction: str) -> dict:
    """One column's figures: steps against `direction` (violations), rows with at least one, the largest such move."""
    if len(grid) < 2 or rows.empty:  # a column of one training value, or no test rows: nothing to sweep
        steps = np.zeros((len(rows), 0))
    else:
        prediction = np.asarray(predict(task, model, swept(rows, column, grid)), dtype=float).reshape(len(rows), len(grid))
        steps = np.diff(prediction, axis=1) * (1 if direction == "increasing" else -1)  # > 0: with the direction
    against = steps < -TOLERANCE
    return {"direction": direction, "violations": int(against.sum()), "rows_violating": int(against.any(axis=1).sum()),
            "rows": len(rows), "grid_points": len(grid),
            "largest_violation": round(float(-steps[against].min()), DIGITS) if against.any() else 0.0}


def monotonic_report(task: str, model: BaseEstimator, train_inputs: pd.DataFrame, test_inputs: pd.DataFrame,
                     monotonic: dict[str, str], rows: int | None, grid_points: int, seed: int) -> dict[str, dict]:
    """metrics/evaluate/metrics.json's `monotonic` section: {column: its figures}, in train.monotonic's order."""
    sample = sample_rows(test_inputs, rows, seed)
    return {column: column_violations(task, model, sample, column, sweep_grid(train_inputs[column], grid_points), direction)
            for column, direction in monotonic.items()}
