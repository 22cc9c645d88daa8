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
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from tabular_mlops.config.params import DataParams, expects_text
from tabular_mlops.data.tables import read_table
from tabular_mlops.errors import StageError
from tabular_mlops.data.dates import parse_datetimes
from tabular_mlops.data.sensitive import decision_comment, decision_line, suggest_personal, suggest_protected
from tabular_mlops.files import read_yaml_mapping, write_text

ColumnType = Literal["integer", "float", "category", "datetime", "text"]


class ColumnContract(BaseModel):
    """One column's rules, and what it is: `personal` (identifies a person: never a model input
    unless `model_input: true` says so, never written by validate, masked in messages, hashed in
    logs) and `protected` (a group attribute that evaluation and the monitor compare groups by;
    not a model input unless `model_input: true`). The drafted contract writes `model_input` out for
    every column it suggests (true for protected, false for personal), so nothing rests on these
    defaults unseen. `bands` groups a protected number into ranges."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ColumnType
    nullable: bool
    categories: Optional[list[str]] = None
    min: Optional[float] = None
    max: Optional[float] = None
    personal: bool = False
    protected: bool = False
    model_input: Optional[bool] = None
    bands: Optional[list[float]] = None

    @property
    def is_input(self) -> bool:
        """Explicit `model_input`, else every column but text, personal and protected ones."""
        if self.model_input is not None:
            return self.model_input
        return not (self.personal or self.protected or self.type == "text")

    @model_validator(mode="after")
    def _consistent(self) -> "ColumnContract":
        if self.type == "text" and self.model_input:
            raise ValueError("a text column cannot be a model input (no step featurizes free text); set model_input: false")
        if self.bands is not None:
            if not self.protected or self.type not in ("integer", "float"):
                raise ValueError("bands group a protected integer or float column; this column is not one")
            if not self.bands or list(self.bands) != sorted(set(self.bands)):
                raise ValueError(f"bands must be increasing band edges, e.g. [25, 35, 45]; got {self.bands}")
        return self


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str
    columns: dict[str, ColumnContract]

    def features(self, dropped: list[str]) -> dict[str, ColumnContract]:
        """The model's raw input columns: every input column (`is_input`) but the target and the dropped ones."""
        return {name: spec for name, spec in self.columns.items()
                if name != self.target and name not in dropped and spec.is_input}

    @property
    def personal(self) -> list[str]:
        return [name for name, spec in self.columns.items() if spec.personal]

    @property
    def protected(self) -> list[str]:
        return [name for name, spec in self.columns.items() if spec.protected and name != self.target]

    @property
    def withheld(self) -> list[str]:
        """Personal columns that are not model inputs: validate checks them, then leaves them out."""
        return [name for name, spec in self.columns.items() if spec.personal and not spec.is_input]

    @model_validator(mode="after")
    def _target_is_plain(self) -> "Contract":
        spec = self.columns.get(self.target)
        if spec is not None and (spec.personal or spec.type == "text"):
            raise ValueError(f"the target '{self.target}' cannot be personal or text")
        return self


def infer_contract(table: pd.DataFrame, target: str, path: str | Path, task: str = "classification") -> Contract:
    """A first draft from the data: types, observed categories, a floor of 0 where nothing is negative.

    A text column whose every value is an ISO 8601 date or timestamp is a datetime, not a category
    with one level per timestamp.

    A classification target is a category whatever its values look like (0/1 included).
    """
    if target not in table.columns:
        raise StageError(f"{path}: the target column '{target}' (data.target) is not in the table")
    columns = {name: _infer_column(table[name], name == target, name == target and task == "classification", path) for name in table.columns}
    for name, why in suggestions(table, target).items():
        columns[name] = _marked(columns[name], table[name], why)
    return Contract(target=target, columns=columns)


def suggestions(table: pd.DataFrame, target: str) -> dict[str, dict[str, str]]:
    """Per column that looks personal or protected, why: {"personal": reason, "protected": reason}."""
    found = {}
    for name in table.columns:
        if name == target:
            continue
        personal = suggest_personal(str(name), table[name])
        # A personal column is withheld altogether, so it is not compared by group either.
        why = {"personal": personal} if personal else {"protected": suggest_protected(str(name))}
        if any(why.values()):
            found[name] = why
    return found


def _marked(spec: ColumnContract, values: pd.Series, why: dict[str, str]) -> ColumnContract:
    """The suggestion, with its decision written out: a protected column stays a model input (the
    draft must not change what the model learns), a personal one is kept out. A personal column of
    text lists no categories: the draft must not copy people's names into git."""
    changes: dict = {"personal": "personal" in why, "protected": "protected" in why, "model_input": "protected" in why}
    if changes["personal"] and spec.type == "category":
        changes.update(type="text", categories=None)
    if changes["protected"] and spec.type in ("integer", "float"):
        changes["bands"] = _bands(values.dropna())
    return spec.model_copy(update=changes)


