"""A table in partitions, for the Dask engine: which rows each holds, reading one (on a worker),
and running a function over them with the results coming back in order.

A CSV partition is a byte range of whole lines, found by one scan for line ends: a row per line,
as `validate`'s line numbers assume (a quoted value holding a line break would be cut; use
Parquet or the pandas engine for such a file). Blank lines are skipped, as pandas skips them.
A Parquet partition is a slice of one row group. Every partition knows its first data row, so a
row number found in it is the file's row number.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from tabular_mlops.errors import StageError

SCAN_BYTES = 1 << 24  # the line scan reads the file 16 MiB at a time
AHEAD_PER_THREAD = 2  # partitions computed ahead of the one being gathered, per worker thread: bounds the memory


@dataclass(frozen=True)
class Partition:
    path: str  # absolute: the worker reading it may run in another folder (or machine, on a shared filesystem)
    first_row: int  # the 0-based data row of the file it starts at
    rows: int
    start: int  # CSV: byte offsets of its lines; Parquet: the row group, and the slice within it
    stop: int
    header: bytes = b""  # CSV: the header line, put before the lines of every partition
    group: int = -1


def partitions(path: str | Path, rows: int) -> list[Partition]:
    """The file in partitions of at most `rows` data rows, in order."""
    path = Path(path).resolve()
    return _csv_partitions(path, rows) if path.suffix == ".csv" else _parquet_partitions(path, rows)


def _csv_partitions(path: Path, rows: int) -> list[Partition]:
    """Byte ranges of `rows` non-blank data lines each, from one pass over the file's bytes."""
    found, header, first_row, start, count, line_start = [], None, 0, None, 0, 0
    with open(path, "rb") as stream:
        offset = 0
        while block := stream.read(SCAN_BYTES):
            ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n")) + offset
            offset += len(block)
            for end in ends.tolist():
                line = (line_start, end + 1)
                line_start = end + 1
                if header is None:
                    header = line
                    continue
                if end - line[0] == 0 or (end - line[0] == 1 and _byte(stream, line[0]) == b"\r"):
                    continue  # a blank line: pandas skips it
                start = line[0] if start is None else start
                count += 1
                if count == rows:
                    found.append((first_row, count, start, line[1]))
                    first_row, start, count = first_row + count, None, 0
        if line_start < offset:  # a last line without a line end
            if header is None:
                header = (line_start, offset)
            else:
                start = line_start if start is None else start
                count += 1
        if count:
            found.append((first_row, count, start, offset))
        if header is None:
            return []
        stream.seek(header[0])
        header_bytes = stream.read(header[1] - header[0])
    if not header_bytes.endswith(b"\n"):
        header_bytes += b"\n"
    return [Partition(str(path), first, count, start, stop, header=header_bytes) for first, count, start, stop in found]


def _byte(stream, position: int) -> bytes:
    here = stream.tell()
    stream.seek(position)
    value = stream.read(1)
    stream.seek(here)
    return value


def _parquet_partitions(path: Path, rows: int) -> list[Partition]:
    """Slices of `rows` rows within each row group (as pyarrow's batches of that size come)."""
    metadata = _parquet_file(path).metadata
    found, first_row = [], 0
    for group in range(metadata.num_row_groups):
        size = metadata.row_group(group).num_rows
        for start in range(0, size, rows):
            count = min(rows, size - start)
            found.append(Partition(str(path), first_row, count, start, start + count, group=group))
            first_row += count
    return found


def read_partition(part: Partition, dtype: str | None = None) -> pd.DataFrame:
    """One partition as pandas reads it (a CSV's types guessed on the partition, or all text with
    dtype "str"), indexed by the file's data row numbers."""
    if part.group < 0:
        with open(part.path, "rb") as stream:
            stream.seek(part.start)
            lines = stream.read(part.stop - part.start)
        try:
            table = pd.read_csv(BytesIO(part.header + lines), dtype=dtype)
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise StageError(f"{part.path}: not a readable UTF-8 CSV (rows {part.first_row}-{part.first_row + part.rows - 1}:"
                             f" {' '.join(str(error).split())})") from None
    else:
        table = _parquet_file(part.path).read_row_group(part.group).slice(part.start, part.rows).to_pandas()
    if len(table) != part.rows:
        raise StageError(f"{part.path}: rows {part.first_row}-{part.first_row + part.rows - 1} read as {len(table)} rows;"
                         " a quoted value holding a line break? Use Parquet or engine.name: pandas")
    table.index = pd.RangeIndex(part.first_row, part.first_row + part.rows)
    return table


def _parquet_file(path: str | Path):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises several unrelated types for a corrupt file
        raise StageError(f"{path}: not a readable Parquet file ({' '.join(str(error).split())})") from None


def frame(parts: list[Partition], read: Callable[..., pd.DataFrame] = read_partition, *iterables: Iterable, meta: pd.DataFrame | None = None):
    """The partitions as one dask DataFrame: read(part, *items) for each."""
    import dask.dataframe as dd

    if meta is None:
        meta = read(parts[0], *(next(iter(items)) for items in iterables)).iloc[:0]
    return dd.from_map(read, parts, *iterables, meta=meta, enforce_metadata=False)


def in_order(client, function: Callable, pieces: Iterable, *shared) -> Iterator:
    """function(piece, *shared) for each piece (a Partition, or a dask DataFrame partition), run on
    the cluster, yielded in the pieces' order. Large `shared` objects (a fitted model) go to each
    worker once. A few pieces run ahead of the one yielded, so the workers stay busy while the
    client writes, and at most that many results wait in memory."""
    from dask import delayed

    shared = [client.scatter(value, broadcast=True) if not isinstance(value, (int, str, list, type(None))) else value for value in shared]
    ahead = max(1, AHEAD_PER_THREAD * sum(client.nthreads().values()))
    pending: deque = deque()
    for piece in pieces:
        pending.append(client.compute(delayed(function, pure=False)(piece, *shared)))
        if len(pending) > ahead:
            yield _result(pending.popleft())
    while pending:
        yield _result(pending.popleft())


def _result(future):
    result = future.result()
    future.release()
    return result


def distinct_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """Two rows holding, per column, two of its distinct values (missing counts as one), or its one
    value twice: stacked over the partitions, a column has one distinct value exactly when the
    whole column has, and the stack is two rows a partition."""
    columns = {}
    for name in table.columns:
        values = table[name].drop_duplicates()
        columns[name] = values.iloc[[0, min(1, len(values) - 1)]].to_numpy() if len(values) else table[name].iloc[:0].to_numpy()
    return pd.DataFrame(columns)
