"""Fairness: the model's figures per group of the test split, at evaluate's threshold.

- Per protected column of the contract, fairlearn's figures per group (with bootstrap intervals;
  "too few rows" below fairness.min_group_rows) and the gaps, which gates can bound
  (metrics.json: {"fairness": {column: {gap: value}}}).
- For a mitigated model (train.fairness), the same beside the unmitigated fit (mitigation.json).
- Metrics per value of `data.segment_column` (segments.json).
"""
from __future__ import annotations

import joblib

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table
from tabular_mlops.engine.cluster import folds_on_cluster
from tabular_mlops.errors import run_stage
from tabular_mlops.evaluation.fairness import evaluate_fairness
from tabular_mlops.files import read_json, write_json

MODEL = "models/model.joblib"
TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
EVALUATION = "metrics/evaluate/metrics.json"  # the threshold
METRICS = "metrics/fairness/metrics.json"
GROUPS = "metrics/fairness/groups.json"
MITIGATION = "metrics/fairness/mitigation.json"
SEGMENTS = "metrics/fairness/segments.json"


def main() -> None:
    # data.segment_column is checked against the contract by validate, which reruns when data.* changes.
    params = load_params()
    threshold = read_json(EVALUATION).get("threshold", 0.5)  # only binary classification has one
    with folds_on_cluster(params.engine):  # the mitigated model's unmitigated fit is cross-validated
        evaluation = evaluate_fairness(params, read_contract(params.data.contract), joblib.load(MODEL),
                                       split_inputs_target(read_table(TRAIN), params.data),
                                       split_inputs_target(read_table(TEST), params.data), threshold)
    write_json(METRICS, evaluation.sections)
    write_json(GROUPS, evaluation.reports)
    write_json(MITIGATION, evaluation.mitigation)
    write_json(SEGMENTS, evaluation.segments)


if __name__ == "__main__":
    run_stage(main)
