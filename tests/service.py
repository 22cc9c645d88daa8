"""Run `tabular-mlops serve` as a real uvicorn process on a free loopback port, for the tests and the benchmark."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
# uvicorn finishes the requests in flight on SIGTERM, then re-raises the signal: -15 is a clean stop.
STOPPED = (0, -15)


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


def serve_command(bundle: Path, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tabular_mlops", "serve", "--model", str(bundle), "--port", str(port), *extra]


def environment(api_key: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("TABULAR_MLOPS_API_KEY", "PROMETHEUS_MULTIPROC_DIR")}
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


def start(bundle: Path, folder: Path, *extra: str, api_key: str | None = None, timeout: float = 60) -> Service:
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
