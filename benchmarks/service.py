"""Latency of the scoring service against the in-process floor.

    python benchmarks/service.py [--bundle DIR] [--rows FILE] [--requests 400]

Starts a real `tabular-mlops serve` on a loopback port (the full-size models/bundle when this
checkout has one, else --bundle), then measures:
- /predict p50/p99 latency at concurrency 1 and 16, beside `Bundle.predict` on one row in-process;
- /predict/batch rows/s with 1,000 rows, beside `Bundle.predict` on the same 1,000 rows.
Goals (the issue): /predict p50 within 5 ms of the floor; batch at least half the in-process rows/s.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import httpx  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tabular_mlops.deployment.artifact import load_bundle  # noqa: E402
from tests import service as svc  # noqa: E402
from tests.test_service import as_records  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def in_process(bundle, frame: pd.DataFrame, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        bundle.predict(frame)
        bundle.unseen_categories(frame)
        times.append(time.perf_counter() - started)
    return times


def over_http(url: str, records: list[dict], requests: int, concurrency: int) -> list[float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(limits=limits, timeout=30) as client:
        def one(number: int) -> float:
            started = time.perf_counter()
            response = client.post(f"{url}/predict", json=records[number % len(records)])
            response.raise_for_status()
            return time.perf_counter() - started

        for number in range(20):  # warm up the connections and the model
            one(number)
        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(one, range(requests)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=ROOT / "models/bundle")
    parser.add_argument("--rows", type=Path, default=None, help="a table of input rows (default: data/raw/credit.csv)")
    parser.add_argument("--requests", type=int, default=400)
    arguments = parser.parse_args()
    bundle = load_bundle(arguments.bundle)
    table = pd.read_csv(arguments.rows or ROOT / "data/raw/credit.csv")
    target = bundle.manifest["model"]["target"]
    table = table.dropna(subset=[name for name in bundle.input_columns if not bundle.contract.columns[name].nullable])
    rows = table.sample(n=1000, replace=len(table) < 1000, random_state=0).reset_index(drop=True)
    records = as_records(rows if target in rows else rows.assign(**{target: None}))
    frame = rows[bundle.input_columns].astype({name: "float64" for name in bundle.input_columns
                                               if bundle.contract.columns[name].type in ("integer", "float")})

    with tempfile.TemporaryDirectory() as folder:
        params = ROOT / "params.yaml"
        running = svc.start(arguments.bundle, svc.working_folder(Path(folder), params, log=str(Path(folder) / "log.sqlite")))
        try:
            floor_one = in_process(bundle, frame.head(1), 200)
            single = {concurrency: over_http(running.url, records, arguments.requests, concurrency) for concurrency in (1, 16)}
            floor_batch = in_process(bundle, frame, 10)
            batch_times, body = [], json.dumps(records).encode()  # encoded once: the client's cost is not the service's
            with httpx.Client(timeout=60) as client:
                for _ in range(11):
                    started = time.perf_counter()
                    client.post(f"{running.url}/predict/batch", content=body,
                                headers={"Content-Type": "application/json"}).raise_for_status()
                    batch_times.append(time.perf_counter() - started)
        finally:
            running.stop()

    milliseconds = lambda seconds: f"{seconds * 1000:8.2f}"  # noqa: E731
    print(f"model {bundle.version} ({bundle.manifest['model'].get('model_family')}), {os.cpu_count()} cores")
    print(f"{'measure':<38}{'service':>10}{'in-process':>12}")
    print(f"{'/predict p50 ms, concurrency 1':<38}{milliseconds(statistics.median(single[1])):>10}{milliseconds(statistics.median(floor_one)):>12}")
    print(f"{'/predict p99 ms, concurrency 1':<38}{milliseconds(percentile(single[1], 0.99)):>10}{milliseconds(percentile(floor_one, 0.99)):>12}")
    print(f"{'/predict p50 ms, concurrency 16':<38}{milliseconds(statistics.median(single[16])):>10}{'':>12}")
    print(f"{'/predict p99 ms, concurrency 16':<38}{milliseconds(percentile(single[16], 0.99)):>10}{'':>12}")
    served, floor = 1000 / statistics.median(batch_times[1:]), 1000 / statistics.median(floor_batch)
    print(f"{'/predict/batch rows/s, 1000 rows':<38}{served:>10.0f}{floor:>12.0f}")
    print(f"goals: p50 within 5 ms of the floor: {statistics.median(single[1]) - statistics.median(floor_one) <= 0.005}; "
          f"batch >= half the in-process rows/s: {served >= floor / 2}")


if __name__ == "__main__":
    main()
