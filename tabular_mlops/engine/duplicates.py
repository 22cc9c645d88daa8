"""Exact duplicate rows of a partitioned table: DataFrame.duplicated(keep="first") without the whole
table in one process. Every row's hash comes from its partition; only the rows whose hash repeats
travel to the client, where pandas compares them."""
from __future__ import annotations

import numpy as np
import pandas as pd

from tabular_mlops.engine.partitions import Partition, in_order, read_partition


def duplicated_rows(client, parts: list[Partition], dropped: list[str] | None) -> np.ndarray:
    """DataFrame.duplicated(keep="first") of the whole file (without the `dropped` columns), exactly:
    every row's hash, then the rows whose hash repeats, compared on the client."""
    hashes = np.concatenate(list(in_order(client, _row_hashes, parts, dropped or [])))
    values, counts = np.unique(hashes, return_counts=True)
    repeated = values[counts > 1]
    duplicated = np.zeros(len(hashes), dtype=bool)
    if repeated.size:
        rows = pd.concat(list(in_order(client, _rows_with_hashes, parts, dropped or [], list(map(int, repeated)))))
        duplicated[rows.index.to_numpy()] = rows.duplicated(keep="first").to_numpy()
    return duplicated


def _comparable(part: Partition, dropped: list[str]) -> pd.DataFrame:
    table = read_partition(part).drop(columns=dropped)
    # -0.0 equals 0.0 and every NaN equals every NaN for drop_duplicates: hash them alike.
    floats = [name for name in table.columns if pd.api.types.is_float_dtype(table[name])]
    return table.assign(**{name: table[name] + 0.0 for name in floats})


def _row_hashes(part: Partition, dropped: list[str]) -> np.ndarray:
    return pd.util.hash_pandas_object(_comparable(part, dropped), index=False).to_numpy()


def _rows_with_hashes(part: Partition, dropped: list[str], repeated: list[int]) -> pd.DataFrame:
    table = _comparable(part, dropped)
    hashes = pd.util.hash_pandas_object(table, index=False).to_numpy()
    return table[np.isin(hashes, np.array(repeated, dtype=np.uint64))]
