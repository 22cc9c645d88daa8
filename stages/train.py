"""Train: fit the chosen model family on the featurized training split.

The family is `train.model`, or with `auto` the leaderboard's winner. With `train.search` on,
its hyperparameters are tuned first by cross-validation. The artifact is one scikit-learn
Pipeline, the fitted preprocessor followed by the fitted estimator, so it maps raw input
columns to a probability (or a value); models/model.json beside it records what produced it.
"""
from __future__ import annotations

from contextlib import nullcontext

import joblib

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table
from tabular_mlops.engine.cluster import folds_on_cluster
from tabular_mlops.errors import run_stage
from tabular_mlops.files import dump_joblib, read_json, sha256_of, write_json
from tabular_mlops.models.mitigation import describe_mitigation, mitigated_model, model_columns
from tabular_mlops.models.pipeline import family_estimator
from tabular_mlops.models.training import chosen_family, describe_model, fit_model, tune

PREPROCESSOR = "models/preprocessor.joblib"
FEATURES = "data/features/train.parquet"
PREPARED_TRAIN = "data/prepared/train.parquet"
LEADERBOARD = "metrics/leaderboard.json"
MODEL = "models/model.joblib"
METADATA = "models/model.json"
SEARCH_TABLE = "models/search.json"  # beside the model: DVC restores both from its run cache


def main() -> None:
    params = load_params()
    family = chosen_family(params, read_json(LEADERBOARD))
    preprocessor = joblib.load(PREPROCESSOR)
    inputs, target = split_inputs_target(read_table(PREPARED_TRAIN), params.data)
    with folds_on_cluster(params.engine) if params.train.search.method != "none" else nullcontext():
        hyperparameters, search_table = tune(params, family, preprocessor, inputs, target)
    estimator = family_estimator(params, family, preprocessor, hyperparameters)  # under train.monotonic when the family enforces it
    features = read_table(FEATURES)
    model = fit_model(preprocessor, features.drop(columns=[params.data.target]), features[params.data.target], estimator)
    contract = read_contract(params.data.contract)
    if params.train.fairness.mitigation != "none":
        model = mitigated_model(params, contract, model, inputs, target)
    columns = model_columns(model, list(contract.features(params.data.drop_columns)))
    input_types = {name: contract.columns[name].type for name in columns}
    feature_names = [name for name in features.columns if name != params.data.target]
    dump_joblib(MODEL, model)
    write_json(METADATA, {**describe_model(params, family, hyperparameters, input_types, feature_names, estimator, sha256_of(PREPARED_TRAIN)),
                          "mitigation": describe_mitigation(model)})
    write_json(SEARCH_TABLE, search_table)


if __name__ == "__main__":
    run_stage(main)
