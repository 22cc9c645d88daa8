"""Hyperparameter search: every candidate is cross-validated as a whole pipeline.

Candidates come from scikit-learn's ParameterGrid or ParameterSampler (seeded) over the
`train.search.space` of the named family; each candidate's estimator is built by the same
builder as a plain run, so a wrapped family (the calibrated linear SVM) needs no special names.
Parallel fits (`n_jobs`) go through joblib inside cross_validate and never change a result.
"""
from __future__ import annotations

from typing import Callable

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.model_selection import ParameterGrid, ParameterSampler

from tabular_mlops.evaluation.metrics import LOWER_IS_BETTER, PRIMARY_METRIC
from tabular_mlops.evaluation.scoring import cross_validation, rounded
from tabular_mlops.config.section import Section
from tabular_mlops.config.train_params import SearchParams


def candidates(spec: SearchParams, family: str, seed: int) -> list[dict]:
    space = spec.space.get(family, {})
    if spec.method == "grid":
        return list(ParameterGrid(space))
    grid_size = len(ParameterGrid(space))
    # Without replacement: never more draws than the grid holds.
    return list(ParameterSampler(space, n_iter=min(spec.n_iter, grid_size), random_state=seed))


def search(task: str, spec: SearchParams, family_spec: Section, family: str,
           make_pipeline: Callable[[Section], BaseEstimator], inputs: pd.DataFrame, target: pd.Series,
           seed: int) -> tuple[Section, list[dict]]:
    """Return the best family params and the table of every candidate, best first."""
    metric = PRIMARY_METRIC[task]
    rows = []
    for number, candidate in enumerate(candidates(spec, family, seed)):
        params = family_spec.model_copy(update=candidate)
        cv = cross_validation(task, make_pipeline(params), inputs, target, spec.cv_folds, seed, spec.n_jobs)
        rows.append({"candidate": number, "params": candidate, **rounded({"mean": cv[f"{metric}_mean"], "std": cv[f"{metric}_std"]})})
    sign = 1 if metric in LOWER_IS_BETTER else -1
    rows.sort(key=lambda row: (sign * row["mean"], row["candidate"]))
    for place, row in enumerate(rows, start=1):
        row["rank"] = place
    return family_spec.model_copy(update=rows[0]["params"]), rows
