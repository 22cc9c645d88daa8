"""Reading the user's table (CSV or Parquet) with errors that name the file, and writing Parquet."""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Iterable

import pandas as pd

from tabular_mlops.errors import StageError
from tabular_mlops.files import atomic_path

SUFFIXES = (".csv", ".parquet")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet table; refuse missing, empty, header-only or ambiguous files."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise StageError(f"{path}: unsupported file type '{path.suffix}'; expected one of {', '.join(SUFFIXES)}")
    require_file(path)
    table = _read_csv(path) if path.suffix == ".csv" else _read_parquet(path)
    if table.empty:
        raise StageError(f"{path}: the table has no data rows (columns: {', '.join(map(str, table.columns))})")
    return table


def require_file(path: Path) -> None:
    """Refuse a missing or empty file, naming it."""
    if not path.is_file():
        raise StageError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise StageError(f"{path}: file is empty; expected a header row and data rows")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        check_csv_shape(path)
        return pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as error:
        raise StageError(f"{path}: not a readable UTF-8 CSV ({' '.join(str(error).split())})") from None


def check_csv_shape(path: Path) -> None:
    """Refuse what pandas would quietly repair: a repeated header name (renamed 'Income.1')
    and a short row (padded with missing values)."""
    with open(path, newline="", encoding="utf-8") as stream:
        rows = csv.reader(stream)
        header = next(rows, [])
        refuse_duplicate_columns(path, header)
        for row in rows:
            if row and len(row) != len(header):
                raise StageError(
                    f"{path}: line {rows.line_num} has {len(row)} fields but the header has {len(header)}"
                )


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several unrelated types for a corrupt file
        raise StageError(f"{path}: not a readable Parquet file ({' '.join(str(error).split())})") from None
    refuse_duplicate_columns(path, list(table.columns))
    return table


def refuse_duplicate_columns(path: Path, header: list) -> None:
    repeated = [name for name, count in Counter(header).items() if count > 1]
    if repeated:
        raise StageError(f"{path}: column names must be unique, but {', '.join(map(repr, repeated))} appear more than once")


ROW_GROUP_ROWS = 1_000_000


def write_parquet(path: str | Path, table: pd.DataFrame) -> None:
    """Write without the index, atomically; pinned pyarrow gives the same bytes for the same frame.

    Beyond a million rows, a million at a time: converting the whole frame to Arrow at once would
    hold a second copy of it (gigabytes on ten million rows). Up to a million, `to_parquet` as ever."""
    with atomic_path(path) as temporary:
        if len(table) <= ROW_GROUP_ROWS:
            table.to_parquet(temporary, index=False)
            return
        _write_row_groups(temporary, (table.iloc[start:start + ROW_GROUP_ROWS] for start in range(0, len(table), ROW_GROUP_ROWS)))


def write_parquet_parts(path: str | Path, parts: Iterable[pd.DataFrame]) -> None:
    """Write the frames, in order, as one table without the index, a row group each, atomically
    (the Dask engine writes its partitions so; at least one frame). Reading it gives the frame
    write_parquet would have written for their concatenation."""
    with atomic_path(path) as temporary:
        _write_row_groups(temporary, parts)


def _write_row_groups(path: Path, parts: Iterable[pd.DataFrame]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for part in parts:
            table = pa.Table.from_pandas(part, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            elif not table.schema.equals(writer.schema, check_metadata=False):
                table = table.cast(writer.schema)  # e.g. a part whose column is all missing
            writer.write_table(table)
            del table
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError(f"{path}: no table to write")


def require_columns(path: str | Path, table: pd.DataFrame, columns: list[str], key: str) -> None:
    """Refuse a params key that names columns the table does not have."""
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise StageError(
            f"{path}: {key} names {', '.join(map(repr, missing))}, which the table does not have;"
            f" its columns are {', '.join(map(str, table.columns))}"
        )
