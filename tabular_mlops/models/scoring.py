"""Metrics and cross-validation for every task, shared by the leaderboard, the search and evaluate.

`task` is the key of the metric definitions (DataParams.problem): classification (binary),
multiclass or regression. A multiclass prediction is a DataFrame of class probabilities whose
columns are the model's classes, so every metric knows which column is which class.
Cross-validation always clones the whole pipeline, preprocessing included, so every fold fits
its imputer, outlier fences, scaler and encoder on that fold's training part only.
"""
from __future__ import annotations

from typing import Callable

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

from tabular_mlops.engine.cluster import fold_jobs
from tabular_mlops.errors import StageError
from tabular_mlops.metrics import CV_METRICS_BY_TASK, LOWER_IS_BETTER

SCORERS = {
    "roc_auc": "roc_auc",
    "average_precision": "average_precision",
    "log_loss": "neg_log_loss",
    "brier": "neg_brier_score",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}
# scikit-learn names its multiclass scorers apart; the metrics keep one name per concept.
MULTICLASS_SCORERS = SCORERS | {"roc_auc": "roc_auc_ovr", "accuracy": "accuracy", "f1_macro": "f1_macro"}
DIGITS = 6  # metrics are rounded so that last-bit float noise cannot change committed files


class FoldFailed(StageError):
    """A cross-validation fold scored NaN (or inf): a mean over it would be no number at all."""


def folds(task: str, count: int, seed: int):
    """Stratified for classification, so every fold keeps the class balance."""
    splitter = KFold if task == "regression" else StratifiedKFold
    return splitter(n_splits=count, shuffle=True, random_state=seed)


def scorer(task: str, metric: str) -> str:
    """The scikit-learn scorer name of one of the task's metrics."""
    return (MULTICLASS_SCORERS if task == "multiclass" else SCORERS)[metric]


def predict(task: str, model: BaseEstimator, inputs: pd.DataFrame) -> np.ndarray | pd.DataFrame:
    """Probability of the positive class, every class's probability (multiclass), or the predicted value."""
    if task == "multiclass":
        return pd.DataFrame(model.predict_proba(inputs), columns=model.classes_, index=inputs.index)
    return model.predict_proba(inputs)[:, 1] if task == "classification" else model.predict(inputs)


def decide(probabilities: pd.DataFrame) -> np.ndarray:
    """The most probable class of each row (the first of the classes on a tie)."""
    return probabilities.columns.to_numpy()[np.argmax(probabilities.to_numpy(), axis=1)]


def score(task: str, target: pd.Series, prediction: np.ndarray | pd.DataFrame, threshold: float = 0.5) -> dict[str, float]:
    if task == "multiclass":
        prediction = prediction.sort_index(axis=1)  # scikit-learn's multiclass metrics need sorted labels
        classes = prediction.columns.to_numpy()
        # One-vs-rest AUC and macro F1 average over classes: undefined (NaN) without rows of each.
        every_class = set(classes) <= set(target)
        return {
            "roc_auc": roc_auc_score(target, prediction, multi_class="ovr", average="macro", labels=classes) if every_class else np.nan,
            "log_loss": log_loss(target, prediction, labels=classes),
            "brier": brier_score_loss(target, prediction, labels=classes),
            "accuracy": accuracy_score(target, decide(prediction)),
            "f1_macro": f1_score(target, decide(prediction), labels=classes, average="macro", zero_division=0) if every_class else np.nan,
        }
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
                     count: int, seed: int, n_jobs: int = 1, on_fold: Callable[[int], None] | None = None) -> dict[str, float]:
    """Mean and standard deviation over the folds, for a fresh clone of the pipeline."""
    return cross_validated_predictions(task, model, inputs, target, count, seed, n_jobs, on_fold)[0]


