"""`tabular-mlops serve`: check the bundle, then hand the app factory to uvicorn.

The bundle is verified here, before any worker starts, so a tampered or stale model stops the
command with one `error:` line (exit 2) instead of a server that never becomes ready. Each
worker then loads it again (its own process, its own verified copy).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from tabular_mlops.errors import StageError

DEFAULT_MODEL = "models/bundle"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL, help="the bundle folder (default: %(default)s)")
    parser.add_argument("--lock", default=None,
                        help="dvc.lock to check the bundle is not stale, or 'none' (default: ./dvc.lock when the "
                             "bundle is inside the current folder and dvc.lock exists)")
    parser.add_argument("--host", default="127.0.0.1", help="(default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="(default: %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default: %(default)s)")


def run(arguments: argparse.Namespace) -> int:
    # Here, not at the top: `tabular-mlops --help` imports this module and stays quick.
    from tabular_mlops.deployment.artifact import load_bundle
    from tabular_mlops.serving.app import Settings

    if arguments.workers < 1:
        raise StageError(f"--workers must be at least 1; got {arguments.workers}")
    serve = serve_params()
    _refuse_busy_port(arguments.host, arguments.port)
    lock = default_lock(arguments.model, arguments.lock)
    bundle = load_bundle(arguments.model, lock)
    for warning in bundle.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if bundle.contract.personal:
        from tabular_mlops.privacy.pseudonyms import pseudonym_key

        pseudonym_key(serve.key_file)  # made (or refused) here, once, before any worker needs it
    settings = Settings(model=str(Path(arguments.model).resolve()), lock=None if lock is None else str(Path(lock).resolve()),
                        log=str(Path(serve.log).resolve()), max_body_bytes=serve.max_body_bytes, max_rows=serve.max_rows,
                        key_file=str(Path(serve.key_file).resolve()))
    settings.to_environment()
    if arguments.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Set before any worker imports prometheus_client, so their samples go to shared files.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tabular-mlops-metrics-")
    print(f"serving model {bundle.version} from {arguments.model} on http://{arguments.host}:{arguments.port} "
          f"(log: {serve.log})", file=sys.stderr)
    del bundle  # each worker loads its own

    import uvicorn

    uvicorn.run("tabular_mlops.serving.app:create_app", factory=True, host=arguments.host, port=arguments.port,
                workers=arguments.workers, timeout_graceful_shutdown=30, log_level="warning")
    return 0


def serve_params():
    """params.yaml's `serve` section (the whole file validated); its defaults outside a project."""
    from tabular_mlops.config.params import PARAMS_FILE, ServeParams, load_params

    if Path(PARAMS_FILE).exists():
        return load_params().serve
    return ServeParams(log="logs/predictions.sqlite", max_body_bytes=1_000_000, max_rows=10_000)


def _refuse_busy_port(host: str, port: int) -> None:
    """uvicorn would log a traceback-free error but exit 1 after loading everything: check first."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as error:
            raise StageError(f"--host {host} --port {port}: cannot listen there ({error.strerror}); pick another --port") from None


def default_lock(model: str, lock: str | None) -> str | None:
    if lock is not None:
        return None if lock == "none" else lock
    inside = Path(model).resolve().is_relative_to(Path.cwd().resolve())
    return "dvc.lock" if inside and Path("dvc.lock").is_file() else None
