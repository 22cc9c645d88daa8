"""Evaluate: held-out test metrics, k-fold cross-validation, a baseline, and where the model errs.

- The decision threshold is chosen on out-of-fold predictions of the training split (never
  on the test split), by `evaluate.threshold`; accuracy, F1 and the confusion matrix use it.
- Cross-validation clones the whole pipeline, so every fold refits its preprocessing.
- Permutation importance shuffles each raw input column of the test split.
- Metrics per value of `evaluate.segment_column` show gaps between groups.
"""
from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
from dvclive import Live
from sklearn.base import BaseEstimator
from sklearn.inspection import permutation_importance

from stages.dataset import split_inputs_target
from stages.errors import StageError, run_stage
from stages.files import write_json
from stages.params import Params, ThresholdParams, load_params
from stages.scoring import PRIMARY_METRIC, SCORERS, baseline, cross_validated_predictions, improvement, predict, rounded, score
from stages.tables import read_table

MODEL = "models/model.joblib"
TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
LIVE_DIR = "metrics/evaluate"
IMPORTANCE = "metrics/evaluate/importance.json"
SEGMENTS = "metrics/evaluate/segments.json"
CANDIDATE_THRESHOLDS = np.round(np.linspace(0.01, 0.99, 99), 2)


def choose_threshold(target: pd.Series, probability: np.ndarray, spec: ThresholdParams) -> float:
    """fixed: the given value; max_f1: the best F1; min_cost: the lowest FP/FN cost (first on ties)."""
    if spec.method == "fixed":
        return spec.value
    decided = probability[None, :] >= CANDIDATE_THRESHOLDS[:, None]
    positive = target.to_numpy()[None, :] == 1
    true_positive = (decided & positive).sum(axis=1)
    false_positive = (decided & ~positive).sum(axis=1)
    false_negative = (~decided & positive).sum(axis=1)
    if spec.method == "max_f1":
        f1 = 2 * true_positive / np.maximum(2 * true_positive + false_positive + false_negative, 1)
        return float(CANDIDATE_THRESHOLDS[np.argmax(f1)])
    cost = spec.cost_false_positive * false_positive + spec.cost_false_negative * false_negative
    return float(CANDIDATE_THRESHOLDS[np.argmin(cost)])


def importance(task: str, model: BaseEstimator, inputs: pd.DataFrame, target: pd.Series, repeats: int, seed: int, n_jobs: int) -> list[dict]:
    """Drop in the primary metric when one raw column is shuffled; largest first."""
    result = permutation_importance(model, inputs, target, scoring=SCORERS[PRIMARY_METRIC[task]],
                                    n_repeats=repeats, random_state=seed, n_jobs=n_jobs)
    rows = [{"column": column, **rounded({"importance": mean, "std": std})}
            for column, mean, std in zip(inputs.columns, result.importances_mean, result.importances_std)]
    return sorted(rows, key=lambda row: (-row["importance"], row["column"]))


def segments(task: str, groups: pd.Series, target: pd.Series, prediction: np.ndarray, threshold: float) -> list[dict]:
    """Metrics per group; ranking metrics need both classes in a group, else they are null."""
    rows = []
    labels = groups.astype("object").where(groups.notna(), "(missing)").astype(str)
    for value in sorted(labels.unique()):
        inside = (labels == value).to_numpy()
        part, predicted = target[inside], prediction[inside]
        row = {"segment": value, "rows": int(inside.sum())}
        if task == "classification":
            row["positive_rate"] = round(float(part.mean()), 6)
            if part.nunique() < 2:
                row.update(roc_auc=None, brier=round(float(np.mean((predicted - part) ** 2)), 6))
            else:
                scores = rounded(score(task, part, predicted, threshold))
                row.update(roc_auc=scores["roc_auc"], brier=scores["brier"], accuracy=scores["accuracy"])
        else:
            row.update(rounded(score(task, part, predicted)) if len(part) > 1 else {})
        rows.append(row)
    return rows


def log_plots(live: Live, params: Params, target: pd.Series, prediction: np.ndarray, threshold: float) -> None:
    if params.data.task == "regression":
        points = pd.DataFrame({"actual": target.to_numpy(), "predicted": prediction, "residual": target.to_numpy() - prediction}).round(6)
        live.log_plot("predicted_vs_actual", points, x="actual", y="predicted", template="scatter", title="Predicted vs actual, test split")
        live.log_plot("residuals", points, x="predicted", y="residual", template="scatter", title="Residuals, test split")
        return
    positive = params.data.positive_class
    live.log_sklearn_plot("roc", target, prediction, name="roc.json")
    live.log_sklearn_plot("precision_recall", target, prediction, name="precision_recall.json")
    live.log_sklearn_plot("calibration", target, prediction, name="calibration.json", n_bins=10)
    labels = np.where(target == 1, positive, f"not {positive}")
    decided = np.where(prediction >= threshold, positive, f"not {positive}")
    live.log_sklearn_plot("confusion_matrix", labels, decided, name="confusion_matrix.json")


def main() -> None:
    params = load_params()
    task, seed = params.data.task, params.seed
    model = joblib.load(MODEL)
    train_inputs, train_target = split_inputs_target(read_table(TRAIN), params.data)
    test_inputs, test_target = split_inputs_target(read_table(TEST), params.data)
    column = params.evaluate.segment_column
    if column is not None and column not in test_inputs.columns:
        raise StageError(f"params.yaml: evaluate.segment_column '{column}' is not an input column; choose one of {', '.join(test_inputs.columns)} or null")
    prediction = predict(task, model, test_inputs)
    cv, out_of_fold = cross_validated_predictions(task, model, train_inputs, train_target, params.evaluate.cv_folds, seed, params.evaluate.n_jobs)
    threshold = choose_threshold(train_target, out_of_fold, params.evaluate.threshold) if task == "classification" else 0.5
    test = score(task, test_target, prediction, threshold)
    reference = baseline(task, train_target, test_target, threshold)
    sections = {
        "test": test,
        "cv": cv,
        "baseline": reference,
        "over_baseline": improvement(test, reference),
    }
    with Live(LIVE_DIR, dvcyaml=None, save_dvc_exp=False, report=None) as live:
        for section, metrics in sections.items():
            for name, value in rounded(metrics).items():
                live.log_metric(f"{section}/{name}", value, plot=False)
        if task == "classification":
            live.log_metric("threshold", threshold, plot=False)
        log_plots(live, params, test_target, prediction, threshold)
        ranked = importance(task, model, test_inputs, test_target, params.evaluate.importance_repeats, seed, params.evaluate.n_jobs)
        live.log_plot("importance", pd.DataFrame(ranked), x="importance", y="column",
                      template="bar_horizontal_sorted", title="Permutation importance, test split")
    write_json(IMPORTANCE, ranked)
    write_json(SEGMENTS, {"column": column, "segments": segments(task, test_inputs[column], test_target, prediction, threshold) if column else []})


if __name__ == "__main__":
    run_stage(main)
