"""A family's whole pipeline, unfitted: the preprocessing from params, then the estimator."""
from __future__ import annotations

from sklearn.pipeline import Pipeline

from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import Contract
from tabular_mlops.features.preprocessing import preprocessor_for
from tabular_mlops.families.registry import build_estimator


def family_pipeline(params: Params, contract: Contract, family: str) -> Pipeline:
    """Unfitted: cloning it per fold keeps preprocessing inside the folds."""
    spec = params.train.family_params(family)
    estimator = build_estimator(params.data.task, family, spec, params.seed)
    preprocessor = preprocessor_for(contract, params.data.drop_columns, params.featurize)
    return Pipeline([("preprocess", preprocessor), ("model", estimator)])

