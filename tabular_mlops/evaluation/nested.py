"""Nested cross-validation: an estimate of the whole selection procedure, free of selection bias.

With `train.model: auto` the leaderboard keeps the best of several families, scored on the same
folds that then report the winner's CV; a search does the same among candidates. That score is
the best of several noisy estimates, so it is optimistic. Nested CV repeats the selection, exactly
as the pipeline makes it, inside each outer training part and scores what it picked on the outer
test part, which took no part in the choice (scikit-learn's example "Nested versus non-nested
cross-validation" does this for a grid search).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import get_scorer

from tabular_mlops.config.params import LeaderboardParams, Params
from tabular_mlops.data.contract import Contract
from tabular_mlops.errors import StageError
from tabular_mlops.families.registry import honours_monotonic
from tabular_mlops.metrics import CV_METRICS_BY_TASK, LOWER_IS_BETTER, PRIMARY_METRIC
from tabular_mlops.models.budget import over_limit, screening_sample
from tabular_mlops.models.pipeline import family_pipeline
from tabular_mlops.models.scoring import DIGITS, cross_validation, folds, rounded, scorer
from tabular_mlops.models.search import search

# (training inputs, training target) -> (the unfitted pipeline chosen on them, a record of the choice)
Selection = Callable[[pd.DataFrame, pd.Series], tuple[BaseEstimator, dict]]
NO_SELECTION = ("train.model names one family and train.search is off: nothing is chosen, "
                "so nested CV equals plain CV (cv.*)")


def best_family(task: str, pipelines: dict[str, BaseEstimator], inputs: pd.DataFrame, target: pd.Series,
                cv_folds: int, seed: int, n_jobs: int = 1) -> tuple[str, dict[str, float]]:
    """The family with the best CV mean of the primary metric, and every family's score.

    As the leaderboard picks it: a tie keeps the order given; a family whose CV failed (NaN) is skipped.
    """
    metric = PRIMARY_METRIC[task]
    scores = {family: _cv_mean(task, pipeline, inputs, target, cv_folds, seed, n_jobs, metric) for family, pipeline in pipelines.items()}
    usable = [family for family, value in scores.items() if not math.isnan(value)]
    if not usable:
        raise StageError(f"nested CV: every family ({', '.join(pipelines)}) failed to cross-validate on an outer training part")
    sign = 1 if metric in LOWER_IS_BETTER else -1
    return min(usable, key=lambda family: sign * scores[family]), scores


def _cv_mean(task: str, pipeline: BaseEstimator, inputs: pd.DataFrame, target: pd.Series,
             cv_folds: int, seed: int, n_jobs: int, metric: str) -> float:
    """The CV mean, or NaN when the CV failed: the leaderboard records such a family as failed too."""
    try:
        return cross_validation(task, pipeline, inputs, target, cv_folds, seed, n_jobs)[f"{metric}_mean"]
    except Exception:  # noqa: BLE001 - as the leaderboard's assess_family: a failure is a result, not a crash
        return math.nan


def leaderboard_selection(task: str, pipelines: dict[str, BaseEstimator], cv_folds: int, seed: int, n_jobs: int = 1,
                          budget: LeaderboardParams | None = None) -> Selection:
    """The leaderboard's choice; with `budget`, on its screening sample and without the families over their row limit."""
    def select(inputs: pd.DataFrame, target: pd.Series) -> tuple[BaseEstimator, dict]:
        screened_inputs, screened_target = inputs, target
        usable = pipelines
        if budget is not None:
            screened_inputs, screened_target, _ = screening_sample(inputs, target, task != "regression", budget.sample_rows, seed, cv_folds)
            usable = {name: pipeline for name, pipeline in pipelines.items()
                      if over_limit(name, len(screened_target), budget.max_rows_per_family) is None}
            if not usable:
                raise StageError(f"nested CV: every family ({', '.join(pipelines)}) is over its leaderboard.max_rows_per_family limit")
        family, scores = best_family(task, usable, screened_inputs, screened_target, cv_folds, seed, n_jobs)
        # A failed family's NaN would make the JSON invalid: it is written as null.
        inner = {name: None if math.isnan(value) else value for name, value in scores.items()}
        return pipelines[family], {"selected": family, "inner_cv": {name: value if value is None else round(value, DIGITS) for name, value in inner.items()}}
    return select


