"""What `?explain=true` adds to a /predict request, per model family.

    python benchmarks/explain_latency.py --repo DIR [--requests 50] [--families logistic_regression ...]

DIR is a reproduced repository (tests' `small_repo`, or this checkout after `dvc repro`). For
each family, its pipeline (params.yaml's settings) is fitted on DIR's training split and put in
a copy of DIR's bundle (manifest sha256 updated), served by a real `tabular-mlops serve`; then
plain and explained requests with the same test row take turns, so both see the same load,
and their p50s are printed with the difference.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import httpx  # noqa: E402
import joblib  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tabular_mlops.config.params import load_params  # noqa: E402
from tabular_mlops.data.contract import read_contract  # noqa: E402
from tabular_mlops.data.dataset import split_inputs_target  # noqa: E402
from tabular_mlops.files import sha256_of  # noqa: E402
from tabular_mlops.models.pipeline import family_pipeline  # noqa: E402
from tests import service as svc  # noqa: E402
from tests.test_service import as_records  # noqa: E402

FAMILIES = ("logistic_regression", "random_forest", "hist_gradient_boosting", "mlp", "linear_svm")


def family_bundle(repo: Path, family: str, folder: Path) -> Path:
    params = load_params(repo / "params.yaml")
    contract = read_contract(repo / params.data.contract)
    bundle = folder / family
    shutil.copytree(repo / "models/bundle", bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    inputs, target = split_inputs_target(pd.read_parquet(repo / "data/prepared/train.parquet"), params.data)
    model = family_pipeline(params, contract, family).fit(inputs[manifest["model"]["input_columns"]], target)
    joblib.dump(model, bundle / "model.joblib")
    manifest.update(model_sha256=sha256_of(bundle / "model.joblib"))
    manifest["model"]["model_family"] = family
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    return bundle


def measure(url: str, record: dict, requests: int) -> tuple[float, float, str]:
    times: dict[bool, list[float]] = {False: [], True: []}
    with httpx.Client() as client:
        for _ in range(5):  # warm the connection
            client.post(f"{url}/predict?explain=true", json=record)
        for _ in range(requests):
            for explain in (False, True):
                start = time.perf_counter()
                response = client.post(f"{url}/predict", params={"explain": "true"} if explain else {}, json=record)
                times[explain].append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
        space = response.json()["explanation"]["output_space"]
    return statistics.median(times[False]) * 1000, statistics.median(times[True]) * 1000, space


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    arguments = parser.parse_args()
    repo = arguments.repo.resolve()
    test = pd.read_parquet(repo / "data/prepared/test.parquet").head(1).reset_index(drop=True)
    record = as_records(test.drop(columns=[c for c in ("Status",) if c not in test]))[0]
    print(f"{'family':<24} {'space':<12} {'plain p50 ms':>12} {'explained p50 ms':>17} {'added ms':>9}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for family in arguments.families:
            bundle = family_bundle(repo, family, folder)
            work = svc.working_folder(folder / f"{family}-serve", repo / "params.yaml")
            running = svc.start(bundle, work, "--lock", "none", timeout=120)
            try:
                plain, explained, space = measure(running.url, record, arguments.requests)
            finally:
                running.stop()
            print(f"{family:<24} {space:<12} {plain:>12.2f} {explained:>17.2f} {explained - plain:>9.2f}")


if __name__ == "__main__":
    main()
