"""Reading a CSV or Parquet table a chunk at a time, and appending chunks to one, for batch scoring.

Memory grows with the chunk, not with the file: Arrow reads a CSV a block at a time (pandas
`chunksize` rows at a time when Arrow refuses the file), pyarrow a Parquet file one batch at a
time, and a Parquet output is written one row group per chunk with pyarrow's ParquetWriter.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

import pandas as pd

from tabular_mlops.data.tables import check_csv_shape, refuse_duplicate_columns
from tabular_mlops.errors import StageError

# What pandas reads as missing (its default na_values): Arrow's CSV reader is told the same.
MISSING_TEXT = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
                "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
SAMPLE_BYTES = 1 << 20  # the start of a CSV, for its bytes per row: Arrow reads it about a chunk's bytes at a time
MIN_BLOCK_BYTES = 1 << 16  # (a row longer than a block may stop Arrow: pandas then reads the file)


class ArrowRefused(Exception):
    """Arrow's CSV reader stopped (a short or long row, bytes that are not UTF-8, a layout it
    does not read): read the file again with pandas and the line-by-line check, which name the line."""


def read_header(source: Path) -> tuple[list[str], int | None]:
    """The column names, and the number of rows when the file says it (Parquet). A CSV's rows
    are checked while they are read (read_chunks), or by check_csv before."""
    if source.suffix == ".csv":
        try:
            with open(source, newline="", encoding="utf-8") as stream:
                refuse_duplicate_columns(source, next(csv.reader(stream), []))
            return list(pd.read_csv(source, nrows=0).columns), None
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise StageError(f"{source}: not a readable UTF-8 CSV ({' '.join(str(error).split())})") from None
    parquet = _parquet(source)
    names = parquet.schema_arrow.names
    refuse_duplicate_columns(source, names)
    return names, parquet.metadata.num_rows


def check_csv(source: Path) -> None:
    """Read the whole CSV once, line by line: a short or long row, or bytes that are not UTF-8, stop the run here."""
    try:
        check_csv_shape(source)
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as error:
        raise StageError(f"{source}: not a readable UTF-8 CSV ({' '.join(str(error).split())})") from None


def read_chunks(source: Path, header: list[str], chunk_rows: int, arrow: bool = True) -> Iterator[pd.DataFrame]:
    """The file a chunk of `chunk_rows` rows at a time (the last may be shorter); at least one
    (maybe empty) chunk, so the output gets its columns.

    A CSV is read as text: pandas would guess each chunk's types apart (a column with a gap is
    read as 60.0 in one chunk, 60 in the next), and a rejected row is written back as given.
    `arrow`: Arrow's reader, the same text as pandas' in a fraction of the time (tests/test_chunks.py),
    raising ArrowRefused where it stops; else pandas' (call check_csv first: pandas pads a short row).
    """
    empty = True
    if source.suffix != ".csv":
        batches = (batch.to_pandas() for batch in _parquet(source).iter_batches(batch_size=chunk_rows))
    elif arrow:
        batches = _arrow_csv(source, header, chunk_rows)
    else:
        batches = pd.read_csv(source, chunksize=chunk_rows, dtype="str")
    try:
        for chunk in batches:
            empty = False
            yield chunk
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise StageError(f"{source}: not a readable UTF-8 CSV ({' '.join(str(error).split())})") from None
    if empty:
        yield pd.DataFrame({name: pd.Series(dtype="object") for name in header})


def _arrow_csv(source: Path, header: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(source, newline="", encoding="utf-8-sig") as stream:  # (Arrow and pandas skip a byte-order mark)
        written = next(csv.reader(stream))  # the names as written: pandas renames a blank one 'Unnamed: 3'
    try:
        # One thread: a second one is no quicker here, and the other core scores.
        reader = pacsv.open_csv(source, read_options=pacsv.ReadOptions(use_threads=False, block_size=_block_bytes(source, chunk_rows)),
                                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                                convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in written},
                                                                     null_values=MISSING_TEXT, strings_can_be_null=True,
                                                                     quoted_strings_can_be_null=True))
        if reader.schema.names != written:
            raise ArrowRefused(f"{source}: Arrow read the header as {reader.schema.names}")
        pending, rows = [], 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            while rows >= chunk_rows:
                table = pa.Table.from_batches(pending, reader.schema)
                yield table.slice(0, chunk_rows).rename_columns(header).to_pandas()
                rest = table.slice(chunk_rows)
                pending, rows = rest.to_batches(), rest.num_rows
        if rows:
            yield pa.Table.from_batches(pending, reader.schema).rename_columns(header).to_pandas()
    except pa.ArrowInvalid as error:
        raise ArrowRefused(str(error)) from None


def _block_bytes(source: Path, chunk_rows: int) -> int:
    """About `chunk_rows` rows' bytes, so that memory grows with the chunk, not with a fixed block."""
    with open(source, "rb") as stream:
        sample = stream.read(SAMPLE_BYTES)
    row_bytes = len(sample) / max(sample.count(b"\n"), 1)
    return max(MIN_BLOCK_BYTES, int(chunk_rows * row_bytes))


def _parquet(source: Path):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(source)
    except Exception as error:  # pyarrow raises several unrelated types for a corrupt file
        raise StageError(f"{source}: not a readable Parquet file ({' '.join(str(error).split())})") from None


class ChunkWriter:
    """Appends frames to a CSV or Parquet file (`parquet`); the first frame fixes the columns
    (and the Parquet schema, which later chunks are cast to: a chunk whose text column is all
    missing must not change its type)."""

    written = False

    def __init__(self, path: Path, parquet: bool):
        self.path, self.parquet, self.csv, self.schema = path, parquet, None, None

    def write(self, frame: pd.DataFrame) -> None:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.schema is None:
                self.schema, self.parquet_writer = table.schema, pq.ParquetWriter(self.path, table.schema)
            if table.num_rows or not self.written:
                self.parquet_writer.write_table(table.cast(self.schema))
        else:
            if self.csv is None:
                self.csv = open(self.path, "w", encoding="utf-8", newline="")
            frame.to_csv(self.csv, header=not self.written, index=False)
        self.written = True

    def __enter__(self) -> "ChunkWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.csv is not None:
            self.csv.close()
        if self.schema is not None:
            self.parquet_writer.close()
