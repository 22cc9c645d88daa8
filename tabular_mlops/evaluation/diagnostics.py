"""Where the model errs: the decision threshold, permutation importance, metrics per segment, plots.

- The decision threshold (operating_point.py) is chosen on out-of-fold predictions of the
  training split, never on the test split; accuracy, F1 and the confusion matrix use it.
- Cross-validation clones the whole pipeline, so every fold refits its preprocessing.
- Permutation importance shuffles each raw input column of the test split.
- Metrics per value of `data.segment_column` show gaps between groups.
- Multiclass decides by the most probable class: no threshold, and no ROC, precision-recall
  or calibration plot (those are per class); the confusion matrix covers every class.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from dvclive import Live
from sklearn.base import BaseEstimator
from sklearn.inspection import permutation_importance

from tabular_mlops.config.params import Params
from tabular_mlops.files import read_json, write_text
from tabular_mlops.metrics import PRIMARY_METRIC
from tabular_mlops.models.budget import screening_sample
from tabular_mlops.models.scoring import DIGITS, decide, rounded, score, scorer

def cv_rows(params: Params, inputs: pd.DataFrame, target: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """The training rows that evaluate's CV uses: above leaderboard.sample_rows, the leaderboard's
    own sample (the model card says so)."""
    sampled_inputs, sampled_target, _ = screening_sample(inputs, target, params.data.problem != "regression",
                                                         params.leaderboard.sample_rows, params.seed, params.evaluate.cv_folds)
    return sampled_inputs, sampled_target


def importance(task: str, model: BaseEstimator, inputs: pd.DataFrame, target: pd.Series, repeats: int, seed: int, n_jobs: int) -> list[dict]:
    """Drop in the primary metric when one raw column is shuffled; largest first."""
    result = permutation_importance(model, inputs, target, scoring=scorer(task, PRIMARY_METRIC[task]),
                                    n_repeats=repeats, random_state=seed, n_jobs=n_jobs)
    rows = [{"column": column, **rounded({"importance": mean, "std": std})}
            for column, mean, std in zip(inputs.columns, result.importances_mean, result.importances_std)]
    return sorted(rows, key=lambda row: (-row["importance"], row["column"]))


def segments(task: str, groups: pd.Series, target: pd.Series, prediction: np.ndarray, threshold: float, min_rows: int = 1) -> list[dict]:
    """Metrics per group; ranking metrics (and macro F1) need every class in a group, else they are null.
    A group of fewer than `min_rows` rows (fairness.min_group_rows) gets its size and no figures:
    8 rows give a ROC-AUC that sampling noise alone moves by 0.2."""
    rows = []
    labels = groups.astype("object").where(groups.notna(), "(missing)").astype(str)
    for value in sorted(labels.unique()):
        inside = (labels == value).to_numpy()
        part, predicted = target[inside], prediction[inside]
        row = {"segment": value, "rows": int(inside.sum())}
        if row["rows"] < min_rows:
            row["status"] = "too few rows"
        elif task == "multiclass":
            row.update({name: None if np.isnan(number) else number for name, number in rounded(score(task, part, predicted)).items()})
        elif task == "classification":
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


def log_plots(live: Live, params: Params, target: pd.Series, prediction: np.ndarray | pd.DataFrame, threshold: float,
              curve: list[dict] | None = None) -> None:
    """The task's plots; dvclive declares each one (data file, template, axes, title) in the
    dvc.yaml it writes, so `dvc plots show` draws only plots whose data this run wrote."""
    if params.data.problem == "multiclass":
        live.log_sklearn_plot("confusion_matrix", target.to_numpy(), decide(prediction), name="confusion_matrix.json",
                              title="Confusion matrix at the most probable class, test split")
        return
    if params.data.task == "regression":
        points = pd.DataFrame({"actual": target.to_numpy(), "predicted": prediction, "residual": target.to_numpy() - prediction}).round(6)
        live.log_plot("predicted_vs_actual", points, x="actual", y="predicted", template="scatter", title="Predicted vs actual, test split")
        live.log_plot("residuals", points, x="predicted", y="residual", template="scatter", title="Residuals, test split")
        return
    positive = params.data.positive_class
    live.log_sklearn_plot("roc", target, prediction, name="roc.json", title="ROC curve, test split")
    live.log_sklearn_plot("precision_recall", target, prediction, name="precision_recall.json", title="Precision-recall, test split")
    live.log_sklearn_plot("calibration", target, prediction, name="calibration.json", n_bins=10, title="Calibration, test split")
    labels = np.where(target == 1, positive, f"not {positive}")
    decided = np.where(prediction >= threshold, positive, f"not {positive}")
    live.log_sklearn_plot("confusion_matrix", labels, decided, name="confusion_matrix.json",
                          title="Confusion matrix at the chosen threshold, test split")
    if curve:
        live.log_plot("decision_curve", pd.DataFrame(curve).round(DIGITS), x="threshold", y=["model", "treat_all", "treat_none"],
                      template="linear", title="Decision curve: net benefit by threshold probability, test split",
                      x_label="threshold probability", y_label="net benefit")


def round_plot_files(directory: str | Path) -> None:
    """Round every number in the plot data under `directory` to DIGITS decimals, as the metrics
    are: dvclive writes raw floats (ROC thresholds are model outputs), whose last bits differ
    between CPUs (numpy and BLAS pick kernels by CPU), and these files are committed."""
    for path in sorted(Path(directory).rglob("*.json")):
        write_text(path, json.dumps(_rounded_numbers(read_json(path)), indent=4) + "\n")


def _rounded_numbers(value):
    if isinstance(value, float):
        return round(value, DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0: a tiny negative rounds to it
    if isinstance(value, list):
        return [_rounded_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _rounded_numbers(item) for key, item in value.items()}
    return value
