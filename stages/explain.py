"""Explain: what the model uses, on the test split.

- Permutation importance shuffles each raw input column of a seeded sample of
  `evaluate.importance_rows` test rows, `evaluate.importance_repeats` times.
- Global explanations: the mean absolute SHAP contribution per raw column on a seeded sample of
  `evaluate.explain_rows` test rows, against the bundle's background (explanations.json);
  skipped for a multiclass or a fairness-mitigated model.
"""
from __future__ import annotations

import joblib

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table
from tabular_mlops.errors import run_stage
from tabular_mlops.evaluation.explanations import explain_model, write_explanation_plots
from tabular_mlops.files import write_json

MODEL = "models/model.joblib"
TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
LIVE_DIR = "metrics/explain"
PLOTS_DECLARED = "metrics/explain/dvc.yaml"  # written by dvclive, committed with the figures
IMPORTANCE = "metrics/explain/importance.json"
EXPLANATIONS = "metrics/explain/explanations.json"


def main() -> None:
    params = load_params()
    train_inputs, _ = split_inputs_target(read_table(TRAIN), params.data)
    ranked, explanations = explain_model(params, read_contract(params.data.contract), joblib.load(MODEL), train_inputs,
                                         split_inputs_target(read_table(TEST), params.data))
    write_explanation_plots(LIVE_DIR, PLOTS_DECLARED, ranked, explanations)
    write_json(IMPORTANCE, ranked)
    write_json(EXPLANATIONS, explanations)


if __name__ == "__main__":
    run_stage(main)
