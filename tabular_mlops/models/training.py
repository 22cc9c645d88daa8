"""Fitting the chosen model family, tuning it first if asked, and describing what was saved.

The family is `train.model`, or with `auto` the leaderboard's winner. With `train.search` on,
its hyperparameters are tuned first by cross-validation. The artifact is one scikit-learn
Pipeline, the fitted preprocessor followed by the fitted estimator, so it maps raw input
columns to a probability (or a value); a metadata file beside it records what produced it.
"""
from __future__ import annotations

import platform
from importlib.metadata import version

import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from tabular_mlops.config.params import Params
from tabular_mlops.errors import StageError
from tabular_mlops.families.registry import BY_NAME, honours_monotonic
from tabular_mlops.metrics import PRIMARY_METRIC
from tabular_mlops.models.pipeline import family_estimator, model_pipeline
from tabular_mlops.models.search import candidates, search
from tabular_mlops.params_section import Section
from tabular_mlops.progress import Progress

LIBRARIES = ("scikit-learn", "pandas", "numpy", "scipy", "pyarrow", "joblib")


def chosen_family(params: Params, leaderboard: dict) -> str:
    """train.model, or with `auto` the leaderboard's best: the first ranked (successful) family, or
    with train.monotonic the first ranked one that honours it."""
    if params.train.model != "auto":
        return params.train.model
    ranked = [row["family"] for row in leaderboard.get("ranking", [])]
    eligible = [family for family in ranked if honours_monotonic(family)] if params.train.monotonic else ranked
    if not eligible or leaderboard.get("best") != eligible[0]:
        which = "ranked family that honours train.monotonic" if params.train.monotonic else "ranked family"
        raise StageError(f"metrics/leaderboard.json: best must be the first {which} for train.model: auto; got best {leaderboard.get('best')!r},"
                         f" ranked {ranked}; run `dvc repro` so the leaderboard is ranked again")
    return eligible[0]


def fit_model(preprocessor: ColumnTransformer, features: pd.DataFrame, target: pd.Series, estimator: BaseEstimator) -> Pipeline:
    """Fit only the estimator: the preprocessor was already fitted on these same rows."""
    estimator.fit(features, target)
    return model_pipeline(preprocessor, estimator)


def tune(params: Params, family: str, preprocessor: ColumnTransformer, inputs: pd.DataFrame, target: pd.Series) -> tuple[Section, dict]:
    """The family's hyperparameters to fit with (the best candidate when searching), and the search table."""
    task, seed, spec = params.data.problem, params.seed, params.train.family_params(family)
    if params.train.search.method == "none":
        return spec, {"method": "none", "family": family}

    def make_pipeline(candidate):
        # An unfitted copy of the featurize stage's preprocessor: each fold fits its own.
        unfitted = clone(preprocessor)
        return model_pipeline(unfitted, family_estimator(params, family, unfitted, candidate))

    drawn = candidates(params.train.search, family, seed)
    steps = 1 if params.train.search.method == "halving" else len(drawn) * params.train.search.cv_folds
    progress = Progress(f"train: {params.train.search.method} search of {family}", steps)
    best, rows = search(task, params.train.search, spec, family, make_pipeline, inputs, target, seed, progress.step)
    table = {"method": params.train.search.method, "family": family, "metric": PRIMARY_METRIC[task],
             "cv_folds": params.train.search.cv_folds, "best_params": rows[0]["params"], "candidates": rows}
    return best, table


def describe_model(params: Params, family: str, hyperparameters: Section, input_types: dict[str, str],
                   feature_names: list[str], estimator: BaseEstimator, training_data_sha256: str) -> dict:
    """Everything needed to know what a saved model is and how to call it."""
    data = params.data
    classes = [str(label) for label in estimator.classes_] if data.problem == "multiclass" else None
    if data.problem == "multiclass":
        output = f"probability of each class of {data.target}: {', '.join(classes)}"
    else:
        output = f"probability that {data.target} == {data.positive_class!r}" if data.task == "classification" else f"predicted {data.target}"
    return {
        "model_family": family,
        "chosen_by": "leaderboard (train.model: auto)" if params.train.model == "auto" else "train.model",
        "hyperparameters": hyperparameters.model_dump(mode="json"),  # after the search, if any
        "estimator": repr(estimator),
        "task": data.task,
        "target": data.target,
        "positive_class": data.positive_class,
        "classes": classes,  # the columns of predict_proba, in order
        "output": output,
        "input_columns": list(input_types),  # in order; JSON keys below are sorted
        "input_types": input_types,
        "features": feature_names,
        "training_data_sha256": training_data_sha256,
        "params": params.model_dump(mode="json", include={"seed", "data", "prepare", "featurize", "train"}),
        "libraries": {name: version(name) for name in (*LIBRARIES, *BY_NAME[family].requires)},
        "python": ".".join(platform.python_version_tuple()[:2]),
    }
