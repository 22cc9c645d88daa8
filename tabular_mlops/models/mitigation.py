"""train.fairness.mitigation: the trained family refitted by fairlearn under a group constraint.

The mitigated model (fairness.mitigation.MitigatedClassifier) carries the unmitigated fit it
replaces (`unmitigated_`), so evaluate reports the two side by side.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import Contract
from tabular_mlops.errors import StageError


def is_mitigated(model) -> bool:
    return hasattr(model, "unmitigated_")


def pipeline_of(model) -> Pipeline:
    """The preprocess + estimator Pipeline: the model itself, or a mitigated model's unmitigated
    fit (the same preprocessing, fitted on the same rows)."""
    return model.unmitigated_ if is_mitigated(model) else model


def mitigation_column(params: Params, contract: Contract) -> str:
    """train.fairness.column, or the contract's first protected column."""
    column = params.train.fairness.column
    protected = contract.protected
    if column is None and not protected:
        raise StageError(f"params.yaml: train.fairness.mitigation is '{params.train.fairness.mitigation}', but {params.data.contract}"
                         " marks no column protected; mark one (protected: true) or set the mitigation to none")
    if column is not None and column not in protected:
        raise StageError(f"params.yaml: train.fairness.column '{column}' is not a protected column of {params.data.contract}"
                         f" (protected: {', '.join(protected) or 'none'})")
    if params.data.problem != "classification":
        raise StageError(f"params.yaml: train.fairness.mitigation needs binary classification; data is {params.data.problem}")
    return column or protected[0]


def mitigation_inputs(contract: Contract, params: Params, column: str) -> list[str]:
    """The columns the mitigated model reads: the model's inputs and the protected column. The
    same columns in training and in serving, so each row's randomised decision is the same."""
    inputs = list(contract.features(params.data.drop_columns))
    return inputs if column in inputs else [*inputs, column]


def mitigated_model(params: Params, contract: Contract, unmitigated: Pipeline, inputs: pd.DataFrame, target: pd.Series):
    """Refit `unmitigated`'s family (its fitted pipeline, cloned unfitted) under the constraint."""
    from tabular_mlops.fairness.mitigation import MitigatedClassifier

    spec = params.train.fairness
    column = mitigation_column(params, contract)
    model = MitigatedClassifier(clone(unmitigated), method=spec.mitigation, constraint=spec.constraint, column=column,
                                bands=contract.columns[column].bands, seed=params.seed)
    model.fit(inputs[mitigation_inputs(contract, params, column)], target)
    model.unmitigated_ = unmitigated
    return model


def decisions(model, inputs: pd.DataFrame, probability: np.ndarray, threshold: float) -> np.ndarray:
    """0/1 decisions: a plain model's at the threshold; a mitigated model's own, randomised per row."""
    if is_mitigated(model):
        read = [name for name in (*model.hashed_columns_, model.column) if name in inputs.columns]
        return np.asarray(model.predict(inputs[read])).astype(int)
    return (np.asarray(probability) >= threshold).astype(int)


def model_columns(model, inputs: list[str]) -> list[str]:
    """The raw columns `model` reads: a mitigated model's from its fit (the protected column only
    when it predicts by group), else `inputs` (the contract's model inputs)."""
    if not is_mitigated(model):
        return inputs
    return [*model.hashed_columns_, *([model.column] if model.requires_column or model.column in inputs else [])]


def describe_mitigation(model) -> dict:
    """model.json's record of the mitigation: what the service must ask for and may refuse."""
    if not is_mitigated(model):
        return {"method": "none"}
    return {"method": model.method, "constraint": model.constraint, "column": model.column, "bands": model.bands,
            "requires_column": model.requires_column, "groups_seen": list(model.groups_seen_),
            "groups_left_out": list(getattr(model, "groups_left_out_", []))}  # one class only: no threshold to choose
