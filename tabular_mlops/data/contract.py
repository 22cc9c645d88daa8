"""The data contract: what each column of the user's table must hold.

The same contract guards training (the `validate` stage checks tables against it with
pandera) and, later, the scoring service's request schema. `tabular-mlops contract` writes a first draft for the table that
params.yaml names; review it, commit it, then `dvc repro`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from tabular_mlops.config.params import DataParams, expects_text
from tabular_mlops.data.tables import read_table
from tabular_mlops.errors import StageError
from tabular_mlops.data.dates import parse_datetimes
from tabular_mlops.files import read_yaml_mapping, write_text

ColumnType = Literal["integer", "float", "category", "datetime"]


class ColumnContract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ColumnType
    nullable: bool
    categories: Optional[list[str]] = None
    min: Optional[float] = None
    max: Optional[float] = None


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str
    columns: dict[str, ColumnContract]

    def features(self, dropped: list[str]) -> dict[str, ColumnContract]:
        """The model's raw input columns: every column but the target and the dropped ones."""
        return {name: spec for name, spec in self.columns.items() if name != self.target and name not in dropped}


def infer_contract(table: pd.DataFrame, target: str, path: str | Path, task: str = "classification") -> Contract:
    """A first draft from the data: types, observed categories, a floor of 0 where nothing is negative.

    A text column whose every value is an ISO 8601 date or timestamp is a datetime, not a category
    with one level per timestamp.

    A classification target is a category whatever its values look like (0/1 included).
    """
    if target not in table.columns:
        raise StageError(f"{path}: the target column '{target}' (data.target) is not in the table")
    columns = {name: _infer_column(table[name], name == target, name == target and task == "classification", path) for name in table.columns}
    return Contract(target=target, columns=columns)


def _infer_column(values: pd.Series, is_target: bool, is_label: bool, path: str | Path) -> ColumnContract:
    present = values.dropna()
    if present.empty:
        raise StageError(f"{path}: column '{values.name}' has no values, so its type cannot be inferred")
    # Unlabelled rows are expected in real tables: prepare drops them and counts them.
    nullable = bool(is_target or values.isna().any())
    if not is_target and _all_datetimes(present):
        return ColumnContract(type="datetime", nullable=nullable)
    if is_label or not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return ColumnContract(type="category", nullable=nullable, categories=sorted(as_labels(present).astype(str).unique()))
    whole = bool((present % 1 == 0).all())
    floor = 0.0 if present.min() >= 0 else None
    return ColumnContract(type="integer" if whole else "float", nullable=nullable, min=floor)


def _all_datetimes(present: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(present):
        return True
    if pd.api.types.is_numeric_dtype(present) or pd.api.types.is_bool_dtype(present):
        return False  # 20240131 is a number; only text or a datetime dtype is read as a date
    return bool(parse_datetimes(present).notna().all())


def as_labels(values: pd.Series) -> pd.Series:
    """Class labels as text, written as in the file: a 0/1 column with a gap is read as 0.0/1.0
    by pandas, but its labels are '0' and '1'."""
    if not pd.api.types.is_float_dtype(values):
        return values
    return values.map(lambda v: v if pd.isna(v) else str(int(v)) if float(v).is_integer() else str(v))


def read_contract(path: str | Path) -> Contract:
    hint = "; draft the contract with `tabular-mlops contract`"
    raw = read_yaml_mapping(path, "'target' and 'columns'", missing_hint=hint, text_where=lambda where: expects_text(Contract, where))
    try:
        return Contract.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(map(str, first["loc"]))
        raise StageError(f"{path}: key '{key}': {first['msg']}") from None


def contract_yaml(contract: Contract, source: str | Path) -> str:
    header = (
        f"# Data contract for {source}, drafted by `tabular-mlops contract`.\n"
        "# Review it before committing: widen ranges and categories that new data may legitimately hold.\n"
    )
    body = contract.model_dump(exclude_none=True)
    return header + yaml.dump(body, Dumper=_ContractDumper, sort_keys=False, width=100)


class _ContractDumper(yaml.SafeDumper):
    """Block style for the columns, one line per list of categories."""


_ContractDumper.add_representer(
    list, lambda dumper, items: dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=True)
)


def draft_contract(data: DataParams, force: bool) -> str:
    """Write the contract drafted from the table that data.path names; return what was done."""
    destination = Path(data.contract)
    if destination.exists() and not force:
        raise StageError(f"{destination}: contract exists (data.contract); pass --force to overwrite it")
    contract = infer_contract(read_table(data.path), data.target, data.path, data.task)
    write_text(destination, contract_yaml(contract, data.path))
    return f"wrote {destination}: {len(contract.columns)} columns, target '{contract.target}'. Review it, then commit it."
