"""The labels that came back: labelled rows of the prediction log as a training table.

A logged prediction whose outcome was fed back is a training row: the model's inputs as logged
and the outcome as the target. Nothing else of the log is kept: no personal column (the log holds
only their pseudonyms, and the export none of them), no prediction, id or time. Each row is checked
with the data contract's row rules (data/rows.py, the rules validate applies); a row that breaks
one is set aside with the rules it breaks, as batch scoring sets aside its rejects.

The exported table is one dataset that grows: new rows are appended. Which predictions it already
holds is kept in the Parquet file's key-value metadata (EXPORTED_IDS), not in a column, so the
pipeline never trains on an id and an overlapping window adds no row twice.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tabular_mlops.data.contract import Contract
from tabular_mlops.data.extra_tables import required_columns
from tabular_mlops.data.rows import check_rows
from tabular_mlops.errors import StageError
from tabular_mlops.files import atomic_path

EXPORTED_IDS = b"tabular_mlops.exported_prediction_ids"  # JSON list, in the table's row order
ID = "prediction_id"
REJECT_COLUMNS = [ID, "column", "rule"]
JOIN = "; "


@dataclass
class LabelledRows:
    rows: pd.DataFrame  # the new rows that keep the contract: the exported columns, typed as validate types them
    ids: list[str]  # their prediction ids, in row order
    rejected: pd.DataFrame  # prediction_id, column, rule (the broken ones joined by "; "), then the row as logged
    already: int  # labelled rows of the window that the table already holds


def exported_columns(contract: Contract, dropped: list[str]) -> list[str]:
    """The model's inputs, the protected columns the log holds as given (the fairness report and
    data.segment_column group the returned test rows by them), and the target. A personal input
    cannot be exported: the log holds only its pseudonym, and a pseudonym is no value to learn from."""
    personal = [name for name in contract.features(dropped) if contract.columns[name].personal]
    if personal:
        raise StageError(f"the contract's personal column{'s' if len(personal) > 1 else ''} {', '.join(map(repr, personal))} "
                         "are model inputs, which the prediction log holds only as pseudonyms; its rows cannot be exported for training")
    columns = required_columns(contract, dropped)
    protected = [name for name in contract.protected if name not in columns and name not in dropped and not contract.columns[name].personal]
    return [*columns[:-1], *protected, columns[-1]]


def labelled_rows(scored: pd.DataFrame, contract: Contract, dropped: list[str], exported: set[str]) -> LabelledRows:
    """The rows of `scored` (the log's scored-table format) with an outcome, not among `exported`,
    checked against the contract."""
    columns = exported_columns(contract, dropped)
    if contract.target not in scored:  # no outcome in the window (or none for this target)
        scored = scored.assign(**{contract.target: pd.Series(None, index=scored.index, dtype="object")})
    labelled = scored[scored[contract.target].notna()]
    seen = labelled[ID].isin(exported)
    new = labelled[~seen].reset_index(drop=True)
    # A column the log lacks (a model of another contract) is empty: the row rules then judge it.
    frame = new.reindex(columns=columns)
    if frame.empty:
        return LabelledRows(frame, [], pd.DataFrame(columns=[*REJECT_COLUMNS, *columns]), int(seen.sum()))
    checked, violations = check_rows(frame, contract, columns)
    reasons = violations.groupby("position", sort=True).agg({"column": JOIN.join, "rule": JOIN.join})
    bad = frame.index.isin(reasons.index)
    rejected = pd.concat([pd.DataFrame({ID: new.loc[reasons.index, ID], "column": reasons["column"], "rule": reasons["rule"]},
                                       index=reasons.index), frame[bad]], axis=1)
    return LabelledRows(checked[~bad].reset_index(drop=True), new.loc[~bad, ID].tolist(), rejected.reset_index(drop=True),
                        int(seen.sum()))


def exported_ids(path: str | Path) -> list[str]:
    """The prediction ids exported to the Parquet table at `path`, read from its footer alone (no rows)."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
    except Exception as error:  # pyarrow raises several unrelated types for a corrupt file
        raise StageError(f"{path}: not a readable Parquet file ({' '.join(str(error).split())})") from None
    return json.loads(metadata.get(EXPORTED_IDS, b"[]"))


def read_exported(path: str | Path) -> tuple[pd.DataFrame | None, list[str]]:
    """The table already exported to `path` and the prediction ids it holds; (None, []) when there is none."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        return None, []
    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises several unrelated types for a corrupt file
        raise StageError(f"{path}: not a readable Parquet file ({' '.join(str(error).split())})") from None
    ids = json.loads((table.schema.metadata or {}).get(EXPORTED_IDS, b"[]"))
    if len(ids) != table.num_rows:
        raise StageError(f"{path}: holds {table.num_rows} rows but the ids of {len(ids)} exported predictions; export to a new"
                         " file (--output) rather than append to a table written otherwise")
    return table.to_pandas(), ids


def append_rows(path: str | Path, old: pd.DataFrame | None, old_ids: list[str], new: pd.DataFrame, new_ids: list[str]) -> int:
    """Write `old` then `new` to `path` as Parquet with their ids in its metadata, atomically; the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if old is not None and list(old.columns) != list(new.columns):
        raise StageError(f"{path}: holds the columns {', '.join(old.columns)}, but the model's inputs and target are now "
                         f"{', '.join(new.columns)}; export to a new file (--output) and list it in data.extra_paths")
    table = new if old is None else pd.concat([old, new.astype(old.dtypes.to_dict())], ignore_index=True)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), EXPORTED_IDS: json.dumps([*old_ids, *new_ids]).encode()})
    with atomic_path(path) as temporary:
        pq.write_table(arrow, temporary)
    return len(table)


def write_rejects(path: str | Path, rejected: pd.DataFrame) -> None:
    """The rejected rows as CSV, atomically (a header alone when there are none)."""
    with atomic_path(path) as temporary:
        rejected.to_csv(temporary, index=False)
