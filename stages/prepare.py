"""Prepare: clean the validated table and split it, deterministically, into train and test.

Missing feature values are left in place: they are imputed inside the fitted pipeline, so
nothing learnt from test rows leaks into training. Outlier fences are learnt there too. The rows
of data.path and of each table in data.extra_paths are split on their own (data.path's keep the
split they have alone); metrics/data/rows.json counts the training and test rows, and how many
of them the extra tables gave.
"""
from __future__ import annotations

from tabular_mlops.config.params import load_params
from tabular_mlops.data.cleaning import check_classes_fill_folds, cv_folds_asked, read_sources, split_sources
from tabular_mlops.data.tables import read_table, write_parquet
from tabular_mlops.engine.cluster import engine_client
from tabular_mlops.errors import run_stage
from tabular_mlops.files import write_json
from tabular_mlops.reporting.headline import ROWS, data_rows

VALIDATED = "data/validated.parquet"
SOURCES = "data/validated.sources.json"
TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
REPORT = "metrics/prepare.json"


def main() -> None:
    params = load_params()
    with engine_client(params.engine) as client:
        if client is not None:
            from tabular_mlops.engine.prepare import prepare_partitioned

            report = prepare_partitioned(client, params, VALIDATED, TRAIN, TEST)
            write_json(REPORT, report)
            write_json(ROWS, data_rows(report))
            return
    rows_per_source = [source["rows"] for source in read_sources(SOURCES)]
    # prepare.split_seed, not seed: a seed sweep changes the models and folds but keeps the test rows.
    train, test, report = split_sources(read_table(VALIDATED), rows_per_source, params.data, params.prepare)
    if params.data.task == "classification":
        check_classes_fill_folds(train, params.data.target, cv_folds_asked(params))
    write_parquet(TRAIN, train)
    write_parquet(TEST, test)
    write_json(REPORT, report)
    write_json(ROWS, data_rows(report))


if __name__ == "__main__":
    run_stage(main)
