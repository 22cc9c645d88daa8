"""prepare with the Dask engine: the pandas engine's train and test rows, in its order.

What needs the whole table is decided on the client from small columns: the duplicates (row
hashes), the unlabelled rows and the stratified split (the same `split` call, on the target
column and the row numbers alone). The rows then move partition-wise to their place (a shuffle
on the cluster) and are written range by range.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tabular_mlops.config.params import Params
from tabular_mlops.data.tables import write_parquet_parts
from tabular_mlops.engine.duplicates import duplicated_rows
from tabular_mlops.engine.partitions import Partition, frame, in_order, partitions, read_partition

ORDER = "__order"  # a row's place in the split it goes to


def prepare_partitioned(client, params: Params, source: str, train_path: str, test_path: str) -> dict:
    """prepare's clean and split, with the pandas engine's rows in its order: duplicates and the
    stratified split are decided on the client (row hashes; the same `split` call on the target
    column alone), the rows are moved partition-wise to their place (a shuffle) and written."""
    from tabular_mlops.data.cleaning import check_classes_fill_folds, clean_report, cv_folds_asked, split

    data, spec = params.data, params.prepare
    parts = partitions(source, params.engine.partition_rows)
    target = pd.concat(list(in_order(client, _column, parts, data.target)))
    keep = ~duplicated_rows(client, parts, data.drop_columns) if spec.drop_duplicates else np.ones(len(target), dtype=bool)
    labelled = keep & target.notna().to_numpy()
    report = clean_report(len(target), int((~keep).sum()), int((keep & ~labelled).sum()))
    positions = np.flatnonzero(labelled)
    train, test = split(pd.DataFrame({data.target: target.to_numpy()[positions], ORDER: positions}).reset_index(drop=True),
                        data.target, spec.test_size, spec.split_seed, data.task)
    if data.task == "classification":
        check_classes_fill_folds(train, data.target, cv_folds_asked(params))
    for rows, path in ((train, train_path), (test, test_path)):
        destination = np.full(len(target), -1, dtype=np.int64)
        destination[rows[ORDER].to_numpy()] = np.arange(len(rows))
        _write_in_order(client, parts, destination, data.drop_columns, path, params.engine.partition_rows)
    report.update(train_rows=len(train), test_rows=len(test))
    return report


def _column(part: Partition, name: str) -> pd.Series:
    return read_partition(part)[name]


def _with_destination(part: Partition, destination: np.ndarray, dropped: list[str]) -> pd.DataFrame:
    table = read_partition(part).drop(columns=dropped)
    table[ORDER] = destination
    return table[table[ORDER] >= 0]


def _write_in_order(client, parts: list[Partition], destination: np.ndarray, dropped: list[str], path: str, partition_rows: int) -> None:
    """The rows whose destination is not -1, written in destination order: a shuffle on the
    cluster into sorted ranges of destinations, gathered range by range."""
    slices = [destination[part.first_row:part.first_row + part.rows] for part in parts]
    rows = frame(parts, _with_destination, slices, [dropped] * len(parts))
    count = int((destination >= 0).sum())
    divisions = sorted(set(range(0, count, partition_rows)) | {count - 1})
    ordered = rows.set_index(ORDER, divisions=divisions if len(divisions) > 1 else [0, 0], sorted=False, shuffle_method="tasks")
    # Dask holds text as pyarrow strings (missing: NA); written back with the table's own types.
    types = read_partition(parts[0]).drop(columns=dropped).dtypes
    write_parquet_parts(path, (part.reset_index(drop=True).astype(types) for part in in_order(client, _identity, ordered.to_delayed())))


def _identity(table: pd.DataFrame) -> pd.DataFrame:
    return table
