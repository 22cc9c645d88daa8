"""Time of one 1,000-row commit to the prediction log as the log grows, by kind of prediction id.

    python benchmarks/prediction_log.py [--rows 100000]

The service benchmark starts from an empty log, so it cannot show what the primary key does to
the commit as the log grows: random (uuid4) ids land all over the B-tree, so each commit
rewrites about a page per row; time-ordered ids (`new_ids`, UUID version 7) append at its end.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tabular_mlops.deployment.prediction_log import PredictionLog  # noqa: E402
from tabular_mlops.serving.outputs import new_ids  # noqa: E402

RECORD = {"Seniority": 4, "Home": "owner", "Time": 60, "Age": 40, "Marital": "married", "Records": "no", "Job": "fixed",
          "Expenses": 60, "Income": 231, "Assets": 7000, "Debt": 3000, "Amount": 1100, "Price": 1291}
OUTPUT = {"probability": 0.2718281828459045, "decision": "good", "unseen_categories": []}
BATCH = 1000


def random_ids(count: int) -> list[str]:
    return [uuid.uuid4().hex for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="grow the log to this many rows")
    rows = parser.parse_args().rows
    checkpoints = sorted({min(rows, size) for size in (0, 20_000, rows)})
    print(f"{'rows logged':>12}{'random ids ms':>15}{'time-ordered ms':>17}   (median of the next 10 commits of {BATCH} rows)")
    results: dict[str, dict[int, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for kind, ids in (("random", random_ids), ("time-ordered", new_ids)):
            log, logged, results[kind] = PredictionLog(Path(folder) / f"{kind}.sqlite"), 0, {}
            for size in checkpoints:
                while logged < size:
                    log.log("v1", ids(BATCH), [RECORD] * BATCH, [OUTPUT] * BATCH)
                    logged += BATCH
                times = []
                for _ in range(10):
                    started = time.perf_counter()
                    log.log("v1", ids(BATCH), [RECORD] * BATCH, [OUTPUT] * BATCH)
                    times.append(time.perf_counter() - started)
                logged += 10 * BATCH
                results[kind][size] = statistics.median(times)
            log.close()
    for size in checkpoints:
        print(f"{size:>12,}{results['random'][size] * 1000:>15.2f}{results['time-ordered'][size] * 1000:>17.2f}")


if __name__ == "__main__":
    main()
