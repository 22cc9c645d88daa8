"""Swapping the served model without downtime: `POST /admin/swap` and SIGHUP against the real
service, on conftest's `small_repo` bundle, a second bundle made from it, and real GTO tags."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tabular_mlops.deployment.artifact import load_bundle
from tests import service as svc
from tests.dvc_repo import commit, committed_variant, environment
from tests.test_service import as_records

pytestmark = pytest.mark.slow
KEY = "swap-test-key"
HEADERS = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def records(small_repo: Path) -> list[dict]:
    return as_records(pd.read_parquet(small_repo / "data/prepared/test.parquet").head(20).reset_index(drop=True))


@pytest.fixture(scope="module")
def second(small_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return svc.variant_bundle(small_repo / "models/bundle", tmp_path_factory.mktemp("second") / "bundle")


class Load:
    """Client threads sending /predict until stopped: (when each request was sent, the version that
    answered it), and every failure."""

    def __init__(self, url: str, records: list[dict], threads: int = 4) -> None:
        self.url, self.records, self.stopping = url, records, threading.Event()
        self.versions: list[tuple[float, str]] = []
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._send, args=(number,)) for number in range(threads)]

    def _send(self, number: int) -> None:
        with httpx.Client(headers=HEADERS, timeout=30) as client:
            sent = number
            while not self.stopping.is_set():
                try:
                    sent_at = time.monotonic()  # when the request left: one sent after a swap's answer meets the new model
                    response = client.post(f"{self.url}/predict", json=self.records[sent % len(self.records)])
                    if response.status_code == 200:
                        self.versions.append((sent_at, response.json()["model_version"]))
                    else:
                        self.failures.append(f"{response.status_code} {response.text}")
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                sent += 1

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(0.5)
        self.stopping.set()
        for thread in self.threads:
            thread.join()


def swap(service: svc.Service, body: dict, key: str | None = KEY) -> httpx.Response:
    return httpx.post(f"{service.url}/admin/swap", json=body, headers={"X-API-Key": key} if key else {}, timeout=120)


def test_a_swap_under_load_fails_no_request_and_a_tampered_bundle_is_refused(
        small_repo: Path, second: Path, records: list[dict], tmp_path: Path) -> None:
    old, new = load_bundle(small_repo / "models/bundle").version, load_bundle(second).version
    tampered = svc.tamper(svc.variant_bundle(small_repo / "models/bundle", tmp_path / "tampered", coefficient_scale=0.25))
    service = svc.start(small_repo / "models/bundle", svc.working_folder(tmp_path / "work", small_repo / "params.yaml"), api_key=KEY)
    try:
        with Load(service.url, records) as load:
            answered = swap(service, {"model": str(second)})
            swapped_at = time.monotonic()
        assert answered.status_code == 200, answered.text
        assert answered.json() == {"model_version": new, "previous_model_version": old, "registry": None}
        assert load.failures == [] and len(load.versions) > 50
        assert {version for _, version in load.versions} == {old, new}
        assert all(version == new for sent_at, version in load.versions if sent_at > swapped_at)  # sent after the answer
        assert httpx.get(f"{service.url}/version", headers=HEADERS).json()["model_version"] == new

        with Load(service.url, records) as load:
            refused = swap(service, {"model": str(tampered)})
        assert refused.status_code == 422 and list(refused.json()) == ["errors"]
        error = refused.json()["errors"][0]
        assert error["field"] == "model" and error["rule"].startswith(f"the model was not swapped, {new} keeps serving:")
        assert "does not match" in error["rule"]
        assert load.failures == [] and {version for _, version in load.versions} == {new}
    finally:
        assert service.stop() in svc.STOPPED, service.errors
    refusals = [line for line in service.errors.splitlines() if "refused" in line]
    assert len(refusals) == 1 and "sha256" in refusals[0] and "Traceback" not in service.errors
    logged = sqlite3_models(service.log)
    assert {old, new} <= logged


def sqlite3_models(log: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(log) as connection:
        return {row[0] for row in connection.execute("SELECT model_version FROM models")}


def test_sighup_reloads_the_folder_serve_was_started_with(small_repo: Path, second: Path, records: list[dict], tmp_path: Path) -> None:
    folder = tmp_path / "served"
    shutil.copytree(small_repo / "models/bundle", folder)
    old, new = load_bundle(folder).version, load_bundle(second).version
    service = svc.start(folder, svc.working_folder(tmp_path / "work", small_repo / "params.yaml"))
    try:
        for name in ("model.joblib", "model.onnx", "manifest.json"):  # the manifest names both files' sha256
            shutil.copy(second / name, folder / name)
        with Load(service.url, records, threads=2) as load:
            service.process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 30
            while httpx.get(f"{service.url}/ready").json()["model_version"] != new:
                assert time.monotonic() < deadline and service.process.poll() is None, service.errors
                time.sleep(0.05)
        assert load.failures == [] and {version for _, version in load.versions} <= {old, new}
    finally:
        assert service.stop() in svc.STOPPED, service.errors


def test_a_swap_reaches_every_worker(small_repo: Path, second: Path, records: list[dict], tmp_path: Path) -> None:
    new = load_bundle(second).version
    service = svc.start(small_repo / "models/bundle", svc.working_folder(tmp_path / "work", small_repo / "params.yaml"),
                        "--workers", "2", api_key=KEY)
    try:
        with Load(service.url, records, threads=2) as load:
            assert swap(service, {"model": str(second)}).status_code == 200
            time.sleep(3)  # the other worker polls the swap file about once a second
        assert load.failures == []
        # New connections land on either worker: all answer with the new model.
        seen = {httpx.post(f"{service.url}/predict", json=records[0], headers=HEADERS).json()["model_version"] for _ in range(40)}
        assert seen == {new}
    finally:
        assert service.stop() in svc.STOPPED, service.errors


def test_the_admin_endpoint_needs_a_configured_key(small_repo: Path, second: Path, tmp_path: Path) -> None:
    without_key = svc.start(small_repo / "models/bundle", svc.working_folder(tmp_path / "open", small_repo / "params.yaml"))
    try:
        refused = swap(without_key, {"model": str(second)}, key=None)
        assert refused.status_code == 403 and "TABULAR_MLOPS_API_KEY" in refused.json()["errors"][0]["rule"]
    finally:
        assert without_key.stop() in svc.STOPPED
    with_key = svc.start(small_repo / "models/bundle", svc.working_folder(tmp_path / "keyed", small_repo / "params.yaml"), api_key=KEY)
    try:
        assert swap(with_key, {"model": str(second)}, key="wrong").status_code == 401
        assert swap(with_key, {"model": str(second)}, key=None).status_code == 401
        bad = swap(with_key, {"model": str(second), "stage": "prod"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["rule"].startswith("the body must be a JSON object with one of")
    finally:
        assert with_key.stop() in svc.STOPPED


def gto(repo: Path, *arguments: str) -> None:
    completed = subprocess.run([str(Path(sys.executable).parent / "gto"), *arguments], cwd=repo, env=environment(),
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_serve_a_stage_and_swap_when_the_stage_moves(small_repo: Path, records: list[dict], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(small_repo, repo, symlinks=True)
    commit(repo, "the reproduced run")
    gto(repo, "register", "credit-model", "--version", "v1.0.0")
    gto(repo, "assign", "credit-model", "--version", "v1.0.0", "--stage", "prod")
    first = load_bundle(repo / "models/bundle").version
    committed_variant(repo, tmp_path / "next", lambda params: params["train"]["logistic_regression"].update(C=0.01), "C = 0.01")
    repo = tmp_path / "next"
    gto(repo, "register", "credit-model", "--version", "v1.1.0")
    following = load_bundle(repo / "models/bundle").version
    assert following != first

    service = svc.start(None, repo, "--stage", "prod", api_key=KEY, timeout=120)
    try:
        version = httpx.get(f"{service.url}/version", headers=HEADERS).json()
        assert version["model_version"] == first
        assert version["registry"] == {"artifact": "credit-model", "version": "v1.0.0", "stage": "prod",
                                       "commit": version["registry"]["commit"]} and len(version["registry"]["commit"]) == 40
        gto(repo, "assign", "credit-model", "--version", "v1.1.0", "--stage", "prod")
        with Load(service.url, records, threads=2) as load:
            answered = swap(service, {"stage": "prod"})
        assert answered.status_code == 200, answered.text
        assert answered.json()["model_version"] == following and answered.json()["registry"]["version"] == "v1.1.0"
        assert load.failures == [] and {version for _, version in load.versions} <= {first, following}
        assert httpx.get(f"{service.url}/version", headers=HEADERS).json()["registry"]["version"] == "v1.1.0"
    finally:
        assert service.stop() in svc.STOPPED, service.errors
