"""What is explained: the estimator's output for class 1 in one of three spaces.

log_odds: the margin, where logistic regression and gradient boosting add up their terms;
probability: where a forest averages its trees, and what the approximate explainers explain;
value: a regressor's prediction.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression


def output_space(estimator, task: str) -> str:
    """Margins where the estimator adds up in them (logistic, gradient boosting), else probabilities."""
    if task == "regression":
        return "value"
    return "log_odds" if isinstance(estimator, (LogisticRegression, HistGradientBoostingClassifier)) else "probability"


def model_output(estimator, space: str, transformed: pd.DataFrame | np.ndarray) -> np.ndarray:
    """The estimator's own output in `space`, for class 1 when it is a classifier."""
    if space == "log_odds":
        return np.asarray(estimator.decision_function(transformed), dtype=np.float64)
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
