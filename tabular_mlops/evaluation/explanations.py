"""Global explanations: the mean absolute SHAP contribution per raw input column on test rows.

The explainer starts from the bundle's background (the same seeded sample of training rows,
explanations/background.py), so these are the contributions the service and `score --explain`
give, averaged over a seeded sample of `evaluate.explain_rows` test rows.
"""
from __future__ import annotations

import pandas as pd

from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import Contract
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
