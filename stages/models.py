"""The model families that `train.model` may name, each built from its own params section."""
from __future__ import annotations

from typing import Callable, get_args

from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from stages.params import ModelName, TrainParams


def _logistic_regression(spec: TrainParams, seed: int) -> ClassifierMixin:
    family = spec.logistic_regression
    weight = None if family.class_weight == "none" else family.class_weight
    return LogisticRegression(C=family.C, max_iter=family.max_iter, class_weight=weight, random_state=seed)


def _hist_gradient_boosting(spec: TrainParams, seed: int) -> ClassifierMixin:
    family = spec.hist_gradient_boosting
    return HistGradientBoostingClassifier(
        learning_rate=family.learning_rate,
        max_iter=family.max_iter,
        max_leaf_nodes=family.max_leaf_nodes,
        min_samples_leaf=family.min_samples_leaf,
        l2_regularization=family.l2_regularization,
        early_stopping=False,  # a fixed number of rounds: no internal split that CV cannot see
        random_state=seed,
    )


def _random_forest(spec: TrainParams, seed: int) -> ClassifierMixin:
    family = spec.random_forest
    return RandomForestClassifier(
        n_estimators=family.n_estimators,
        max_depth=family.max_depth,
        min_samples_leaf=family.min_samples_leaf,
        n_jobs=family.n_jobs,
        random_state=seed,
    )


FAMILIES: dict[str, Callable[[TrainParams, int], ClassifierMixin]] = {
    "logistic_regression": _logistic_regression,
    "hist_gradient_boosting": _hist_gradient_boosting,
    "random_forest": _random_forest,
}
assert set(FAMILIES) == set(get_args(ModelName)), "params.ModelName and FAMILIES must list the same families"


def build_estimator(spec: TrainParams, seed: int) -> ClassifierMixin:
    """An unfitted estimator of the family that `train.model` names (already validated by params)."""
    return FAMILIES[spec.model](spec, seed)
