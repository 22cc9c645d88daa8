"""The labelled rows of a window of the prediction log, as rows to compare the models on."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from tabular_mlops.errors import StageError


def labelled_log_rows(path: Path, target: str, columns: list[str], since: str | datetime | None = None,
                      until: str | datetime | None = None) -> pd.DataFrame:
    """The log's predictions in [since, until) whose outcome came back (the target is not NaN):
    the `columns` the log holds (the data contract's input columns) and the target."""
    from tabular_mlops.serving.prediction_log import read_scored

    if not Path(path).is_file():
        raise StageError(f"{path}: prediction log not found")
    try:
        scored = read_scored(path, since, until)
    except ValueError as error:  # a time that is not ISO 8601
        raise StageError(f"--since/--until: {error}") from None
    if target not in scored.columns:
        return pd.DataFrame(columns=[*columns, target])
    labelled = scored[scored[target].notna()]
    return labelled[[column for column in columns if column in labelled.columns] + [target]].reset_index(drop=True)
