"""Run `tabular-mlops serve` as a real uvicorn process on a free loopback port, for the tests and the benchmark."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
# uvicorn finishes the requests in flight on SIGTERM, then re-raises the signal: -15 is a clean stop.
STOPPED = (0, -15)
# The two paths a request can take, as /version's runtime names them: the bundle's compiled model
# (what `serve` runs by default, --runtime auto, when the bundle has one) or the pickled pipeline.
RUNTIMES = ("onnxruntime", "scikit-learn")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Service:
    process: subprocess.Popen
    url: str
    folder: Path  # the server's working directory: its params.yaml, logs/ and serve.err

    @property
    def errors(self) -> str:
        return (self.folder / "serve.err").read_text()

    @property
    def log(self) -> Path:
        return self.folder / "logs/predictions.sqlite"

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def serve_command(bundle: Path | None, port: int, *extra: str) -> list[str]:
    """None: no --model (e.g. `--stage prod` in `extra`)."""
    return [sys.executable, "-m", "tabular_mlops", "serve", *(["--model", str(bundle)] if bundle else []), "--port", str(port), *extra]


def runtime_arguments(path: str) -> tuple[str, ...]:
    """The flags that put `serve` or `score` on `path` (one of RUNTIMES): none for the default."""
    return () if path == "onnxruntime" else ("--runtime", path)


def environment(api_key: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("TABULAR_MLOPS_API_KEY", "PROMETHEUS_MULTIPROC_DIR", "TABULAR_MLOPS_RUNTIME")}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    if api_key is not None:
        env["TABULAR_MLOPS_API_KEY"] = api_key
    return env


def working_folder(folder: Path, params: Path, **serve: object) -> Path:
    """A folder with a copy of `params` whose `serve` section is updated with `serve`."""
    folder.mkdir(parents=True, exist_ok=True)
    loaded = yaml.safe_load(params.read_text())
    loaded["serve"].update(serve)
    (folder / "params.yaml").write_text(yaml.safe_dump(loaded, sort_keys=False))
    return folder


def start(bundle: Path | None, folder: Path, *extra: str, api_key: str | None = None, timeout: float = 60) -> Service:
    """Start the server in `folder` and wait until /ready answers 200 (with --workers, 20 times
    in a row on new connections: each worker loads the model on its own)."""
    port = free_port()
    # To a file, not a pipe: nobody reads a pipe while the tests run, and a full one blocks the server.
    with open(folder / "serve.err", "w") as errors:
        process = subprocess.Popen(serve_command(bundle, port, *extra), cwd=folder, env=environment(api_key),
                                   stdout=subprocess.DEVNULL, stderr=errors)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    headers = {"X-API-Key": api_key} if api_key else {}
    needed, in_a_row = (20 if "--workers" in extra else 1), 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}: {(folder / 'serve.err').read_text()}")
        try:
            in_a_row = in_a_row + 1 if httpx.get(f"{url}/ready", headers=headers, timeout=1).status_code == 200 else 0
            if in_a_row == needed:
                return Service(process, url, folder)
        except httpx.TransportError:
            in_a_row = 0
        time.sleep(0.1 if in_a_row == 0 else 0.01)
    process.kill()
    raise RuntimeError(f"serve did not become ready within {timeout} s")


class Services:
    """A module's servers, one per path (RUNTIMES), each started when a test first asks for it
    (`services("scikit-learn")`) and all stopped by `stop` at the end of the module."""

    def __init__(self, bundle: Path, folder, *extra: str) -> None:
        self.bundle, self.folder, self.extra = bundle, folder, extra  # folder(path): the server's working folder
        self.running: dict[str, Service] = {}

    def __call__(self, path: str) -> Service:
        if path not in self.running:
            self.running[path] = start(self.bundle, self.folder(path), *self.extra, *runtime_arguments(path))
        return self.running[path]

    def stop(self) -> None:
        for path, running in self.running.items():
            assert running.stop() in STOPPED, (path, running.errors)
            assert "Traceback" not in running.errors, (path, running.errors)


def answering_runtime(service: Service) -> dict:
    """/version's runtime: {"path": "onnxruntime" | "scikit-learn", "reason": ...}."""
    return httpx.get(f"{service.url}/version", timeout=10).json()["runtime"]


