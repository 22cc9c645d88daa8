"""What a shadow challenger costs the champion, and a model swap under load, on the real server.

    python benchmarks/shadow.py [--bundle DIR] [--requests 2000] [--out benchmarks/results.md]

(1) POST /predict, one row, one sequential client, --requests after a warm-up: p50 and p99
    without a shadow (the baseline), with the challenger in a thread, and in a process
    (TABULAR_MLOPS_SHADOW_RUNNER); each server in turn, twice, so a drift of the machine's
    speed shows as a difference between the rounds. The challenger is a copy of the bundle
    written again (other bytes, so another version; the same cost to score).
(2) A swap under load: 4 client threads send /predict for 6 s; at 2 s POST /admin/swap to the
    other version, at 4 s back. Answered and failed requests, and the versions seen.
--out replaces this benchmark's section of the file (or appends it).
"""
from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import httpx  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import write_section  # noqa: E402
from tabular_mlops.deployment.artifact import load_bundle  # noqa: E402
from tests import service as svc  # noqa: E402
from tests.test_service import as_records  # noqa: E402

HEADING = "## Shadow scoring and model swaps"
KEY = "benchmark-key"


def another_version(source: Path, destination: Path) -> Path:
    """The same model written again with compression: other bytes, so another version."""
    import hashlib
    import json
    import shutil

    import joblib

    shutil.copytree(source, destination)
    joblib.dump(joblib.load(destination / "model.joblib"), destination / "model.joblib", compress=3)
    manifest = json.loads((destination / "manifest.json").read_text())
    manifest["model_sha256"] = hashlib.sha256((destination / "model.joblib").read_bytes()).hexdigest()
    (destination / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return destination


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latencies(bundle: Path, folder: Path, records: list[dict], requests: int, *extra: str) -> list[float]:
    running = svc.start(bundle, folder, *extra, api_key=KEY)
    try:
        with httpx.Client(headers={"X-API-Key": KEY}, timeout=30) as client:
            if extra:  # until the challenger has loaded
                while client.get(f"{running.url}/version").json()["shadow"]["model_version"] is None:
                    time.sleep(0.1)
            for number in range(200):
                client.post(f"{running.url}/predict", json=records[number % len(records)]).raise_for_status()
            seconds = []
            for number in range(requests):
                started = time.perf_counter()
                client.post(f"{running.url}/predict", json=records[number % len(records)]).raise_for_status()
                seconds.append(time.perf_counter() - started)
    finally:
        running.stop()
    return seconds


def swap_under_load(bundle: Path, other: Path, folder: Path, records: list[dict]) -> dict:
    running = svc.start(bundle, folder, api_key=KEY)
    answered, failed, versions, stopping = [0], [0], set(), threading.Event()

    def send(offset: int) -> None:
        with httpx.Client(headers={"X-API-Key": KEY}, timeout=30) as client:
            number = offset
            while not stopping.is_set():
                try:
                    response = client.post(f"{running.url}/predict", json=records[number % len(records)])
                    if response.status_code == 200:
                        answered[0] += 1
                        versions.add(response.json()["model_version"])
                    else:
                        failed[0] += 1
                except httpx.HTTPError:
                    failed[0] += 1
                number += 1

    threads = [threading.Thread(target=send, args=(offset,)) for offset in range(4)]
    swaps = []
    try:
        for thread in threads:
            thread.start()
        for target in (other, bundle):
            time.sleep(2)
            started = time.perf_counter()
            response = httpx.post(f"{running.url}/admin/swap", json={"model": str(target)}, headers={"X-API-Key": KEY}, timeout=120)
            swaps.append((response.status_code, time.perf_counter() - started))
        time.sleep(2)
    finally:
        stopping.set()
        for thread in threads:
            thread.join()
        running.stop()
    return {"answered": answered[0], "failed": failed[0], "versions": len(versions), "swaps": swaps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=ROOT / "models/bundle")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    arguments = parser.parse_args()
    bundle = load_bundle(arguments.bundle)
    table = pd.read_csv(ROOT / "data/raw/credit.csv").dropna().head(200)
    records = as_records(table)
    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        challenger = another_version(arguments.bundle, scratch / "challenger")
        params = ROOT / "params.yaml"
        runs: dict[str, list[float]] = {"none": [], "thread": [], "process": []}
        rounds: dict[str, list[float]] = {name: [] for name in runs}
        for turn in range(2):
            for name in runs:
                folder = svc.working_folder(scratch / f"{name}-{turn}", params)
                extra = () if name == "none" else ("--shadow-model", str(challenger))
                os.environ["TABULAR_MLOPS_SHADOW_RUNNER"] = name if name != "none" else "process"
                seconds = latencies(arguments.bundle, folder, records, arguments.requests // 2, *extra)
                runs[name] += seconds
                rounds[name].append(statistics.median(seconds))
        os.environ.pop("TABULAR_MLOPS_SHADOW_RUNNER", None)
        swap = swap_under_load(arguments.bundle, challenger, svc.working_folder(scratch / "swap", params), records)
    base = statistics.median(runs["none"])
    labels = {"none": "no shadow (the baseline)", "thread": "a shadow challenger in a thread", "process": "a shadow challenger in a process (the default)"}
    lines = [HEADING, "",
             f"Measured {datetime.date.today()} on {os.cpu_count()} cores, Python {sys.version.split()[0]}; model {bundle.version} "
             f"({bundle.manifest['model'].get('model_family')}). Command: `python benchmarks/shadow.py {' '.join(sys.argv[1:])}`. "
             f"Load average at the start: {load_average:.2f}. POST /predict, one row, one sequential client on loopback, "
             f"{arguments.requests:,} requests per server after 200 of warm-up, in two rounds (each server in turn).", "",
             "| server | p50 ms | p99 ms | p50 against no shadow | p50 added, ms | p50 of each round, ms |", "|---|---:|---:|---:|---:|---:|"]
    for name, seconds in runs.items():
        p50 = statistics.median(seconds)
        lines.append(f"| {labels[name]} | {p50 * 1000:.2f} | {percentile(seconds, 0.99) * 1000:.2f} | {p50 / base:.2f} | "
                     f"{(p50 - base) * 1000:+.2f} | {', '.join(f'{value * 1000:.2f}' for value in rounds[name])} |")
    lines += ["", f"A swap under load (4 client threads for 6 s; POST /admin/swap to another version at 2 s, back at 4 s): "
                  f"{swap['answered']:,} requests answered, {swap['failed']} failed, {swap['versions']} versions seen; "
                  f"the swaps answered {', '.join(f'{status} in {seconds:.2f} s' for status, seconds in swap['swaps'])}.", ""]
    print("\n".join(lines))
    if arguments.out:
        write_section(arguments.out, HEADING, lines)


if __name__ == "__main__":
    main()
