"""Reading date and timestamp text the one way the contract accepts: ISO 8601.

Apart from the transformers, so that checking a table against the contract does not import
scikit-learn (seconds of start-up for the stages that only read and check tables).
"""
from __future__ import annotations

import re

import pandas as pd

# ISO 8601 dates and timestamps: 2024-01-31, 2024-01-31 14:05, 2024-01-31T14:05:00.123+02:00, ...Z.
# Other layouts (31/01/2024) are refused: whether 01/02 is January or February is a guess.
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_datetimes(values: pd.Series) -> pd.Series:
    """Values as UTC timestamps; missing, non-ISO and impossible dates (2024-13-01) become NaT.

    Times without an offset are taken as UTC, so the same text always gives the same parts.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
    text = values.astype("string").str.strip()
    iso = text.str.fullmatch(ISO_DATETIME.pattern).fillna(False).astype(bool)
    return pd.to_datetime(text.where(iso), format="ISO8601", utc=True, errors="coerce")