def cross_validated_predictions(task: str, model: BaseEstimator, inputs: pd.DataFrame, target: pd.Series,
                                count: int, seed: int, n_jobs: int = 1,
                                on_fold: Callable[[int], None] | None = None) -> tuple[dict[str, float], np.ndarray]:
    """The CV summary and every training row's out-of-fold prediction, from the same fits.

    A fit that raises is raised (scikit-learn's default error_score=nan would hide it in a NaN
    score), and a fold that scores NaN, or lacks a class, raises FoldFailed naming it.
    `on_fold(number)` is called after each fold (1-based): as it ends when folds run one at a time
    (n_jobs 1), for every fold after the last otherwise. It is for progress lines, never a result.
    """
    n_jobs = fold_jobs(n_jobs)  # on a Dask cluster (engine.name: dask), every fold at once on its workers
    metrics = CV_METRICS_BY_TASK[task]
    scorers = {name: scorer(task, name) for name in metrics}
    splits = list(folds(task, count, seed).split(inputs, target))
    if task != "regression":
        # A fold missing a class has no ROC-AUC; name it before a scorer fails obscurely on it.
        classes = len(np.unique(np.asarray(target)))
        for number, (_, rows) in enumerate(splits, start=1):
            if len(np.unique(np.asarray(target)[rows])) < classes:
                raise FoldFailed(f"fold {number} gave NaN {metrics[0]} ({count}-fold CV): its rows lack a class")
    if on_fold is None or n_jobs != 1:
        scores = _cross_validate(model, inputs, target, splits, scorers, n_jobs)
        for number in range(1, len(splits) + 1) if on_fold is not None else ():
            on_fold(number)  # in parallel, every fold ends before any is reported
    else:
        # One fold per call: the same fits as one call (each fold fits its own clone), with a report between.
        parts = []
        for number, split in enumerate(splits, start=1):
            parts.append(_cross_validate(model, inputs, target, [split], scorers, n_jobs))
            on_fold(number)
        scores = {f"test_{name}": np.concatenate([part[f"test_{name}"] for part in parts]) for name in metrics}
        scores["estimator"] = [fitted for part in parts for fitted in part["estimator"]]
        scores["indices"] = {"test": [rows for part in parts for rows in part["indices"]["test"]]}
    summary = {}
    for name in metrics:
        values = scores[f"test_{name}"]
        values = -values if scorers[name].startswith("neg_") else values
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            shown = "NaN" if np.isnan(values[bad[0]]) else str(values[bad[0]])
            raise FoldFailed(f"fold {bad[0] + 1} gave {shown} {name} ({count}-fold CV)")
        summary[f"{name}_mean"], summary[f"{name}_std"] = float(np.mean(values)), float(np.std(values))
    if task == "multiclass":
        out_of_fold = pd.concat([predict(task, fitted, inputs.iloc[rows]) for fitted, rows in zip(scores["estimator"], scores["indices"]["test"])])
        return summary, out_of_fold.loc[inputs.index]
    out_of_fold = np.empty(len(target))
    for fitted, rows in zip(scores["estimator"], scores["indices"]["test"]):
        out_of_fold[rows] = predict(task, fitted, inputs.iloc[rows])
    return summary, out_of_fold


def _cross_validate(model: BaseEstimator, inputs: pd.DataFrame, target: pd.Series, splits: list, scorers: dict, n_jobs: int) -> dict:
    return cross_validate(clone(model), inputs, target, cv=splits, scoring=scorers,
                          n_jobs=n_jobs, return_estimator=True, return_indices=True, error_score="raise")


def baseline(task: str, train_target: pd.Series, test_target: pd.Series, threshold: float = 0.5) -> dict[str, float]:
    """What no skill scores: the training class balance, or the training mean, for every row."""
    dummy = DummyRegressor(strategy="mean") if task == "regression" else DummyClassifier(strategy="prior")
    dummy.fit(np.zeros((len(train_target), 1)), train_target)
    return score(task, test_target, predict(task, dummy, pd.DataFrame(np.zeros((len(test_target), 1)), index=test_target.index)), threshold)


def skill(scores: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """The Brier skill score, 1 - Brier / the reference's Brier, for classification scores; {} for regression.

    The reference is `baseline`'s, the training class shares for every row, whose Brier is never 0
    (every class has training rows, so no share is 1); so the baseline's own skill is 0.
    """
    return {"brier_skill": 1 - scores["brier"] / reference["brier"]} if "brier" in scores else {}


def improvement(test: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """How much better than the reference each metric is; positive means better."""
    return {name: (reference[name] - value if name in LOWER_IS_BETTER else value - reference[name]) for name, value in test.items()}


def holdout_sections(task: str, train_target: pd.Series, test_target: pd.Series, prediction: np.ndarray | pd.DataFrame,
                     threshold: float = 0.5) -> dict[str, dict[str, float]]:
    """evaluate's `test`, `baseline` and `over_baseline` sections: the test split's scores, the no-skill
    baseline's (skill scores included) and the improvement on it, which the default gates bound."""
    test = score(task, test_target, prediction, threshold)
    reference = baseline(task, train_target, test_target, threshold)
    test, reference = test | skill(test, reference), reference | skill(reference, reference)
    return {"test": test, "baseline": reference, "over_baseline": improvement(test, reference)}


def rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {name: round(float(value), DIGITS) for name, value in metrics.items()}
