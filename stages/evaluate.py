"""Evaluate: held-out test metrics, k-fold cross-validation, a baseline, and where the model errs.

- The decision threshold is chosen on out-of-fold predictions of the training split (never
  on the test split), by `evaluate.threshold`; accuracy, F1 and the confusion matrix use it.
- Cross-validation clones the whole pipeline, so every fold refits its preprocessing.
- Permutation importance shuffles each raw input column of the test split.
- Metrics per value of `data.segment_column` show gaps between groups.
- Multiclass (no data.positive_class) has no threshold: each row's class is its most probable one.
- With `evaluate.nested_cv`, the model choice (leaderboard or search) is redone inside each CV
  fold: `nested_cv.*` is free of the selection bias that `cv.*` carries when a choice was made.
"""
from __future__ import annotations

import joblib
import pandas as pd
from dvclive import Live

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table
from tabular_mlops.errors import StageError, run_stage
from tabular_mlops.evaluation.diagnostics import choose_threshold, importance, log_plots, round_plot_files, segments
from tabular_mlops.evaluation.nested import nested_cv_report
from tabular_mlops.evaluation.scoring import baseline, cross_validated_predictions, improvement, predict, rounded, score
from tabular_mlops.files import write_json

MODEL = "models/model.joblib"
TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
LIVE_DIR = "metrics/evaluate"
IMPORTANCE = "metrics/evaluate/importance.json"
SEGMENTS = "metrics/evaluate/segments.json"
NESTED = "metrics/evaluate/nested_cv.json"
PLOTS_DECLARED = "metrics/evaluate/dvc.yaml"  # committed with the metrics


def main() -> None:
    params = load_params()
    task, seed = params.data.problem, params.seed
    model = joblib.load(MODEL)
    train_inputs, train_target = split_inputs_target(read_table(TRAIN), params.data)
    test_inputs, test_target = split_inputs_target(read_table(TEST), params.data)
    column = params.data.segment_column
    if column is not None and column not in test_inputs.columns:
        raise StageError(f"params.yaml: data.segment_column '{column}' is not an input column; choose one of {', '.join(test_inputs.columns)} or null")
    prediction = predict(task, model, test_inputs)
    cv, out_of_fold = cross_validated_predictions(task, model, train_inputs, train_target, params.evaluate.cv_folds, seed, params.evaluate.n_jobs)
    threshold = choose_threshold(train_target, out_of_fold, params.evaluate.threshold) if task == "classification" else 0.5
    test = score(task, test_target, prediction, threshold)
    reference = baseline(task, train_target, test_target, threshold)
    nested, selections = ({}, {"enabled": False})
    if params.evaluate.nested_cv:
        nested, selections = nested_cv_report(params, read_contract(params.data.contract), train_inputs, train_target)
    sections = {
        "test": test,
        "cv": cv,
        **({"nested_cv": nested} if nested else {}),
        "baseline": reference,
        "over_baseline": improvement(test, reference),
    }
    # dvclive writes metrics/evaluate/dvc.yaml declaring this task's plots only (DVC reads every
    # dvc.yaml in the repository), so neither task shows an empty plot or a "failed to load" warning.
    with Live(LIVE_DIR, dvcyaml=PLOTS_DECLARED, save_dvc_exp=False, report=None) as live:
        for section, metrics in sections.items():
            for name, value in rounded(metrics).items():
                live.log_metric(f"{section}/{name}", value, plot=False)
        if task == "classification":
            live.log_metric("threshold", threshold, plot=False)
        log_plots(live, params, test_target, prediction, threshold)
        ranked = importance(task, model, test_inputs, test_target, params.evaluate.importance_repeats, seed, params.evaluate.n_jobs)
        live.log_plot("importance", pd.DataFrame(ranked), x="importance", y="column",
                      template="bar_horizontal_sorted", title="Permutation importance, test split")
    round_plot_files(f"{LIVE_DIR}/plots")
    write_json(IMPORTANCE, ranked)
    write_json(NESTED, selections)
    write_json(SEGMENTS, {"column": column, "segments": segments(task, test_inputs[column], test_target, prediction, threshold) if column else []})


if __name__ == "__main__":
    run_stage(main)
