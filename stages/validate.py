"""Validate: check the raw table against the data contract before anything learns from it.

Writes the table with the contract's types (data/validated.parquet), data.path's rows then those
of each table in data.extra_paths, how many rows each gave (data/validated.sources.json) and what
was checked (metrics/validate.json). A violation stops the pipeline with one line naming the
file, the column, example rows and the rule.
"""
from __future__ import annotations

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.extra_tables import combine, sources_summary, validate_extra_table
from tabular_mlops.data.tables import read_table, write_parquet
from tabular_mlops.data.validation import check_params_against_contract, check_segment_column, summarize, validate_table
from tabular_mlops.engine.cluster import engine_client
from tabular_mlops.errors import run_stage
from tabular_mlops.files import write_json

VALIDATED = "data/validated.parquet"
SOURCES = "data/validated.sources.json"
REPORT = "metrics/validate.json"


def main() -> None:
    params = load_params()
    data = params.data
    contract = read_contract(data.contract)
    check_params_against_contract(data, contract)
    check_segment_column(data.segment_column, data, contract)
    with engine_client(params.engine) as client:
        if client is None:
            validated = validate_table(read_table(data.path), contract, data.path)
            extras = [validate_extra_table(read_table(path), contract, data.drop_columns, path) for path in data.extra_paths]
            rows = [len(validated), *map(len, extras)]
            if extras:
                validated = combine(validated, extras)
            write_parquet(VALIDATED, validated)
            summary = summarize(validated, data.target)
        else:
            from tabular_mlops.engine.validate import validate_partitioned

            summary = validate_partitioned(client, data.path, contract, data.target, VALIDATED, params.engine.partition_rows)
            rows = [summary["rows"]]  # (the params refuse data.extra_paths with the dask engine)
    write_json(SOURCES, sources_summary(data, rows))
    write_json(REPORT, summary)


if __name__ == "__main__":
    run_stage(main)
