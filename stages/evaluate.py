"""Evaluate: held-out test metrics, k-fold cross-validation and a baseline.

- The decision threshold is chosen on out-of-fold predictions of the training split (never
  on the test split), by `evaluate.threshold`; accuracy, F1 and the confusion matrix use it.
- Cross-validation clones the whole pipeline, so every fold refits its preprocessing.
- Multiclass (no data.positive_class) has no threshold: each row's class is its most probable one.
- The task's plots (ROC, precision-recall, calibration, confusion matrix; or the regression's).
- With train.monotonic: each constrained column swept on a sample of test rows, counting the
  steps where the prediction moves against its direction (the `monotonic` section).

What the model uses (explain), its figures per group (fairness) and nested CV are stages of
their own; the gate stage reads all four.
"""
from __future__ import annotations

import joblib

from tabular_mlops.config.params import load_params
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table
from tabular_mlops.engine.cluster import folds_on_cluster
from tabular_mlops.errors import run_stage
from tabular_mlops.evaluation.report import evaluate_model, evaluation_metrics, write_live, write_metrics

MODEL = "models/model.joblib"
TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
LIVE_DIR = "metrics/evaluate"
PLOTS_DECLARED = "metrics/evaluate/dvc.yaml"  # written by dvclive, committed with the metrics
METRICS = "metrics/evaluate/metrics.json"


def main() -> None:
    params = load_params()
    test = split_inputs_target(read_table(TEST), params.data)
    with folds_on_cluster(params.engine):
        evaluation = evaluate_model(params, joblib.load(MODEL), split_inputs_target(read_table(TRAIN), params.data), test)
    write_live(LIVE_DIR, PLOTS_DECLARED, params, evaluation, test[1])
    write_metrics(METRICS, evaluation_metrics(params, evaluation))


if __name__ == "__main__":
    run_stage(main)
