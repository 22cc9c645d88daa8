"""Tables of any size drawn from a real one (the project's, by default), to try the pipeline on millions of rows.

Whole rows of the source are resampled with replacement, so each column's missing rate, the
category shares, the class balance and the relations between columns are the source's, up to
sampling error. Each number is then multiplied by 1 + JITTER * a standard normal draw, rounded
where the contract says integer and clipped to the contract's range: zeros stay zero, and the
table passes the contract whenever the source does (the source is checked against it first).
Dates are resampled as they are.

The draws come in blocks of BLOCK_ROWS rows, block b from a generator seeded with (seed, b)
alone: the rows do not depend on the chunks they are written in, and the first N rows of a
larger table are the N-row table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tabular_mlops.data.contract import Contract, read_contract
from tabular_mlops.data.tables import read_table
from tabular_mlops.data.validation import validate_table
from tabular_mlops.errors import StageError
from tabular_mlops.files import atomic_path

BLOCK_ROWS = 50_000
JITTER = 0.05  # the standard deviation of the multiplicative noise: 5% of the value
CHUNK_ROWS = 250_000  # rows generated and written at a time: memory grows with this, not with N (README figures)
SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class Sampler:
    """The source table as arrays to draw rows from."""

    values: dict[str, np.ndarray]  # numbers as float64 (NaN: missing), categories as codes (-1: missing), others as read
    categories: dict[str, pd.Index]  # category columns: their labels, in code order
    bounds: dict[str, tuple[float, float]]  # numeric columns: the contract's range (whole numbers for integers)
    integer: frozenset[str]

    @classmethod
    def from_table(cls, validated: pd.DataFrame, contract: Contract) -> "Sampler":
        """`validated`: the source as validate_table returns it (the contract's types)."""
        values, categories, bounds = {}, {}, {}
        for name in validated.columns:
            spec = contract.columns[name]
            if spec.type == "category":
                labels = pd.Categorical(validated[name])
                values[name], categories[name] = labels.codes, labels.categories
            elif spec.type in ("integer", "float"):
                low, high = -math.inf if spec.min is None else spec.min, math.inf if spec.max is None else spec.max
                bounds[name] = (float(np.ceil(low)), float(np.floor(high))) if spec.type == "integer" else (low, high)
                values[name] = validated[name].to_numpy(dtype="float64", na_value=np.nan)
            else:
                values[name] = validated[name].to_numpy()
        integer = frozenset(name for name in bounds if contract.columns[name].type == "integer")
        return cls(values, categories, bounds, integer)


def synth_table(validated: pd.DataFrame, contract: Contract, rows: int, seed: int) -> pd.DataFrame:
    """`rows` rows drawn from the validated source table, the same for the same seed."""
    return synth_rows(Sampler.from_table(validated, contract), seed, 0, rows)


def synth_rows(sampler: Sampler, seed: int, start: int, stop: int) -> pd.DataFrame:
    """Rows [start, stop) of the table that `seed` gives."""
    first, last = start // BLOCK_ROWS, -(-stop // BLOCK_ROWS)
    blocks = [_block(sampler, seed, index) for index in range(first, last)]
    begin = start - first * BLOCK_ROWS
    columns = {name: np.concatenate([block[name] for block in blocks])[begin:begin + stop - start] for name in sampler.values}
    return pd.DataFrame({name: _column(sampler, name, drawn) for name, drawn in columns.items()})


def _block(sampler: Sampler, seed: int, index: int) -> dict[str, np.ndarray]:
    # Always a whole block, so a row's draws do not depend on where a chunk ends.
    generator = np.random.default_rng([seed, index])
    source_rows = len(next(iter(sampler.values.values())))
    picked = generator.integers(0, source_rows, BLOCK_ROWS)
    block = {}
    for name, values in sampler.values.items():
        drawn = values[picked]
        if name in sampler.bounds:
            drawn = drawn * (1 + JITTER * generator.standard_normal(BLOCK_ROWS))
            drawn = np.clip(np.round(drawn) if name in sampler.integer else drawn, *sampler.bounds[name])
        block[name] = drawn
    return block


def _column(sampler: Sampler, name: str, drawn: np.ndarray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    if name in sampler.categories:
        return pd.Categorical.from_codes(drawn, sampler.categories[name])
    if name in sampler.integer:
        missing = np.isnan(drawn)
        return pd.arrays.IntegerArray(np.where(missing, 0, drawn).astype("int64"), missing)
    return drawn


def write_synth(source: str | Path, contract_path: str | Path, out: str | Path, rows: int, seed: int,
                chunk_rows: int = CHUNK_ROWS) -> str:
    """Write `rows` rows drawn from the table at `source` to `out` (.csv or .parquet), `chunk_rows`
    (rounded up to whole blocks) at a time; return what was written. A crash leaves no half file."""
    out = check_output(out)
    if rows < 1 or chunk_rows < 1:
        raise StageError(f"{out}: rows and chunk_rows must be >= 1; got {rows} and {chunk_rows}")
    chunk_rows = -(-chunk_rows // BLOCK_ROWS) * BLOCK_ROWS  # whole blocks: none is drawn twice
    contract = read_contract(contract_path)
    sampler = Sampler.from_table(validate_table(read_table(source), contract, source), contract)
    with atomic_path(out) as temporary:
        writer = None
        try:
            for start in range(0, rows, chunk_rows):
                table = _arrow(synth_rows(sampler, seed, start, min(start + chunk_rows, rows)))
                writer = writer or _open_writer(temporary, out.suffix, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
    return f"wrote {out}: {rows} rows drawn from {source} (seed {seed})"


def check_output(out: str | Path) -> Path:
    """The output's format comes from its suffix."""
    out = Path(out)
    expected = f"expected a file name ending in {' or '.join(SUFFIXES)}"
    if out.is_dir():
        raise StageError(f"{out}: is a folder; {expected}")
    if out.suffix not in SUFFIXES:
        raise StageError(f"{out}: unsupported output type '{out.suffix}'; {expected}")
    return out


def _arrow(frame: pd.DataFrame):
    """Categories as plain text and no pandas metadata, so every reader sees text and numbers."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    for position, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(position, field.name, table.column(position).cast(pa.string()))
    return table


def _open_writer(path: Path, suffix: str, schema):
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetWriter(path, schema)
    import pyarrow.csv as pacsv

    return pacsv.CSVWriter(path, schema, write_options=pacsv.WriteOptions(quoting_style="needed"))
