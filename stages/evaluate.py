"""Evaluate: held-out test metrics, k-fold cross-validation, a baseline, and where the model errs.

- The decision threshold is chosen on out-of-fold predictions of the training split (never
  on the test split), by `evaluate.threshold`; accuracy, F1 and the confusion matrix use it.
- Cross-validation clones the whole pipeline, so every fold refits its preprocessing.
- Permutation importance shuffles each raw input column of the test split.
- Global explanations: the mean absolute SHAP contribution per raw column on a seeded sample of
  `evaluate.explain_rows` test rows, against the bundle's background (explanations.json).
- Metrics per value of `data.segment_column` show gaps between groups.
- Per protected column of the contract, fairlearn's figures per group (with bootstrap intervals;
  "too few rows" below fairness.min_group_rows) and the gaps, which gates can bound; for a
  mitigated model (train.fairness), the same beside the unmitigated fit.
- Multiclass (no data.positive_class) has no threshold: each row's class is its most probable one.
- With `evaluate.nested_cv`, the model choice (leaderboard or search) is redone inside each CV
  fold: `nested_cv.*` is free of the selection bias that `cv.*` carries when a choice was made.
"""
from __future__ import annotations

import joblib

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table
from tabular_mlops.engine.cluster import folds_on_cluster
from tabular_mlops.errors import run_stage
from tabular_mlops.evaluation.report import evaluate_model, evaluation_metrics, write_live, write_metrics
from tabular_mlops.files import write_json, write_json_folder
from tabular_mlops.reporting.headline import EVALUATION, evaluation_rows

MODEL = "models/model.joblib"
TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
LIVE_DIR = "metrics/evaluate"
PLOTS_DECLARED = "metrics/evaluate/dvc.yaml"  # written by dvclive, committed with the metrics
METRICS = "metrics/evaluate/metrics.json"
IMPORTANCE = "metrics/evaluate/importance.json"
SEGMENTS = "metrics/evaluate/segments.json"
NESTED = "metrics/evaluate/nested_cv.json"
FAIRNESS = "metrics/evaluate/fairness.json"
MITIGATION = "metrics/evaluate/mitigation.json"
EXPLANATIONS = "metrics/evaluate/explanations.json"


def main() -> None:
    # data.segment_column is checked against the contract by validate, which reruns when data.* changes.
    params = load_params()
    test = split_inputs_target(read_table(TEST), params.data)
    with folds_on_cluster(params.engine):
        evaluation = evaluate_model(params, read_contract(params.data.contract), joblib.load(MODEL),
                                    split_inputs_target(read_table(TRAIN), params.data), test)
    write_live(LIVE_DIR, PLOTS_DECLARED, params, evaluation, test[1])
    metrics = evaluation_metrics(params, evaluation)
    write_metrics(METRICS, metrics)
    # What `dvc metrics show` lists: one file per figure (reporting/headline.py)
    write_json_folder(EVALUATION, evaluation_rows(metrics))
    write_json(IMPORTANCE, evaluation.importance)
    write_json(NESTED, evaluation.nested_selections)
    write_json(SEGMENTS, evaluation.segments)
    write_json(FAIRNESS, evaluation.fairness)
    write_json(MITIGATION, evaluation.mitigation)
    write_json(EXPLANATIONS, evaluation.explanations)


if __name__ == "__main__":
    run_stage(main)
