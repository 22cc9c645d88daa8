"""The whole evaluation of a fitted model, and writing it.

`evaluate_model` is a function of the model, the two splits and params; `evaluation_metrics` is
its figures as metrics/evaluate/metrics.json holds them; `write_live` writes the task's plots
through dvclive, then rounds the plot data like the metrics.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from dvclive import Live
from sklearn.base import BaseEstimator

from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import Contract
from tabular_mlops.evaluation.diagnostics import choose_threshold, importance, log_plots, round_plot_files, segments
from tabular_mlops.evaluation.explanations import global_explanations
from tabular_mlops.evaluation.fairness import fairness_reports, gap_metrics, mitigation_comparison
from tabular_mlops.evaluation.nested import nested_cv_report
from tabular_mlops.files import write_text
from tabular_mlops.models.budget import screening_sample
from tabular_mlops.models.mitigation import decisions, model_columns
from tabular_mlops.models.scoring import cross_validated_predictions, holdout_sections, predict, rounded
from tabular_mlops.progress import Progress


class _PipelineLive(Live):
    """dvclive's Live without its look at the DVC repository.

    Live opens the repository (Live._init_dvc) to warn about a stage that outputs its dvc.yaml
    and to find an experiment to save into. Evaluate has neither: save_dvc_exp is off and its
    dvc.yaml is committed to git. The look costs about 0.9 s a run, a quarter of a small evaluate.
    What is left is what dvclive does outside a Git repository: name the dvc.yaml it writes.
    dvclive is pinned; tests/test_evaluate.py checks that the files are those Live writes.
    """

    def _init_dvc(self) -> None:
        self._dvc_file = self._init_dvc_file()


@dataclass(frozen=True)
class Evaluation:
    sections: dict[str, dict]  # test, cv, nested_cv (when on), baseline, over_baseline, fairness ({column: {gap: value}})
    threshold: float  # chosen on out-of-fold training predictions (binary); 0.5 and unused otherwise
    prediction: np.ndarray | pd.DataFrame  # on the test split
    importance: list[dict]
    segments: dict
    nested_selections: dict  # what each outer fold chose, or {"enabled": False}
    fairness: dict  # protected column -> groups and gaps (evaluation.fairness)
    mitigation: dict  # the mitigated model beside the unmitigated one, or {"mitigation": "none"}
    explanations: dict  # mean |SHAP contribution| per column (evaluation.explanations), or {"skipped": why}


def evaluate_model(params: Params, contract: Contract, model: BaseEstimator,
                   train: tuple[pd.DataFrame, pd.Series], test: tuple[pd.DataFrame, pd.Series]) -> Evaluation:
    task, seed, spec = params.data.problem, params.seed, params.evaluate
    (train_inputs, train_target), (test_inputs, test_target) = train, test
    prediction = predict(task, model, test_inputs)
    progress = Progress("evaluate: cross-validation", spec.cv_folds)
    # Above leaderboard.sample_rows training rows, on the leaderboard's own sample (the model card says so).
    cv_inputs, cv_target, _ = screening_sample(train_inputs, train_target, task != "regression", params.leaderboard.sample_rows,
                                               seed, spec.cv_folds)
    cv, out_of_fold = cross_validated_predictions(task, model, cv_inputs, cv_target, spec.cv_folds, seed, spec.n_jobs,
                                                  on_fold=lambda number: progress.step(f"fold {number}/{spec.cv_folds} done"))
    threshold = choose_threshold(cv_target, out_of_fold, spec.threshold) if task == "classification" else 0.5
    held_out = holdout_sections(task, train_target, test_target, prediction, threshold)
    nested, selections = nested_cv_report(params, contract, train_inputs, train_target) if spec.nested_cv else ({}, {"enabled": False})
    sections = {"test": held_out["test"], "cv": cv, **({"nested_cv": nested} if nested else {}),
                "baseline": held_out["baseline"], "over_baseline": held_out["over_baseline"]}
    column = params.data.segment_column
    by_segment = segments(task, test_inputs[column], test_target, prediction, threshold, params.fairness.min_group_rows) if column else []
    # Above evaluate.importance_rows test rows, on a seeded sample of them (stratified for classification).
    importance_inputs, importance_target, _ = screening_sample(test_inputs, test_target, task != "regression", spec.importance_rows,
                                                               seed, min_class_rows=0)
    # Only the model's inputs: a protected column kept for the fairness report is not one.
    model_inputs = model_columns(model, list(contract.features(params.data.drop_columns)))
    ranked = importance(task, model, importance_inputs[model_inputs], importance_target, spec.importance_repeats, seed, spec.n_jobs)
    decided = decisions(model, test_inputs, prediction, threshold) if task == "classification" else None
    reports = fairness_reports(params, contract, test_inputs, test_target, prediction, decided)
    if reports:
        sections["fairness"] = gap_metrics(task, reports)
    compared = mitigation_comparison(params, contract, model, test_inputs, test_target, (cv_inputs, cv_target))
    explained = global_explanations(params, contract, model, train_inputs, test_inputs, test_target)
    return Evaluation(sections, threshold, prediction, ranked, {"column": column, "segments": by_segment}, selections, reports, compared,
                      explained)


def evaluation_metrics(params: Params, evaluation: Evaluation) -> dict:
    """Every section's figures rounded (fairness gaps already are), and the threshold (binary)."""
    metrics = {section: figures if section == "fairness" else rounded(figures) for section, figures in evaluation.sections.items()}
    return {**metrics, "threshold": evaluation.threshold} if params.data.problem == "classification" else metrics


def write_metrics(path: str | Path, metrics: dict) -> None:
    """In the layout dvclive gave metrics.json (indent 4, sections in their order), so its bytes stay the same."""
    write_text(path, json.dumps(metrics, indent=4) + "\n")


def write_live(directory: str | Path, plots_declared: str | Path, params: Params, evaluation: Evaluation, test_target: pd.Series) -> None:
    """The plots through dvclive. dvclive also writes `plots_declared` (a dvc.yaml naming only this
    task's plots; DVC reads every dvc.yaml in the repository), so neither task shows an empty plot
    or a "failed to load" warning. No metric goes through dvclive: its dvc.yaml would declare
    metrics.json a DVC metric, and `dvc metrics show` lists the headline figures only
    (reporting/headline.py); dvclive's own metrics.json (empty) is written over by write_metrics."""
    with _PipelineLive(str(directory), dvcyaml=str(plots_declared), save_dvc_exp=False, report=None) as live:
        log_plots(live, params, test_target, evaluation.prediction, evaluation.threshold)
        live.log_plot("importance", pd.DataFrame(evaluation.importance), x="importance", y="column",
                      template="bar_horizontal_sorted", title="Permutation importance, test split")
        if "columns" in evaluation.explanations:
            space = evaluation.explanations["output_space"]
            live.log_plot("explanations", pd.DataFrame(evaluation.explanations["columns"]), x="mean_abs_contribution", y="column",
                          template="bar_horizontal_sorted", title=f"Mean |SHAP contribution| ({space}), test sample")
    round_plot_files(Path(directory) / "plots")
