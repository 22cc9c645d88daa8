"""How fast `tabular-mlops score` is against its floor: rows per second on 100,000 rows resampled
from data/raw/credit.csv, the command (a fresh process: imports, bundle check, reading,
row-by-row contract checks, writing) against `Bundle.predict` on the same rows in memory.

    python benchmarks/scoring.py [--model models/bundle] [--chunk-rows 50000]

Run it from the repository root after `dvc repro` (it needs models/bundle). Prints both rates,
their ratio and the command's peak resident memory.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.validation import validate_table
from tabular_mlops.deployment.artifact import load_bundle

ROWS = 100_000


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--model", default="models/bundle")
    arguments.add_argument("--chunk-rows", default="50000")
    arguments = arguments.parse_args()
    bundle = load_bundle(arguments.model)
    raw = pd.read_csv("data/raw/credit.csv").sample(n=ROWS, replace=True, random_state=0)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "rows.csv"
        raw.to_csv(source, index=False)
        command = [sys.executable, "-m", "tabular_mlops", "score", str(source), "--output", str(Path(folder) / "scored.parquet"),
                   "--model", arguments.model, "--chunk-rows", arguments.chunk_rows, "--quiet"]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        command_seconds = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(result.stderr)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # The floor: the rows already in the contract's types, in memory, one predict call.
    rows = validate_table(raw.reset_index(drop=True), read_contract("data/contract.yaml"), "data/raw/credit.csv")
    start = time.perf_counter()
    bundle.predict(rows)
    predict_seconds = time.perf_counter() - start
    print(result.stdout.strip())
    print(f"tabular-mlops score: {ROWS / command_seconds:,.0f} rows/s ({command_seconds:.2f} s, chunks of {arguments.chunk_rows}, "
          f"peak RSS {peak_mb:.0f} MB)")
    print(f"Bundle.predict in memory: {ROWS / predict_seconds:,.0f} rows/s ({predict_seconds:.2f} s)")
    print(f"ratio: the command takes {command_seconds / predict_seconds:.1f} times as long as the floor")


if __name__ == "__main__":
    main()
