"""What is explained: the estimator's output for class 1 in one of three spaces.

log_odds: the margin, where logistic regression and gradient boosting add up their terms;
probability: where a forest averages its trees, and what the approximate explainers explain;
value: a regressor's prediction.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from tabular_mlops.families.registry import explanation_for


def output_space(estimator, task: str) -> str:
    """A classifier's family says: margins where it adds up in them (logistic, gradient boosting), else probabilities."""
    return "value" if task == "regression" else explanation_for(estimator).classification_output


def model_output(estimator, space: str, transformed: pd.DataFrame | np.ndarray) -> np.ndarray:
    """The estimator's own output in `space`, for class 1 when it is a classifier."""
    if space == "log_odds":
        margin = explanation_for(estimator).margin
        values = estimator.decision_function(transformed) if margin is None else margin(estimator, transformed)
        return np.asarray(values, dtype=np.float64)
    if space == "probability":
        return np.asarray(estimator.predict_proba(transformed)[:, 1], dtype=np.float64)
    return np.asarray(estimator.predict(transformed), dtype=np.float64).reshape(len(transformed))


def array_output(estimator, space: str, values: np.ndarray) -> np.ndarray:
    """model_output on a plain array, for SHAP's batches of masked rows.

    scikit-learn's checks of a DataFrame's columns cost several times the prediction itself on
    those batches (1,800 rows: 12 ms against 3.4 ms for the calibrated linear SVM), and the
    columns are the fitted ones by construction, so the warning about missing names is noise.
    (catch_warnings swaps the process's filters: explain() calls this under one lock, see randomness.py.)
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        return model_output(estimator, space, values)
