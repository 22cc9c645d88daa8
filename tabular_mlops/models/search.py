"""Hyperparameter search: every candidate is cross-validated as a whole pipeline.

Candidates come from scikit-learn's ParameterGrid or ParameterSampler (seeded) over the
`train.search.space` of the named family (when params.yaml gives none, the family's own default,
tabular_mlops/families/); each candidate's estimator is built by the same
builder as a plain run, so a wrapped family (the calibrated linear SVM) needs no special names.
`halving` races the random candidates by successive halving (scikit-learn's
HalvingRandomSearchCV): all of them on a third of the rows, the best third on three times as
many, and so on, the last round on every row.
Parallel fits (`n_jobs`) go through joblib inside cross_validate and never change a result.
"""
from __future__ import annotations

from typing import Callable

import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.experimental import enable_halving_search_cv  # noqa: F401 - makes HalvingRandomSearchCV importable
from sklearn.model_selection import HalvingRandomSearchCV, ParameterGrid, ParameterSampler

from tabular_mlops.config.train_params import SearchParams
from tabular_mlops.engine.cluster import fold_jobs
from tabular_mlops.families.registry import BY_NAME
from tabular_mlops.metrics import LOWER_IS_BETTER, PRIMARY_METRIC
from tabular_mlops.models.scoring import cross_validation, folds, rounded, scorer
from tabular_mlops.params_section import Section

HALVING_FACTOR = 3  # scikit-learn's default: a third of the candidates go on, on three times the rows


def candidates(spec: SearchParams, family: str, seed: int) -> list[dict]:
    space = spec.space.get(family, BY_NAME[family].search_space)
    if spec.method == "grid":
        return list(ParameterGrid(space))
    grid_size = len(ParameterGrid(space))
    # Without replacement: never more draws than the grid holds.
    return list(ParameterSampler(space, n_iter=min(spec.n_iter, grid_size), random_state=seed))


def search(task: str, spec: SearchParams, family_spec: Section, family: str,
           make_pipeline: Callable[[Section], BaseEstimator], inputs: pd.DataFrame, target: pd.Series,
           seed: int, progress: Callable[[str], object] | None = None) -> tuple[Section, list[dict]]:
    """Return the best family params and the table of every candidate, best first.

    `progress(what)` is told of each finished fold (grid and random; halving reports when done).
    """
    metric = PRIMARY_METRIC[task]
    drawn = candidates(spec, family, seed)
    if spec.method == "halving":
        rows = halving(task, spec, family_spec, make_pipeline, drawn, inputs, target, seed)
        if progress is not None:
            progress(f"{len(drawn)} candidates raced by successive halving")
    else:
        rows = []
        for number, candidate in enumerate(drawn):
            on_fold = None if progress is None else (lambda fold, number=number: progress(f"candidate {number + 1}/{len(drawn)}, fold {fold}/{spec.cv_folds} done"))
            params = family_spec.model_copy(update=candidate)
            cv = cross_validation(task, make_pipeline(params), inputs, target, spec.cv_folds, seed, spec.n_jobs, on_fold)
            rows.append({"candidate": number, "params": candidate, **rounded({"mean": cv[f"{metric}_mean"], "std": cv[f"{metric}_std"]})})
    sign = 1 if metric in LOWER_IS_BETTER else -1
    # Halving: the candidates that reached the last round rank first (scikit-learn's best is among them).
    rows.sort(key=lambda row: (-row.get("rounds", 0), sign * row["mean"], row["candidate"]))
    for place, row in enumerate(rows, start=1):
        row["rank"] = place
    return family_spec.model_copy(update=rows[0]["params"]), rows


class _Candidate(BaseEstimator):
    """One candidate as an estimator, so scikit-learn's search can set it: `params` applied to the family's section."""

    def __init__(self, make_pipeline=None, family_spec=None, params=None):
        self.make_pipeline, self.family_spec, self.params = make_pipeline, family_spec, params

    def fit(self, inputs, target):
        self.pipeline_ = self.make_pipeline(self.family_spec.model_copy(update=self.params)).fit(inputs, target)
        if hasattr(self.pipeline_, "classes_"):
            self.classes_ = self.pipeline_.classes_
        return self

    def predict(self, inputs):
        return self.pipeline_.predict(inputs)

    def predict_proba(self, inputs):
        return self.pipeline_.predict_proba(inputs)


class _CandidateClassifier(ClassifierMixin, _Candidate):
    pass


class _CandidateRegressor(RegressorMixin, _Candidate):
    pass


def halving(task: str, spec: SearchParams, family_spec: Section, make_pipeline: Callable[[Section], BaseEstimator],
            drawn: list[dict], inputs: pd.DataFrame, target: pd.Series, seed: int) -> list[dict]:
    """One row per candidate: its score in the last round it reached, on how many rows, in how many rounds."""
    metric = PRIMARY_METRIC[task]
    candidate = (_CandidateRegressor if task == "regression" else _CandidateClassifier)(make_pipeline, family_spec, {})
    race = HalvingRandomSearchCV(
        candidate, {"params": drawn}, n_candidates=len(drawn), factor=HALVING_FACTOR, resource="n_samples",
        min_resources="exhaust",  # the last round uses every row
        cv=folds(task, spec.cv_folds, seed), scoring=scorer(task, metric), refit=False, error_score="raise",
        random_state=seed, n_jobs=fold_jobs(spec.n_jobs),
    ).fit(inputs, target)
    results, sign = race.cv_results_, -1 if scorer(task, metric).startswith("neg_") else 1
    last: dict[int, dict] = {}
    for index, params in enumerate(results["params"]):  # rounds in order, so the last round a candidate reached wins
        number = drawn.index(params["params"])
        last[number] = {"candidate": number, "params": params["params"],
                        **rounded({"mean": sign * results["mean_test_score"][index], "std": results["std_test_score"][index]}),
                        "rows": int(results["n_resources"][index]), "rounds": int(results["iter"][index]) + 1}
    return [last[number] for number in sorted(last)]
