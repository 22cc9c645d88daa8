"""The explain stage: what the model uses, on the test split.

- Permutation importance: the drop in the primary metric when one raw input column of a seeded
  sample of `evaluate.importance_rows` test rows is shuffled, `evaluate.importance_repeats` times.
- Global explanations: the mean absolute SHAP contribution per raw input column. The explainer
  starts from the bundle's background (the same seeded sample of training rows,
  explanations/background.py), so these are the contributions the service and `score --explain`
  give, averaged over a seeded sample of `evaluate.explain_rows` test rows.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import Contract
from tabular_mlops.evaluation.diagnostics import importance
from tabular_mlops.evaluation.live import write_plots
from tabular_mlops.explanations.background import background_rows
from tabular_mlops.explanations.contributions import explain
from tabular_mlops.explanations.explainers import build_explainer
from tabular_mlops.explanations.reasons import global_importance
from tabular_mlops.models.budget import screening_sample
from tabular_mlops.models.mitigation import is_mitigated, model_columns


def global_explanations(params: Params, contract: Contract, model, train_inputs: pd.DataFrame,
                        test_inputs: pd.DataFrame, test_target: pd.Series) -> dict:
    """{output_space, rows, columns: [{column, mean_abs_contribution}]} (6 decimals, largest first),
    or {"skipped": why} for a multiclass or a fairness-mitigated model."""
    task, seed = params.data.problem, params.seed
    if task == "multiclass":
        return {"skipped": "multiclass"}
    if is_mitigated(model):  # its decisions are fairlearn's randomised mixture: the README's "Explanations"
        return {"skipped": "mitigated"}
    inputs = model_columns(model, list(contract.features(params.data.drop_columns)))
    background = background_rows(train_inputs, inputs, seed, personal=contract.personal)
    rows, _, _ = screening_sample(test_inputs, test_target, task != "regression", params.evaluate.explain_rows, seed, min_class_rows=0)
    explanation = explain(build_explainer(model, background, task, seed), rows[inputs])
    return {"output_space": explanation.output_space, "rows": len(rows), "columns": global_importance(explanation)}


def explain_model(params: Params, contract: Contract, model, train_inputs: pd.DataFrame,
                  test: tuple[pd.DataFrame, pd.Series]) -> tuple[list[dict], dict]:
    """Permutation importance (largest first) and the global explanations."""
    task, seed, spec = params.data.problem, params.seed, params.evaluate
    test_inputs, test_target = test
    # Above evaluate.importance_rows test rows, on a seeded sample of them (stratified for classification).
    importance_inputs, importance_target, _ = screening_sample(test_inputs, test_target, task != "regression", spec.importance_rows,
                                                               seed, min_class_rows=0)
    # Only the model's inputs: a protected column kept for the fairness report is not one.
    model_inputs = model_columns(model, list(contract.features(params.data.drop_columns)))
    ranked = importance(task, model, importance_inputs[model_inputs], importance_target, spec.importance_repeats, seed, spec.n_jobs)
    return ranked, global_explanations(params, contract, model, train_inputs, test_inputs, test_target)


def write_explanation_plots(directory: str | Path, plots_declared: str | Path, ranked: list[dict], explanations: dict) -> None:
    """The importance plot, and the explanations' when there are any, through dvclive."""
    def log(live) -> None:
        live.log_plot("importance", pd.DataFrame(ranked), x="importance", y="column",
                      template="bar_horizontal_sorted", title="Permutation importance, test split")
        if "columns" in explanations:
            space = explanations["output_space"]
            live.log_plot("explanations", pd.DataFrame(explanations["columns"]), x="mean_abs_contribution", y="column",
                          template="bar_horizontal_sorted", title=f"Mean |SHAP contribution| ({space}), test sample")

    write_plots(directory, plots_declared, log)