def answers_on(path: str, bundle: Path, params: Path, folder: Path, records: list[dict]) -> tuple[dict, list[dict]]:
    """Serve `bundle` on `path` (one of RUNTIMES), check /version says that path answered, and
    return the answer to `records[0]` alone and the answers to all of them in one batch."""
    running = start(bundle, working_folder(folder, params), *runtime_arguments(path))
    try:
        assert answering_runtime(running) == ({"path": "onnxruntime", "reason": None} if path == "onnxruntime" else
                                              {"path": "scikit-learn", "reason": "the service was started with --runtime scikit-learn"})
        one = httpx.post(f"{running.url}/predict", json=records[0])
        batch = httpx.post(f"{running.url}/predict/batch", json=records)
        assert one.status_code == batch.status_code == 200, one.text + batch.text
    finally:
        assert running.stop() in STOPPED, running.errors
    return one.json(), batch.json()["predictions"]


def json_records(rows: pd.DataFrame, bundle: Path) -> list[dict]:
    """The bundle's input columns of `rows` as a client sends them in JSON, by the bundle's
    contract: whole numbers for integer columns, ISO 8601 for dates, null for missing values."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    types = {name: column["type"] for name, column in manifest["contract"]["columns"].items()}
    convert = {"integer": int, "float": float, "datetime": lambda value: value.isoformat()}
    return [{key: None if pd.isna(value) else convert.get(types[key], str)(value) for key, value in row.items()}
            for row in rows[manifest["model"]["input_columns"]].to_dict("records")]


def variant_bundle(source: Path, destination: Path, coefficient_scale: float = 0.5, extra_feature: bool = False) -> Path:
    """A copy of the bundle at `source` whose linear model's coefficients are scaled (another model,
    the same contract), with a manifest naming its sha256 and its model compiled again (so that
    both paths answer with the new coefficients): a second bundle in a second. Not the model any
    dvc.lock records: serve it with `--lock none` (or from outside the project).
    `extra_feature`: a coefficient too many, so every prediction raises (a broken challenger, not compiled)."""
    import hashlib
    import shutil

    import joblib
    import numpy as np

    from tabular_mlops.compiled.compile import compiled_for_bundle
    from tabular_mlops.deployment.bundle import COMPILED_FILE, compiled_section

    shutil.copytree(source, destination)
    model = joblib.load(destination / "model.joblib")
    estimator = model.steps[-1][1]
    estimator.coef_ = estimator.coef_ * coefficient_scale
    if extra_feature:
        estimator.coef_ = np.hstack([estimator.coef_, np.ones((estimator.coef_.shape[0], 1))])
    joblib.dump(model, destination / "model.joblib")
    manifest = json.loads((destination / "manifest.json").read_text())
    manifest["model_sha256"] = hashlib.sha256((destination / "model.joblib").read_bytes()).hexdigest()
    (destination / COMPILED_FILE).unlink(missing_ok=True)  # the old coefficients: never served under the new version
    compiled, checked = None, {"file": None, "reason": "a broken challenger made by tests/service.py"}
    if not extra_feature and (manifest.get("compiled") or {}).get("file"):
        # verified as the bundle stage verifies it, on the bundle's background rows (training rows)
        problem = "multiclass" if manifest["model"].get("classes") else manifest["model"]["task"]
        background = pd.read_parquet(destination / manifest["background"]["file"])
        compiled, checked = compiled_for_bundle(model, problem, background, manifest.get("threshold"), manifest["model_sha256"])
        assert compiled is not None, checked
        (destination / COMPILED_FILE).write_bytes(compiled)
    manifest["compiled"] = compiled_section(compiled, checked)
    (destination / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return destination


def tamper(bundle: Path) -> Path:
    """Change one byte of the bundle's model file (its manifest still names the old sha256)."""
    path = bundle / "model.joblib"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return bundle
