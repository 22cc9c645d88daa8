"""Train: fit the chosen model family on the featurized training split.

The artifact is one scikit-learn Pipeline, the fitted preprocessor followed by the fitted
estimator, so it maps raw input columns to a probability. A metadata file beside it records
what produced it.
"""
from __future__ import annotations

import platform
from importlib.metadata import version

import joblib
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from stages.contract import read_contract
from stages.errors import run_stage
from stages.files import dump_joblib, sha256_of, write_json
from stages.models import build_estimator
from stages.params import Params, load_params
from stages.tables import read_table

PREPROCESSOR = "models/preprocessor.joblib"
FEATURES = "data/features/train.parquet"
PREPARED_TRAIN = "data/prepared/train.parquet"
MODEL = "models/model.joblib"
METADATA = "models/model.json"
LIBRARIES = ("scikit-learn", "pandas", "numpy", "scipy", "pyarrow", "joblib")


def fit_model(preprocessor: ColumnTransformer, features: pd.DataFrame, target: pd.Series, estimator: ClassifierMixin) -> Pipeline:
    """Fit only the estimator: the preprocessor was already fitted on these same rows."""
    estimator.fit(features, target)
    return Pipeline([("preprocess", preprocessor), ("model", estimator)])


def describe_model(params: Params, input_types: dict[str, str], feature_names: list[str]) -> dict:
    """Everything needed to know what a saved model is and how to call it."""
    return {
        "model_family": params.train.model,
        "task": params.data.task,
        "target": params.data.target,
        "positive_class": params.data.positive_class,
        "output": f"probability that {params.data.target} == {params.data.positive_class!r}",
        "input_columns": list(input_types),  # in order; JSON keys below are sorted
        "input_types": input_types,
        "features": feature_names,
        "training_data_sha256": sha256_of(PREPARED_TRAIN),
        "params": params.model_dump(mode="json"),
        "libraries": {name: version(name) for name in LIBRARIES},
        "python": ".".join(platform.python_version_tuple()[:2]),
    }


def main() -> None:
    params = load_params()
    table = read_table(FEATURES)
    target = table.pop(params.data.target)
    estimator = build_estimator(params.train, params.seed)
    model = fit_model(joblib.load(PREPROCESSOR), table, target, estimator)
    contract = read_contract(params.data.contract)
    input_types = {name: spec.type for name, spec in contract.features(params.data.drop_columns).items()}
    dump_joblib(MODEL, model)
    write_json(METADATA, describe_model(params, input_types, list(table.columns)))


if __name__ == "__main__":
    run_stage(main)
