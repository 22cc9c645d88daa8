"""The request schema, built from the bundle's data contract, and the frame the model scores.

One record type per bundle: a field per input column, typed and bounded as the contract
says, and an optional one per protected or personal column that is not an input (a client may
send them: protected values are logged for the monitor's group comparisons, personal ones
only as pseudonyms); no other fields. It is a TypedDict rather than a BaseModel: pydantic
validates a 1,000-row batch straight from the JSON bytes into dicts, several times faster
than building and dumping model instances. Errors are reported by field and rule only: pydantic's own error
objects carry the rejected `input`, which must never be echoed (it may be personal data).
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any, Literal, Optional

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import NotRequired, Required, TypedDict  # pydantic needs this TypedDict before Python 3.12

from tabular_mlops.data.contract import ColumnContract, Contract

PYTHON_TYPES = {"integer": int, "float": float, "datetime": datetime, "text": str}


class RequestError(Exception):
    """A request the contract refuses: `errors` is a list of {row?, field, rule}, no values."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


class TooManyRows(Exception):
    pass


MAX_ERRORS = 50  # reported per request: a 10,000-row batch of wrong rows needs no 10,000-item answer


def carried_columns(contract: Contract, input_columns: list[str]) -> list[str]:
    """The protected and personal columns a request may carry besides the model's inputs."""
    return [name for name in contract.columns if name in (*contract.protected, *contract.personal) and name not in input_columns]


def record_type(contract: Contract, input_columns: list[str]) -> type:
    """The type of one input record: the input columns, then the carried ones (the order the
    log stores them in); nullable columns may be null or left out (missing), and so may every
    carried column (the model does not need it)."""
    fields = {name: _field(contract.columns[name]) for name in input_columns}
    fields.update({name: _field(contract.columns[name], optional=True) for name in carried_columns(contract, input_columns)})
    record = TypedDict("Record", fields)  # type: ignore[misc]
    record.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return record


def _field(spec: ColumnContract, optional: bool = False) -> Any:
    if spec.type == "category":
        annotation: Any = Literal[tuple(spec.categories or ())]
    elif spec.type == "float":
        annotation = Annotated[float, Field(ge=spec.min, le=spec.max, allow_inf_nan=False)]
    elif spec.type == "integer":
        annotation = Annotated[int, Field(ge=spec.min, le=spec.max)]
    else:
        annotation = PYTHON_TYPES[spec.type]
    return NotRequired[Optional[annotation]] if spec.nullable or optional else Required[annotation]


class Parser:
    """Request bodies -> validated records (dicts in field order); `personal`: the fields that
    must be replaced by pseudonyms before a record is stored."""

    def __init__(self, contract: Contract, input_columns: list[str]) -> None:
        record = record_type(contract, input_columns)
        self.input_columns = input_columns
        self.personal = [name for name in contract.personal if name in record.__annotations__]
        self.types = {name: contract.columns[name].type for name in input_columns}
        self._one, self._batch = TypeAdapter(record), TypeAdapter(list[record])
        self.json_schema = self._one.json_schema()

    def one(self, body: bytes) -> list[dict]:
        return [self._validate(self._one.validate_json, body, batch=False)]

    def batch_json(self, body: bytes, max_rows: int) -> list[dict]:
        records = self._validate(self._batch.validate_json, body, batch=True)
        if len(records) > max_rows:
            raise TooManyRows(len(records))
        return records

    def batch_csv(self, body: bytes, max_rows: int) -> list[dict]:
        try:
            reader = csv.DictReader(io.StringIO(body.decode("utf-8"), newline=""), restkey="\0extra", restval=None)
            rows = []
            for row in reader:
                if len(rows) == max_rows:
                    raise TooManyRows(max_rows + 1)
                # An empty cell is a missing value; a row longer than the header is refused.
                rows.append({key: (None if value == "" else value) for key, value in row.items()})
        except (UnicodeDecodeError, csv.Error):
            raise RequestError([{"field": None, "rule": "the body must be UTF-8 CSV with a header row"}]) from None
        errors = [{"row": number, "field": None, "rule": "the row has more cells than the header"}
                  for number, row in enumerate(rows) if "\0extra" in row]
        if errors:
            raise RequestError(errors)
        return self._validate(self._batch.validate_python, rows, batch=True)

    @staticmethod
    def _validate(validate, data: Any, batch: bool) -> Any:
        try:
            return validate(data)
        except ValidationError as error:
            items = error.errors(include_input=False, include_url=False)[:MAX_ERRORS]
            raise RequestError([_describe(item, batch) for item in items]) from None

    def frame(self, records: list[dict]) -> pd.DataFrame:
        """The contract's dtypes: numbers float64, categories object (missing: NaN), datetimes UTC."""
        columns = {}
        for name in self.input_columns:
            values = [record.get(name) for record in records]
            kind = self.types[name]
            if kind == "category":
                columns[name] = pd.Series([np.nan if value is None else value for value in values], dtype="object")
            elif kind == "datetime":
                columns[name] = pd.to_datetime(pd.Series(values, dtype="object"), utc=True)
            else:
                columns[name] = np.array(values, dtype="float64")  # None becomes NaN
        return pd.DataFrame(columns)


RULES = {
    "missing": "is required",
    "extra_forbidden": "is not an input column of the model's contract",
    "int_parsing": "must be an integer", "int_type": "must be an integer", "int_from_float": "must be a whole number",
    "float_parsing": "must be a number", "float_type": "must be a number", "finite_number": "must be a finite number",
    "dict_type": "must be a JSON object (one record)",
    "list_type": "must be a JSON list of records",
    "literal_error": "must be one of the contract's categories",
    "string_type": "must be a string",
}


def _describe(error: dict, batch: bool) -> dict:
    location = list(error["loc"])
    described: dict[str, Any] = {}
    if batch:
        described["row"] = location.pop(0) if location and isinstance(location[0], int) else None
    described["field"] = str(location[0])[:100] if location else None
    described["rule"] = _rule(error)
    return described


def _rule(error: dict) -> str:
    kind, context = error["type"], error.get("ctx") or {}
    if kind in ("greater_than_equal", "less_than_equal"):
        sign = ">=" if kind == "greater_than_equal" else "<="
        return f"must be {sign} {context.get('ge', context.get('le'))}"
    if kind == "literal_error":
        return f"must be one of {context.get('expected', '')}"
    if kind.startswith("json") or kind == "recursion_loop":
        return "the body must be valid JSON"
    if kind.startswith("datetime") or kind.startswith("date_"):
        return "must be an ISO 8601 date or date-time"
    # pydantic's messages name the rule, not the input; the known ones get our words.
    return RULES.get(kind, error["msg"])
