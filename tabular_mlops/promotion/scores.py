"""One model's answers on the compared rows, as arrays the metrics take, and the truth beside them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabular_mlops.errors import StageError


@dataclass(frozen=True)
class Scores:
    """binary: `score` the probability of the positive class, `decision` 0/1 (the served decision);
    multiclass: `score` (rows, classes) probabilities, `decision` the class labels;
    regression: `score` the prediction, `decision` None."""

    problem: str
    score: np.ndarray
    decision: np.ndarray | None
    classes: tuple[str, ...] = ()

    def take(self, rows: np.ndarray) -> "Scores":
        """The answers on `rows` (positions, repeats allowed): one bootstrap resample."""
        return Scores(self.problem, self.score[rows], None if self.decision is None else self.decision[rows], self.classes)


def scores_of(bundle, inputs: pd.DataFrame) -> Scores:
    """`bundle.predict` on `inputs`, as Scores."""
    predicted = bundle.predict(inputs)
    if bundle.problem == "regression":
        return Scores("regression", predicted["prediction"].to_numpy(dtype=float), None)
    if bundle.problem == "multiclass":
        classes = tuple(bundle.manifest["model"]["classes"])
        probabilities = predicted[[f"probability:{label}" for label in classes]].to_numpy(dtype=float)
        return Scores("multiclass", probabilities, predicted["decision"].astype(str).to_numpy(), classes)
    positive = bundle.manifest["model"]["positive_class"]
    decision = (predicted["decision"].astype(str) == positive).to_numpy(dtype=int)
    return Scores("classification", predicted["probability"].to_numpy(dtype=float), decision)


def truth_of(target: pd.Series, problem: str, positive_class: str | None) -> np.ndarray:
    """The target as the metrics take it: 0/1 for the positive class (binary), labels as text
    (multiclass), floats (regression)."""
    if problem == "classification":
        return (target.astype(str) == positive_class).to_numpy(dtype=int)
    if problem == "multiclass":
        return target.astype(str).to_numpy()
    try:
        return target.astype(float).to_numpy()
    except (TypeError, ValueError):
        raise StageError(f"target column '{target.name}': regression needs numbers") from None
