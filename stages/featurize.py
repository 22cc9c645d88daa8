"""Featurize: build the preprocessing from params and fit it on the training split only.

Saved as models/preprocessor.joblib and placed, already fitted, at the head of the model
pipeline, so serving applies exactly these steps. Cross-validation never reuses this fitted
copy: it clones the whole pipeline, so each fold refits preprocessing on its own training part.
"""
from __future__ import annotations

import sys

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table, write_parquet
from tabular_mlops.engine.cluster import engine_client
from tabular_mlops.errors import run_stage
from tabular_mlops.features.preprocessing import preprocessor_for
from tabular_mlops.features.report import featurize_report, featurize_warnings
from tabular_mlops.files import dump_joblib, write_json

TRAIN = "data/prepared/train.parquet"
PREPROCESSOR = "models/preprocessor.joblib"
FEATURES = "data/features/train.parquet"
REPORT = "metrics/featurize.json"


def main() -> None:
    params = load_params()
    contract = read_contract(params.data.contract)
    inputs, target = split_inputs_target(read_table(TRAIN), params.data)
    preprocessor = preprocessor_for(contract, params.data.drop_columns, params.featurize)
    with engine_client(params.engine) as client:
        if client is None:
            features = preprocessor.fit_transform(inputs)  # one pass and one copy of the features: memory on millions of rows
        else:
            from tabular_mlops.engine.featurize import featurize_partitioned

            # Fitted on every training row in this process, as the pandas engine fits it: the quantile
            # fences and medians are exact only over each whole column. The transform runs on the cluster.
            preprocessor.fit(inputs)
            features = featurize_partitioned(client, params, preprocessor, TRAIN, FEATURES)  # two rows a partition
    report = featurize_report(preprocessor, inputs)
    for warning in featurize_warnings(preprocessor, inputs, features, report, params.featurize.categorical.max_categories, REPORT):
        print(f"warning: featurize: {warning}", file=sys.stderr)
    dump_joblib(PREPROCESSOR, preprocessor)
    if client is None:
        features[target.name] = target.to_numpy()
        write_parquet(FEATURES, features)
    write_json(REPORT, report)


if __name__ == "__main__":
    run_stage(main)
