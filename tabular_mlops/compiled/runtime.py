"""Running a compiled model with onnxruntime, fed from a table or straight from request records.

The graph takes one matrix per preprocessing branch (compiled/preprocessing.py): numbers as
doubles, categories as strings (MISSING for a missing one), dates as day numbers since
1970-01-01. Building them from a list of records costs microseconds: no DataFrame is made.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from tabular_mlops.data.dates import parse_datetimes

MISSING = "\0"  # a missing category as the graph receives it: no contract category is a NUL character
LAYOUT_KEY = "tabular_mlops.inputs"  # the model's metadata: {branch: [columns]}
SOURCE_KEY = "tabular_mlops.model_sha256"  # ... and the sha256 of the pickled pipeline it was compiled from
UNIX_DAY_ZERO = 719163  # date(1970, 1, 1).toordinal()


class CompiledModel:
    """One onnxruntime session. `threads`: 1 for a service (its workers and requests are the
    parallelism), more for a large batch."""

    def __init__(self, model_bytes: bytes, threads: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its warnings are about graph optimisations
        self.session = onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.layout: dict[str, list[str]] = json.loads(metadata[LAYOUT_KEY])
        self.compiled_from = metadata.get(SOURCE_KEY, "")
        self.runtime = f"onnxruntime {onnxruntime.__version__}"
        self._arguments = (model_bytes, threads)

    def __reduce__(self):
        # A session cannot be pickled: a Dask worker (batch scoring's --engine dask) builds its own from the bytes.
        return CompiledModel, self._arguments

    def predict(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """[rows, classes] probabilities (the model's classes_ order) or [rows, 1] values."""
        return self.session.run(None, feeds)[0]

    def feeds_from_frame(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        feeds = {}
        for branch, columns in self.layout.items():
            if branch == "numeric":
                feeds[branch] = frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)
            elif branch == "categorical":
                feeds[branch] = np.column_stack([_categories(frame[column]) for column in columns])
            else:
                feeds[branch] = np.column_stack([_day_numbers(frame[column]) for column in columns])
        return feeds

    def feeds_from_records(self, records: list[dict]) -> dict[str, np.ndarray]:
        """Records as the service's parser returns them: numbers, category strings, datetimes, None for missing."""
        feeds = {}
        for branch, columns in self.layout.items():
            if branch == "numeric":
                feeds[branch] = np.array([[record.get(column) for column in columns] for record in records], dtype=np.float64)
            elif branch == "categorical":
                feeds[branch] = np.array([[_category(record.get(column)) for column in columns] for record in records], dtype=object)
            else:
                feeds[branch] = np.array([[_day_number(record.get(column)) for column in columns] for record in records], dtype=np.float64)
        return feeds


def _categories(values: pd.Series) -> np.ndarray:
    if isinstance(values.dtype, pd.StringDtype):  # text already (a checked chunk): no call per value
        return values.fillna(MISSING).to_numpy(dtype=object)
    return np.array([_category(value) for value in values.tolist()], dtype=object)


def _category(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return MISSING
    return str(value)


def _day_numbers(values: pd.Series) -> np.ndarray:
    """Whole days since 1970-01-01 (UTC, floored), NaN where the date is missing or not ISO 8601."""
    stamps = parse_datetimes(values)
    days = stamps.dt.floor("D").dt.tz_localize(None)
    counted = (days - pd.Timestamp("1970-01-01")).dt.days
    return counted.to_numpy(dtype=np.float64, na_value=np.nan)


def _day_number(value) -> float:
    if value is None:
        return np.nan
    if isinstance(value, datetime):
        stamp = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return float(stamp.toordinal() - UNIX_DAY_ZERO)
    return _day_numbers(pd.Series([value]))[0]
