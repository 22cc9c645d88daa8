"""`tabular-mlops serve`: verify the model bundle, then run the scoring service under uvicorn.

The bundle is verified here, before any worker starts, so a tampered or stale model stops the
command with one `error:` line (exit 2) instead of a server that never becomes ready. Each
worker then loads it again (its own process, its own verified copy). With --stage or --rev the
bundle is first fetched from the model registry (GTO tags, `dvc artifacts get`) and checked
against the dvc.lock committed with that version.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from tabular_mlops.errors import StageError
from tabular_mlops.serving.sources import default_lock  # noqa: F401 - where `serve` finds the lock; tests import it here


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults are None so that settings.resolve can tell a flag given from one left out.
    parser.add_argument("--model", metavar="DIR", help="the model bundle folder (default: models/bundle)")
    parser.add_argument("--stage", help="serve the registered version at this stage of the model registry, e.g. prod "
                                        "(SIGHUP serves the version it points at then)")
    parser.add_argument("--rev", metavar="VERSION", help="serve this registered version, e.g. v1.2.0")
    parser.add_argument("--shadow-model", metavar="DIR", help="a challenger bundle folder that scores every request "
                                                              "beside the model, logged, never answered")
    parser.add_argument("--shadow-stage", metavar="STAGE", help="the challenger: the registered version at this stage")
    parser.add_argument("--shadow-rev", metavar="VERSION", help="the challenger: this registered version")
    parser.add_argument("--lock", default=None,
                        help="the dvc.lock to check the bundle against, or 'none' (default: ./dvc.lock when the "
                             "bundle is inside the current folder and dvc.lock exists)")
    parser.add_argument("--host", help="the address to listen on; 0.0.0.0 for every interface (default: 127.0.0.1)")
    parser.add_argument("--port", help="(default: 8000)")
    parser.add_argument("--workers", help="server processes, each with its own copy of the model (default: 1)")
    parser.add_argument("--log", metavar="PATH", help="the prediction log, a SQLite file (default: logs/predictions.sqlite)")
    parser.add_argument("--max-body-bytes", metavar="N", help="larger request bodies are answered 413 (default: 1000000)")
    parser.add_argument("--max-rows", metavar="N", help="larger /predict/batch requests are answered 413 (default: 10000)")
    parser.add_argument("--runtime", choices=["auto", "scikit-learn"],
                        help="auto: the bundle's compiled model (ONNX) answers when it has one; scikit-learn: the pickled "
                             "pipeline always (default: auto)")
    parser.add_argument("--key-file", metavar="PATH",
                        help="the pseudonym key, made on first use when the contract has personal columns (default: logs/pseudonym.key)")


def run(arguments: argparse.Namespace) -> int:
    # Here, not at the top: `tabular-mlops --help` imports this module and stays quick.
    from tabular_mlops.deployment.artifact import load_bundle
    from tabular_mlops.deployment.settings import resolve, source_line
    from tabular_mlops.serving.app import Settings

    from tabular_mlops.serving.sources import Source

    registered = [flag for flag, value in (("--model", arguments.model), ("--stage", arguments.stage), ("--rev", arguments.rev)) if value]
    if len(registered) > 1:
        raise StageError(f"{' and '.join(registered)}: give one of --model, --stage or --rev")
    shadows = [flag for flag, value in (("--shadow-model", arguments.shadow_model), ("--shadow-stage", arguments.shadow_stage),
                                        ("--shadow-rev", arguments.shadow_rev)) if value]
    if len(shadows) > 1:
        raise StageError(f"{' and '.join(shadows)}: give one of --shadow-model, --shadow-stage or --shadow-rev")
    from_registry = arguments.stage or arguments.rev
    given, sources = resolve({name: getattr(arguments, name) for name in
                              ("model", "host", "port", "workers", "log", "max_body_bytes", "max_rows", "key_file", "runtime")})
    _refuse_busy_port(given["host"], given["port"])
    source, registry = None, None
    if from_registry:
        from tabular_mlops.registry.fetch import fetch

        fetched = fetch(".", stage=arguments.stage, version=arguments.rev)
        given["model"], lock, registry = str(fetched.directory), str(fetched.lock), fetched.describe()
        sources["model"] = "--stage" if arguments.stage else "--rev"
        source = Source(stage=arguments.stage, version=arguments.rev, repo=str(Path.cwd())).to_dict()
    else:
        lock = default_lock(given["model"], arguments.lock)
    bundle = load_bundle(given["model"], lock, given["runtime"])
    for warning in bundle.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if bundle.contract.personal:
        from tabular_mlops.privacy.pseudonyms import pseudonym_key

        pseudonym_key(given["key_file"])  # made (or refused) here, once, before any worker needs it
    settings = Settings(model=str(Path(given["model"]).resolve()), lock=None if lock is None else str(Path(lock).resolve()),
                        log=str(Path(given["log"]).resolve()), max_body_bytes=given["max_body_bytes"], max_rows=given["max_rows"],
                        key_file=str(Path(given["key_file"]).resolve()), source=source, shadow=_shadow(arguments),
                        workers=given["workers"], swap_file=_swap_file(given["workers"]), runtime=given["runtime"])
    settings.to_environment()
    if given["workers"] > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Set before any worker imports prometheus_client, so their samples go to shared files.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tabular-mlops-metrics-")
    print(source_line(sources), file=sys.stderr)
    origin = f"{registry['artifact']}@{registry['version']} ({given['model']})" if registry else given["model"]
    runtime = bundle.runtime
    print(f"serving model {bundle.version} from {origin} on http://{given['host']}:{given['port']} "
          f"(log: {given['log']}; {runtime['path']}{'' if runtime['reason'] is None else ': ' + runtime['reason']})", file=sys.stderr)
    del bundle  # each worker loads its own

    from tabular_mlops.serving import tcp

    tcp.run(given["host"], given["port"], given["workers"])
    return 0


def _shadow(arguments: argparse.Namespace) -> dict | None:
    """The challenger's source, checked here like the model (a tampered challenger stops serve, exit 2)."""
    from tabular_mlops.deployment.artifact import load_bundle
    from tabular_mlops.serving.sources import Source

    if arguments.shadow_model:
        folder = str(Path(arguments.shadow_model).resolve())
        lock = default_lock(arguments.shadow_model, arguments.lock)
        source = Source(model=folder, lock=None if lock is None else str(Path(lock).resolve()))
        load_bundle(source.model, source.lock)
        return source.to_dict()
    if arguments.shadow_stage or arguments.shadow_rev:
        from tabular_mlops.registry.fetch import fetch

        fetched = fetch(".", stage=arguments.shadow_stage, version=arguments.shadow_rev)
        load_bundle(fetched.directory, fetched.lock)
        return Source(stage=arguments.shadow_stage, version=arguments.shadow_rev, repo=str(Path.cwd())).to_dict()
    return None


def _swap_file(workers: int) -> str | None:
    """With several workers, the file through which a swap reaches all of them (a folder of this serve's own)."""
    return None if workers == 1 else str(Path(tempfile.mkdtemp(prefix="tabular-mlops-swap-")) / "swap.json")


def _refuse_busy_port(host: str, port: int) -> None:
    """uvicorn would log a traceback-free error but exit 1 after loading everything: check first."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as error:
            raise StageError(f"--host {host} --port {port}: cannot listen there ({error.strerror}); pick another --port") from None

