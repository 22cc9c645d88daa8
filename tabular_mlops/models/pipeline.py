"""A model pipeline: the preprocessing, then the estimator. The one place one is assembled.

Every path that builds a model goes through `model_pipeline`: the leaderboard's CV, the search,
nested CV, the final fit. So every saved or scored model has the same two steps, `preprocess`
and `model`, which explanations, mitigation and serving read by position and name. Every
estimator comes from `family_estimator`, so train.monotonic reaches each of those paths.
"""
from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import Contract
from tabular_mlops.families.registry import BY_NAME, build_estimator
from tabular_mlops.features.preprocessing import monotonic_constraints, preprocessor_for
from tabular_mlops.params_section import Section


def model_pipeline(preprocessor: ColumnTransformer, estimator: BaseEstimator) -> Pipeline:
    """The two steps, fitted or not as given: a fitted preprocessor stays fitted."""
    return Pipeline([("preprocess", preprocessor), ("model", estimator)])


def family_estimator(params: Params, family: str, preprocessor: ColumnTransformer, hyperparameters: Section | None = None) -> BaseEstimator:
    """The family's unfitted estimator for the features `preprocessor` makes, under train.monotonic when the family enforces it.

    A family that cannot enforce it is built unconstrained: the leaderboard still cross-validates it
    (the constraints' cost shows), the params check refuses it as train.model, and auto passes it over.
    `hyperparameters`: the family's section to build with (a search candidate); None: params.yaml's.
    """
    spec = params.train.family_params(family) if hyperparameters is None else hyperparameters
    estimator = build_estimator(params.data.task, family, spec, params.seed)
    constraints = monotonic_constraints(preprocessor, params.train.monotonic)  # checks the columns whatever the family
    constrain = BY_NAME[family].constrain
    return constrain(estimator, constraints) if constrain is not None and constraints else estimator


def family_pipeline(params: Params, contract: Contract, family: str, hyperparameters: Section | None = None) -> Pipeline:
    """Unfitted: cloning it per fold keeps preprocessing inside the folds."""
    preprocessor = preprocessor_for(contract, params.data.drop_columns, params.featurize)
    return model_pipeline(preprocessor, family_estimator(params, family, preprocessor, hyperparameters))
