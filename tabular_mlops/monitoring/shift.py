"""A shifted batch for the monitoring demo, made from the test split of any table.

The rule reads only the reference (the model's inputs, their kinds, the scored test split):
- the category the model is least sure of: among the categories of the categorical inputs that
  hold at least 5 % of the test rows, the one whose rows have the highest mean uncertainty; its
  rows weigh 15 times;
- the numeric input the score follows most (largest absolute Spearman correlation with it): the
  quarter of its rows (lowest or highest values) with the higher mean uncertainty weighs 3 times;
then the rows are resampled with replacement (seeded) to the test split's size, labels included,
and that numeric input moves half a standard deviation further towards that quarter (kept within
the test split's range; whole numbers stay whole).

Uncertainty and score: binary, the probability (uncertainty p(1 - p)); multiclass, the top class
probability (uncertainty 1 - p); regression, the prediction (uncertainty: the absolute error).
On the bundled example (lending data) this picks part-time workers and low seniority: the monitor flags
dataset drift and an estimated ROC-AUC drop beyond 0.05.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabular_mlops.errors import StageError
from tabular_mlops.monitoring.drift import CATEGORICAL, NUMERIC
from tabular_mlops.monitoring.reference import Reference

CATEGORY_WEIGHT, QUARTER_WEIGHT, MIN_CATEGORY_SHARE, STEP_IN_SD = 15.0, 3.0, 0.05, 0.5


@dataclass(frozen=True)
class Shift:
    category: tuple[str, str] | None  # (column, category) whose rows weigh CATEGORY_WEIGHT
    numeric: str | None  # whose quarter weighs QUARTER_WEIGHT and which moves by `step`
    lowest: bool = True  # the quarter of lowest values (else highest)
    step: float = 0.0  # added to `numeric` (negative towards the lowest)
    bounds: tuple[float, float] = (-np.inf, np.inf)  # the test split's range
    whole: bool = False  # the column holds whole numbers only

    def describe(self) -> str:
        parts = []
        if self.category:
            parts.append(f"{self.category[0]} = {self.category[1]} weighs {CATEGORY_WEIGHT:g}x")
        if self.numeric:
            quarter = "lowest" if self.lowest else "highest"
            parts.append(f"the {quarter} quarter of {self.numeric} weighs {QUARTER_WEIGHT:g}x, then {self.numeric} moves by {self.step:+.4g}"
                         f" ({STEP_IN_SD:g} sd)")
        return "; ".join(parts)


def score_and_uncertainty(reference: Reference) -> tuple[pd.Series, pd.Series]:
    """Per row of the scored test split: the score and how unsure the model is of it."""
    test, profile = reference.test, reference.profile
    if profile["problem"] == "classification":
        probability = test["probability"].astype(float)
        return probability, probability * (1 - probability)
    if profile["problem"] == "multiclass":
        top = test[[f"probability:{label}" for label in profile["classes"]]].astype(float).max(axis=1)
        return top, 1 - top
    prediction = test["prediction"].astype(float)
    return prediction, (test[profile["target"]].astype(float) - prediction).abs()


def plan_shift(reference: Reference) -> Shift:
    """The shift of the module docstring; refused in one line when no input can be shifted."""
    test, kinds = reference.test, reference.profile["columns"]
    score, uncertainty = score_and_uncertainty(reference)
    categories = []  # (mean uncertainty, column, category)
    for column in (name for name, kind in kinds.items() if kind == CATEGORICAL):
        values = test[column].astype("string")
        shares = values.value_counts(normalize=True)
        for category in shares.index[(shares >= MIN_CATEGORY_SHARE) & (shares < 1)]:
            categories.append((float(uncertainty[values == category].mean()), column, str(category)))
    numerics = [(abs(float(test[name].corr(score, method="spearman"))), name) for name, kind in kinds.items()
                if kind == NUMERIC and test[name].nunique() > 1]
    numerics = [(correlation, name) for correlation, name in numerics if correlation == correlation]  # NaN: no pairs to rank
    if not categories and not numerics:
        raise StageError(f"demo-drift: no input column to shift: it needs a numeric input with two or more values or a categorical"
                         f" one with two or more categories; the model's inputs are {', '.join(kinds) or 'none'}")
    category = max(categories)[1:] if categories else None
    if not numerics:
        return Shift(category, None)
    numeric = max(numerics)[1]
    values = test[numeric].astype(float)
    low, high = values.quantile([0.25, 0.75])
    lowest = bool(uncertainty[values <= low].mean() >= uncertainty[values >= high].mean())
    step = STEP_IN_SD * float(values.std())
    whole = bool((values.dropna() % 1 == 0).all())
    step = max(1.0, float(round(step))) if whole else step  # whole numbers move by whole steps, at least one
    return Shift(category, numeric, lowest, -step if lowest else step, (float(values.min()), float(values.max())), whole)


def shifted_batch(table: pd.DataFrame, shift: Shift, seed: int) -> pd.DataFrame:
    """As many rows as `table`, resampled and changed as `shift` says."""
    weights = shift_weights(table, shift)
    rows = np.random.default_rng(seed).choice(len(table), size=len(table), replace=True, p=weights / weights.sum())
    return moved(table.iloc[rows].reset_index(drop=True), shift, table[shift.numeric].dtype if shift.numeric else None)


def shift_weights(table: pd.DataFrame, shift: Shift) -> np.ndarray:
    """Per row of `table`, its weight in the shifted population."""
    weights = np.ones(len(table))
    if shift.category:
        column, category = shift.category
        weights *= np.where((table[column].astype("string") == category).fillna(False), CATEGORY_WEIGHT, 1.0)  # a missing value is not it
    if shift.numeric:
        values = table[shift.numeric].astype(float)
        quarter = values <= values.quantile(0.25) if shift.lowest else values >= values.quantile(0.75)
        weights *= np.where(quarter, QUARTER_WEIGHT, 1.0)
    return weights


def moved(batch: pd.DataFrame, shift: Shift, dtype) -> pd.DataFrame:
    """`batch` with the shift's numeric input moved by its step, within its bounds, in `dtype`."""
    if shift.numeric:
        moved_values = (batch[shift.numeric].astype(float) + shift.step).clip(*shift.bounds)
        keep_type = shift.whole and pd.api.types.is_integer_dtype(dtype)
        batch[shift.numeric] = moved_values.astype(dtype) if keep_type else moved_values
    return batch