def _bands(values: pd.Series) -> list[float]:
    """Quartile edges, rounded to whole numbers where they can be: a first proposal to review."""
    edges = sorted({float(round(edge)) if abs(edge) >= 10 else round(float(edge), 2) for edge in values.quantile([0.25, 0.5, 0.75])})
    return edges


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


def labels_as_written(values: pd.Series, categories: list[str]) -> pd.Series:
    """Labels as the contract writes them (`categories`). validate reads a whole CSV, and pandas
    makes a column of numbers numeric, so '1.0' and '01' both became the label '1'; a chunk read
    as text keeps them as written, so a number that is not a label as written is tried in that form."""
    labels = as_labels(values)
    if pd.api.types.is_numeric_dtype(values):
        return labels
    other = labels.notna() & ~labels.isin(categories)
    if not other.any():  # the usual case, and the quick one
        return labels
    canonical = as_labels(pd.to_numeric(labels[other], errors="coerce").astype("float64"))
    canonical = canonical[canonical.isin(categories)]
    return labels.where(~labels.index.isin(canonical.index), canonical.reindex(labels.index))


def read_contract(path: str | Path) -> Contract:
    hint = "; draft the contract with `tabular-mlops contract`"
    raw = read_yaml_mapping(path, "'target' and 'columns'", missing_hint=hint, text_where=lambda where: expects_text(Contract, where))
    try:
        return Contract.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(map(str, first["loc"]))
        raise StageError(f"{path}: key '{key}': {first['msg']}") from None


def contract_yaml(contract: Contract, source: str | Path, suggested: dict[str, dict[str, str]] | None = None) -> str:
    """The contract as YAML; each suggested column's `model_input` line says what was decided and why."""
    header = (
        f"# Data contract for {source}, drafted by `tabular-mlops contract`.\n"
        "# Review it before committing: widen ranges and categories that new data may legitimately hold.\n"
    )
    kinds = {kind for why in (suggested or {}).values() for kind in why}
    if kinds:
        header += "# Suggested from names and values; each one's model_input line says what was decided. Yours to change:\n"
    if "protected" in kinds:
        header += ("# - protected: a group attribute that fairness figures compare. It stays a model input (model_input: true)\n"
                   "#   until you set model_input: false; fairness is still reported by it. Lending: the law may forbid some\n"
                   "#   protected characteristics as inputs. Medicine: age and sex are usually needed as inputs.\n")
    if "personal" in kinds:
        header += ("# - personal: identifies a person. It is NOT a model input (model_input: false): validate checks it, then\n"
                   "#   drops it, so the pipeline's files and the model never hold its values. To train on it, set\n"
                   "#   model_input: true (a text column must first become type: category with its categories listed);\n"
                   "#   if it is not personal data, also delete personal: true.\n")
    body = contract.model_dump(exclude_defaults=True)
    text = _dump({"target": body["target"]}, 100) + "columns:\n"
    for name, spec in body["columns"].items():
        why = (suggested or {}).get(name, {})
        for line in _dump({name: spec}, 98).splitlines():  # 98 + the 2 of indentation: wrapped as in one document
            if why and line.startswith("  model_input:"):
                line += "".join(f"  # {decision_comment(kind, reason)}" for kind, reason in why.items())
            text += f"  {line}\n"
    return header + text


def _dump(data: dict, width: int) -> str:
    return yaml.dump(data, Dumper=_ContractDumper, sort_keys=False, width=width)


class _ContractDumper(yaml.SafeDumper):
    """Block style for the columns, one line per list of categories."""


_ContractDumper.add_representer(
    list, lambda dumper, items: dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=True)
)


def draft_contract(data: DataParams, force: bool) -> str:
    """Write the contract drafted from the table that data.path names; return what was done: a
    summary line, then a line per suggested column with its reason and what was decided."""
    destination = Path(data.contract)
    if destination.exists() and not force:
        raise StageError(f"{destination}: contract exists (data.contract); pass --force to overwrite it")
    contract, text, decisions = draft(read_table(data.path), data)
    write_text(destination, text)
    lines = [f"wrote {destination}: {len(contract.columns)} columns, target '{contract.target}'. Review it, then commit it."]
    return "\n".join(lines + [f"  {line}" for line in decisions])


def draft(table: pd.DataFrame, data: DataParams) -> tuple[Contract, str, list[str]]:
    """The contract drafted from `table` (read from data.path), its YAML, and a line per suggested
    column with its reason and what was decided."""
    contract = infer_contract(table, data.target, data.path, data.task)
    suggested = suggestions(table, data.target)
    decisions = [decision_line(str(name), kind, reason, contract.columns[name].type)
                 for name, why in suggested.items() for kind, reason in why.items()]
    return contract, contract_yaml(contract, data.path, suggested), decisions