def search_selection(task: str, params: Params, family: str, make_pipeline: Callable) -> Selection:
    def select(inputs: pd.DataFrame, target: pd.Series) -> tuple[BaseEstimator, dict]:
        best, rows = search(task, params.train.search, params.train.family_params(family), family, make_pipeline, inputs, target, params.seed)
        return make_pipeline(best), {"selected": rows[0]["params"], "inner_cv": [{"params": row["params"], "mean": row["mean"]} for row in rows]}
    return select


def fixed_selection(pipeline: BaseEstimator) -> Selection:
    return lambda inputs, target: (pipeline, {"selected": None})


def nested_cross_validation(task: str, select: Selection, inputs: pd.DataFrame, target: pd.Series,
                            count: int, seed: int) -> tuple[dict[str, float], list[dict]]:
    """Mean and std over the outer folds (as `cross_validation` reports them) and one record per fold.

    The outer folds are `scoring.folds(task, count, seed)`: the same as evaluate's plain CV.
    """
    names = {name: scorer(task, name) for name in CV_METRICS_BY_TASK[task]}
    scorers = {name: get_scorer(scoring) for name, scoring in names.items()}
    per_fold: dict[str, list[float]] = {name: [] for name in scorers}
    records = []
    for number, (train_rows, test_rows) in enumerate(folds(task, count, seed).split(inputs, target)):
        train_inputs, train_target = inputs.iloc[train_rows], target.iloc[train_rows]
        pipeline, record = select(train_inputs, train_target)
        fitted = clone(pipeline).fit(train_inputs, train_target)
        scores = {}
        for name, score_of in scorers.items():
            value = score_of(fitted, inputs.iloc[test_rows], target.iloc[test_rows])
            scores[name] = -value if names[name].startswith("neg_") else value
            per_fold[name].append(scores[name])
        records.append({"fold": number, "train_rows": len(train_rows), "test_rows": len(test_rows), **record, "test": rounded(scores)})
    summary = {}
    for name, values in per_fold.items():
        summary[f"{name}_mean"], summary[f"{name}_std"] = float(np.mean(values)), float(np.std(values))
    return summary, records


def selection_for(params: Params, contract: Contract, n_jobs: int = 1) -> tuple[str, Selection]:
    """The pipeline's own selection procedure: the leaderboard (auto), the search, or none."""
    task, seed = params.data.problem, params.seed  # the problem scores; data.task builds estimators
    if params.train.model == "auto":
        # task_families: leaderboard.families lists both tasks' families; the others cannot be built.
        # As train.model: auto, a constrained run chooses among the families that honour train.monotonic only.
        families = [family for family in params.task_families if not params.train.monotonic or honours_monotonic(family)]
        pipelines = {family: family_pipeline(params, contract, family) for family in families}
        return "leaderboard", leaderboard_selection(task, pipelines, params.leaderboard.cv_folds, seed, n_jobs, params.leaderboard)
    family = params.train.model
    if params.train.search.method == "none":
        return "none", fixed_selection(family_pipeline(params, contract, family))

    def make_pipeline(spec):
        return family_pipeline(params, contract, family, spec)

    return "search", search_selection(task, params, family, make_pipeline)


def nested_cv_report(params: Params, contract: Contract, inputs: pd.DataFrame, target: pd.Series) -> tuple[dict[str, float], dict]:
    """The `nested_cv` metrics and the record of what each outer fold selected (metrics/nested_cv/folds.json)."""
    procedure, select = selection_for(params, contract, params.evaluate.n_jobs)
    summary, records = nested_cross_validation(params.data.problem, select, inputs, target, params.evaluate.cv_folds, params.seed)
    inner = {"leaderboard": params.leaderboard.cv_folds, "search": params.train.search.cv_folds, "none": None}[procedure]
    report = {"enabled": True, "selection": procedure, "metric": PRIMARY_METRIC[params.data.problem],
              "outer_folds": params.evaluate.cv_folds, "inner_folds": inner, "folds": records}
    if procedure == "none":
        report["note"] = NO_SELECTION
    return summary, report
