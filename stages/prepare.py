"""Prepare: clean the validated table and split it, deterministically, into train and test.

Missing feature values are left in place: they are imputed inside the fitted pipeline, so
nothing learnt from test rows leaks into training. Outlier fences are learnt there too.
"""
from __future__ import annotations

from tabular_mlops.config.params import load_params
from tabular_mlops.data.cleaning import check_classes_fill_folds, clean, cv_folds_asked, split
from tabular_mlops.data.tables import read_table, write_parquet
from tabular_mlops.engine.cluster import engine_client
from tabular_mlops.errors import run_stage
from tabular_mlops.files import write_json

VALIDATED = "data/validated.parquet"
TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
REPORT = "metrics/prepare.json"


def main() -> None:
    params = load_params()
    with engine_client(params.engine) as client:
        if client is not None:
            from tabular_mlops.engine.prepare import prepare_partitioned

            write_json(REPORT, prepare_partitioned(client, params, VALIDATED, TRAIN, TEST))
            return
    cleaned, report = clean(read_table(VALIDATED), params.data, params.prepare)
    # prepare.split_seed, not seed: a seed sweep changes the models and folds but keeps the test rows.
    train, test = split(cleaned, params.data.target, params.prepare.test_size, params.prepare.split_seed, params.data.task)
    if params.data.task == "classification":
        check_classes_fill_folds(train, params.data.target, cv_folds_asked(params))
    report.update(train_rows=len(train), test_rows=len(test))
    write_parquet(TRAIN, train)
    write_parquet(TEST, test)
    write_json(REPORT, report)


if __name__ == "__main__":
    run_stage(main)
