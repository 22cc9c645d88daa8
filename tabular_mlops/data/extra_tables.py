"""The tables of data.extra_paths: labelled rows added to data.path's, such as the outcomes the
service's clients fed back (`tabular-mlops export-labels`).

validate checks each one against the data contract as it checks data.path, naming that file,
with two differences: a table of returned outcomes holds the model's inputs and the target only
(the contract's other columns, such as a protected column that is no input or an identifier in
data.drop_columns, stay empty in its rows), and the rules about a column as a whole are left out
(a week of returned outcomes may well hold one class). The validated table holds data.path's rows
first, then each extra table's in the listed order; validate writes how many rows each gave
(`sources_summary`, read back by cleaning.read_sources), so that prepare splits each source on
its own and data.path's rows keep their train/test assignment.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tabular_mlops.config.params import DataParams
from tabular_mlops.data.contract import Contract
from tabular_mlops.data.validation import validate_table
from tabular_mlops.errors import StageError

def required_columns(contract: Contract, dropped: list[str]) -> list[str]:
    """What a table of labelled rows must hold to train on: the model's inputs, then the target."""
    return [*contract.features(dropped), contract.target]


def validate_extra_table(table: pd.DataFrame, contract: Contract, dropped: list[str], source: str | Path) -> pd.DataFrame:
    """`table` coerced to the contract's types, or StageError naming `source` and the first violation."""
    missing = [name for name in required_columns(contract, dropped) if name not in table.columns]
    if missing:
        raise StageError(f"{source}: column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} missing;"
                         " a table of data.extra_paths must hold the model's inputs and the target")
    # The contract restricted to the columns the table holds; a column it does not know still breaks it.
    held = Contract(target=contract.target, columns={name: spec for name, spec in contract.columns.items() if name in table.columns})
    return validate_table(table, held, source, whole_table=False)


def combine(validated: pd.DataFrame, extras: list[pd.DataFrame]) -> pd.DataFrame:
    """data.path's validated rows, then each extra table's, in the columns and types of the first
    (a column an extra table lacks is empty in its rows)."""
    aligned = [validated]
    for extra in extras:
        aligned.append(pd.DataFrame({name: extra[name].astype(validated[name].dtype) if name in extra
                                     else pd.Series(None, index=extra.index, dtype=validated[name].dtype)
                                     for name in validated.columns}))
    return pd.concat(aligned, ignore_index=True)


def sources_summary(data: DataParams, rows: list[int]) -> dict:
    """What validate writes beside the validated table: each table's path and how many validated rows it gave, data.path first."""
    return {"sources": [{"path": path, "rows": int(count)} for path, count in zip([data.path, *data.extra_paths], rows)]}

