"""Evaluate: held-out test metrics, k-fold cross-validation on the training split, a baseline.

Cross-validation clones the whole pipeline (preprocessing included), so every fold fits its
imputer, outlier fences, scaler and encoder on that fold's training part only.
"""
from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
from dvclive import Live
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score, average_precision_score, brier_score_loss, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline

from stages.dataset import split_inputs_target
from stages.errors import run_stage
from stages.params import EvaluateParams, load_params
from stages.tables import read_table

MODEL = "models/model.joblib"
TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
LIVE_DIR = "metrics/evaluate"
DIGITS = 6  # metrics are rounded so that last-bit float noise cannot change the committed files
# scikit-learn scorer name -> our metric name (the scorer negates losses)
CV_SCORES = {"roc_auc": "roc_auc", "average_precision": "average_precision", "neg_brier_score": "brier"}


def score_probabilities(target: pd.Series, probability: np.ndarray, threshold: float) -> dict[str, float]:
    """Ranking and probability metrics, plus accuracy and F1 at the decision threshold."""
    predicted = (probability >= threshold).astype(int)
    return {
        "roc_auc": roc_auc_score(target, probability),
        "average_precision": average_precision_score(target, probability),
        "log_loss": log_loss(target, probability, labels=[0, 1]),
        "brier": brier_score_loss(target, probability),
        "accuracy": accuracy_score(target, predicted),
        "f1": f1_score(target, predicted, zero_division=0),
    }


def cross_validation(model: Pipeline, inputs: pd.DataFrame, target: pd.Series, spec: EvaluateParams, seed: int) -> dict[str, float]:
    """Mean and standard deviation over stratified folds of a fresh clone of the pipeline."""
    folds = StratifiedKFold(n_splits=spec.cv_folds, shuffle=True, random_state=seed)
    scores = cross_validate(clone(model), inputs, target, cv=folds, scoring=list(CV_SCORES), n_jobs=spec.n_jobs)
    summary = {}
    for scorer, label in CV_SCORES.items():
        values = np.abs(scores[f"test_{scorer}"])
        summary[f"{label}_mean"], summary[f"{label}_std"] = float(np.mean(values)), float(np.std(values))
    return summary


def baseline(train_target: pd.Series, test_target: pd.Series, threshold: float) -> dict[str, float]:
    """A classifier that always predicts the training class balance: what 'no skill' scores."""
    dummy = DummyClassifier(strategy="prior").fit(np.zeros((len(train_target), 1)), train_target)
    probability = dummy.predict_proba(np.zeros((len(test_target), 1)))[:, 1]
    return score_probabilities(test_target, probability, threshold)


def rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {name: round(float(value), DIGITS) for name, value in metrics.items()}


def main() -> None:
    params = load_params()
    model = joblib.load(MODEL)
    train_inputs, train_target = split_inputs_target(read_table(TRAIN), params.data)
    test_inputs, test_target = split_inputs_target(read_table(TEST), params.data)
    probability = model.predict_proba(test_inputs)[:, 1]
    threshold = params.evaluate.threshold
    sections = {
        "test": score_probabilities(test_target, probability, threshold),
        "cv": cross_validation(model, train_inputs, train_target, params.evaluate, params.seed),
        "baseline": baseline(train_target, test_target, threshold),
    }
    labels = np.where(test_target == 1, params.data.positive_class, f"not {params.data.positive_class}")
    predicted = np.where(probability >= threshold, params.data.positive_class, f"not {params.data.positive_class}")
    with Live(LIVE_DIR, dvcyaml=None, save_dvc_exp=False, report=None) as live:
        for section, metrics in sections.items():
            for name, value in rounded(metrics).items():
                live.log_metric(f"{section}/{name}", value, plot=False)
        live.log_sklearn_plot("roc", test_target, probability, name="roc.json")
        live.log_sklearn_plot("precision_recall", test_target, probability, name="precision_recall.json")
        live.log_sklearn_plot("calibration", test_target, probability, name="calibration.json", n_bins=10)
        live.log_sklearn_plot("confusion_matrix", labels, predicted, name="confusion_matrix.json")


if __name__ == "__main__":
    run_stage(main)
