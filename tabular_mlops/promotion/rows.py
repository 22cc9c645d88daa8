"""The labelled rows of a window of the prediction log, as rows to compare the models on."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from tabular_mlops.errors import StageError


def labelled_log_rows(path: Path, target: str, columns: list[str], since: str | datetime | None = None,
                      until: str | datetime | None = None, trained_on: set[str] = frozenset()) -> tuple[pd.DataFrame, int]:
    """The log's predictions in [since, until) whose outcome came back (the target is not NaN):
    the `columns` the log holds (the data contract's input columns) and the target; and how many
    were left out because their prediction id is in `trained_on`. Those rows went to the training
    data (export-labels): the challenger learnt from them, so comparing on them would favour it,
    and their held-out share is in the test split already."""
    from tabular_mlops.deployment.prediction_log import read_scored

    if not Path(path).is_file():
        raise StageError(f"{path}: prediction log not found")
    try:
        scored = read_scored(path, since, until)
    except ValueError as error:  # a time that is not ISO 8601
        raise StageError(f"--since/--until: {error}") from None
    if target not in scored.columns:
        return pd.DataFrame(columns=[*columns, target]), 0
    labelled = scored[scored[target].notna()]
    exported = labelled["prediction_id"].isin(trained_on)
    labelled = labelled[~exported]
    return labelled[[column for column in columns if column in labelled.columns] + [target]].reset_index(drop=True), int(exported.sum())


def exported_ids(paths: list[str]) -> set[str]:
    """The prediction ids that export-labels wrote into these training tables (data.extra_paths)."""
    from tabular_mlops.data.returned import exported_ids as ids_in

    return {prediction_id for path in paths if Path(path).suffix == ".parquet" and Path(path).is_file()
            for prediction_id in ids_in(path)}
