"""The committed credit table is the one data/README.md describes."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_committed_credit_table_has_the_documented_shape_missing_cells_and_classes() -> None:
    table = pd.read_csv(ROOT / "data/raw/credit.csv")
    assert table.shape == (4454, 14)
    assert "rownames" not in table.columns
    assert table["Status"].value_counts().to_dict() == {"good": 3200, "bad": 1254}
    missing = table.isna().sum()
    assert missing[missing > 0].to_dict() == {"Home": 6, "Marital": 1, "Job": 2, "Income": 381, "Assets": 47, "Debt": 18}
    assert int(missing.sum()) == 455
    categorical = {name for name in table.columns if table[name].dtype.kind not in "if"}
    assert categorical == {"Status", "Home", "Marital", "Records", "Job"}
