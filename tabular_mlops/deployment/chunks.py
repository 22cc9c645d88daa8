"""Reading a CSV or Parquet table a chunk at a time, and appending chunks to one, for batch scoring.

Memory grows with the chunk, not with the file: pandas reads a CSV `chunksize` rows at a time,
pyarrow a Parquet file one batch at a time, and a Parquet output is written one row group per
chunk with pyarrow's ParquetWriter.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pandas as pd

from tabular_mlops.data.tables import check_csv_shape, refuse_duplicate_columns
from tabular_mlops.errors import StageError


def read_header(source: Path) -> tuple[list[str], int | None]:
    """The column names, and the number of rows when the file says it (Parquet)."""
    if source.suffix == ".csv":
        try:
            check_csv_shape(source)  # reads the file once, line by line: a short or long row stops the run here
            return list(pd.read_csv(source, nrows=0).columns), None
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise StageError(f"{source}: not a readable UTF-8 CSV ({' '.join(str(error).split())})") from None
    parquet = _parquet(source)
    names = parquet.schema_arrow.names
    refuse_duplicate_columns(source, names)
    return names, parquet.metadata.num_rows


def read_chunks(source: Path, header: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The file a chunk at a time; at least one (maybe empty) chunk, so the output gets its columns.

    A CSV is read as text: pandas would guess each chunk's types apart (a column with a gap is
    read as 60.0 in one chunk, 60 in the next), and a rejected row is written back as given.
    """
    empty = True
    if source.suffix == ".csv":
        batches = pd.read_csv(source, chunksize=chunk_rows, dtype="str")
    else:
        batches = (batch.to_pandas() for batch in _parquet(source).iter_batches(batch_size=chunk_rows))
    try:
        for chunk in batches:
            empty = False
            yield chunk
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise StageError(f"{source}: not a readable UTF-8 CSV ({' '.join(str(error).split())})") from None
    if empty:
        yield pd.DataFrame({name: pd.Series(dtype="object") for name in header})


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
