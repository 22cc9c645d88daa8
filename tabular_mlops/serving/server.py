"""`tabular-mlops serve`: verify the model bundle, then run the scoring service under uvicorn.

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults are None so that settings.resolve can tell a flag given from one left out.
    parser.add_argument("--model", metavar="DIR", help="the model bundle folder (default: models/bundle)")
    parser.add_argument("--lock", default=None,
                        help="the dvc.lock to check the bundle against, or 'none' (default: ./dvc.lock when the "
                             "bundle is inside the current folder and dvc.lock exists)")
    parser.add_argument("--host", help="the address to listen on; 0.0.0.0 for every interface (default: 127.0.0.1)")
    parser.add_argument("--port", help="(default: 8000)")
    parser.add_argument("--workers", help="server processes, each with its own copy of the model (default: 1)")
    parser.add_argument("--log", metavar="PATH", help="the prediction log, a SQLite file (default: logs/predictions.sqlite)")
    parser.add_argument("--max-body-bytes", metavar="N", help="larger request bodies are answered 413 (default: 1000000)")
    parser.add_argument("--max-rows", metavar="N", help="larger /predict/batch requests are answered 413 (default: 10000)")
    parser.add_argument("--key-file", metavar="PATH",
                        help="the pseudonym key, made on first use when the contract has personal columns (default: logs/pseudonym.key)")


def run(arguments: argparse.Namespace) -> int:
    # Here, not at the top: `tabular-mlops --help` imports this module and stays quick.
    from tabular_mlops.deployment.artifact import load_bundle
    from tabular_mlops.serving.app import Settings
    from tabular_mlops.serving.settings import resolve, source_line

    given, sources = resolve({name: getattr(arguments, name) for name in
                              ("model", "host", "port", "workers", "log", "max_body_bytes", "max_rows", "key_file")})
    _refuse_busy_port(given["host"], given["port"])
    lock = default_lock(given["model"], arguments.lock)
    bundle = load_bundle(given["model"], lock)
    for warning in bundle.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if bundle.contract.personal:
        from tabular_mlops.privacy.pseudonyms import pseudonym_key

        pseudonym_key(given["key_file"])  # made (or refused) here, once, before any worker needs it
    settings = Settings(model=str(Path(given["model"]).resolve()), lock=None if lock is None else str(Path(lock).resolve()),
                        log=str(Path(given["log"]).resolve()), max_body_bytes=given["max_body_bytes"], max_rows=given["max_rows"],
                        key_file=str(Path(given["key_file"]).resolve()))
    settings.to_environment()
    if given["workers"] > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Set before any worker imports prometheus_client, so their samples go to shared files.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tabular-mlops-metrics-")
    print(source_line(sources), file=sys.stderr)
    print(f"serving model {bundle.version} from {given['model']} on http://{given['host']}:{given['port']} "
          f"(log: {given['log']})", file=sys.stderr)
    del bundle  # each worker loads its own

    import uvicorn

    uvicorn.run("tabular_mlops.serving.app:create_app", factory=True, host=given["host"], port=given["port"],
                workers=given["workers"], timeout_graceful_shutdown=30, log_level="warning")
    return 0


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
