"""Metrics and cross-validation for both tasks, shared by the leaderboard, the search and evaluate.

Cross-validation always clones the whole pipeline, preprocessing included, so every fold fits
its imputer, outlier fences, scaler and encoder on that fold's training part only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate

from tabular_mlops.errors import StageError
from tabular_mlops.evaluation.metrics import CV_METRICS_BY_TASK, LOWER_IS_BETTER

SCORERS = {
    "roc_auc": "roc_auc",
    "average_precision": "average_precision",
    "log_loss": "neg_log_loss",
    "brier": "neg_brier_score",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}
DIGITS = 6  # metrics are rounded so that last-bit float noise cannot change committed files


class FoldFailed(StageError):
    """A cross-validation fold scored NaN (or inf): a mean over it would be no number at all."""


def folds(task: str, count: int, seed: int):
    """Stratified for classification, so every fold keeps the class balance."""
    splitter = StratifiedKFold if task == "classification" else KFold
    return splitter(n_splits=count, shuffle=True, random_state=seed)


def predict(task: str, model: BaseEstimator, inputs: pd.DataFrame) -> np.ndarray:
    """Probability of the positive class, or the predicted value."""
    return model.predict_proba(inputs)[:, 1] if task == "classification" else model.predict(inputs)


def score(task: str, target: pd.Series, prediction: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    if task == "regression":
        return {
            "rmse": root_mean_squared_error(target, prediction),
            "mae": mean_absolute_error(target, prediction),
            "r2": r2_score(target, prediction),
        }
    decided = (prediction >= threshold).astype(int)
    return {
        "roc_auc": roc_auc_score(target, prediction),
        "average_precision": average_precision_score(target, prediction),
        "log_loss": log_loss(target, prediction, labels=[0, 1]),
        "brier": brier_score_loss(target, prediction),
        "accuracy": accuracy_score(target, decided),
        "f1": f1_score(target, decided, zero_division=0),
    }


def cross_validation(task: str, model: BaseEstimator, inputs: pd.DataFrame, target: pd.Series,
                     count: int, seed: int, n_jobs: int = 1) -> dict[str, float]:
    """Mean and standard deviation over the folds, for a fresh clone of the pipeline."""
    return cross_validated_predictions(task, model, inputs, target, count, seed, n_jobs)[0]


def cross_validated_predictions(task: str, model: BaseEstimator, inputs: pd.DataFrame, target: pd.Series,
                                count: int, seed: int, n_jobs: int = 1) -> tuple[dict[str, float], np.ndarray]:
    """The CV summary and every training row's out-of-fold prediction, from the same fits.

    A fit that raises is raised (scikit-learn's default error_score=nan would hide it in a NaN
    score), and a fold that scores NaN, or holds one class only, raises FoldFailed naming it.
    """
    metrics = CV_METRICS_BY_TASK[task]
    scorers = {name: SCORERS[name] for name in metrics}
    splits = list(folds(task, count, seed).split(inputs, target))
    if task == "classification":
        # A fold without both classes has no ROC-AUC; name it before a scorer fails obscurely on it.
        for number, (_, rows) in enumerate(splits, start=1):
            if len(np.unique(np.asarray(target)[rows])) < 2:
                raise FoldFailed(f"fold {number} gave NaN {metrics[0]} ({count}-fold CV): its rows hold one class only")
    scores = cross_validate(clone(model), inputs, target, cv=splits, scoring=scorers,
                            n_jobs=n_jobs, return_estimator=True, return_indices=True, error_score="raise")
    summary = {}
    for name in metrics:
        values = scores[f"test_{name}"]
        values = -values if SCORERS[name].startswith("neg_") else values
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            shown = "NaN" if np.isnan(values[bad[0]]) else str(values[bad[0]])
            raise FoldFailed(f"fold {bad[0] + 1} gave {shown} {name} ({count}-fold CV)")
        summary[f"{name}_mean"], summary[f"{name}_std"] = float(np.mean(values)), float(np.std(values))
    out_of_fold = np.empty(len(target))
    for fitted, rows in zip(scores["estimator"], scores["indices"]["test"]):
        out_of_fold[rows] = predict(task, fitted, inputs.iloc[rows])
    return summary, out_of_fold


def baseline(task: str, train_target: pd.Series, test_target: pd.Series, threshold: float = 0.5) -> dict[str, float]:
    """What no skill scores: the training class balance, or the training mean, for every row."""
    dummy = DummyClassifier(strategy="prior") if task == "classification" else DummyRegressor(strategy="mean")
    dummy.fit(np.zeros((len(train_target), 1)), train_target)
    return score(task, test_target, predict(task, dummy, np.zeros((len(test_target), 1))), threshold)


def improvement(test: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """How much better than the reference each metric is; positive means better."""
    return {name: (reference[name] - value if name in LOWER_IS_BETTER else value - reference[name]) for name, value in test.items()}


def rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {name: round(float(value), DIGITS) for name, value in metrics.items()}
