"""explain: each row's model output split into one contribution per raw input column.

base_value + contributions.sum(axis=1) == outputs (to rounding): SHAP's local accuracy. The
exact methods (tree, linear, exact) satisfy it by theory, the permutation explainer by
construction (each pass through the columns telescopes from the background's mean output to
the row's), so a gap larger than float rounding is a bug, not an approximation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabular_mlops.errors import StageError
from tabular_mlops.explanations.explainers import Explainer, transformed_contributions
from tabular_mlops.explanations.outputs import model_output


@dataclass(frozen=True)
class Explanation:
    output_space: str              # log_odds | probability | value
    base_value: float              # where the contributions start: the mean output over the background (trees: the training rows)
    contributions: pd.DataFrame    # rows x raw input columns, indexed like the explained rows
    outputs: np.ndarray            # the model's own output for each row, in output_space


def explain(explainer: Explainer, rows: pd.DataFrame) -> Explanation:
    """Contributions for raw `rows` (columns that are no model input are ignored)."""
    missing = [column for column in explainer.columns if column not in rows.columns]
    if missing:
        raise StageError(f"explanations: rows lack the model's input column(s) {', '.join(map(repr, missing))}")
    preprocessor, estimator = explainer.model[0], explainer.model[-1]
    if len(rows) == 0:
        values, outputs = np.zeros((0, sum(map(len, explainer.positions)))), np.zeros(0)
    else:
        transformed = preprocessor.transform(rows)
        values = transformed_contributions(explainer, transformed)
        outputs = model_output(estimator, explainer.output_space, transformed)
    summed = np.column_stack([values[:, where].sum(axis=1) for where in explainer.positions])
    contributions = pd.DataFrame(summed, index=rows.index, columns=explainer.columns)
    return Explanation(explainer.output_space, explainer.base_value, contributions, outputs)
