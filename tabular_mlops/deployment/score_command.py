"""`tabular-mlops score`: a CSV or Parquet file of any size, a chunk at a time, into the scored-table format.

    tabular-mlops score INPUT OUTPUT [--model models/bundle] [--rejects PATH] [--chunk-rows 50000] [--explain] [--engine dask [--scheduler ADDRESS]]

Every row is checked against the bundle's data contract with validate's rules: rows that break
one go to the rejects file with the rules they break, the others are scored into OUTPUT (what
each file holds: tabular_mlops/deployment/batch.py, and the README's "Batch scoring"). --explain adds each
row's SHAP explanation: the output space, the base value, a `contribution:<column>` per input column and,
for a refusal, its reason codes (tabular_mlops/deployment/explain.py).
Exits 0 with rejects (they are counted), 2 when more than --max-reject-rate of the rows were
rejected (after writing everything) or on an error. Personal columns are written as keyed
pseudonyms (the key: serve.key_file in params.yaml, or $TABULAR_MLOPS_PSEUDONYM_KEY).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tabular_mlops.errors import StageError

# Kept apart from batch.py, which imports pandas and scikit-learn: `tabular-mlops --help` stays quick.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT", help="the rows to score: a .csv or .parquet file")
    parser.add_argument("output", metavar="OUTPUT", help="where the scored rows go: .csv or .parquet")
    parser.add_argument("--model", default="models/bundle", help="the model bundle folder (default: models/bundle)")
    parser.add_argument("--rejects", help="where the rejected rows go, with their reasons (default: OUTPUT with the suffix .rejects.csv)")
    parser.add_argument("--chunk-rows", type=_positive, default=50_000, help="rows read, checked and scored at a time (default: 50000)")
    parser.add_argument("--max-reject-rate", type=_rate, default=1.0,
                        help="exit 2, after writing everything, when more than this share of the rows is rejected (default: 1.0)")
    parser.add_argument("--engine", choices=["pandas", "dask"], default="pandas",
                        help="dask: score the chunks on a Dask cluster, with the same results (default: pandas)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="with --engine dask: a running scheduler, e.g. tcp://10.0.0.5:8786 (default: a LocalCluster)")
    parser.add_argument("--explain", action="store_true",
                        help="add each row's explanation: output space, base value, contribution:<column>, reason_codes (refusals)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (there is none when stderr is not a terminal)")


def run(arguments: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from tabular_mlops.config.params import EngineParams
    from tabular_mlops.deployment.artifact import load_bundle
    from tabular_mlops.deployment.batch import score_file
    from tabular_mlops.engine.cluster import engine_client
    from tabular_mlops.serving.server import serve_params

    try:
        engine = EngineParams(name=arguments.engine, scheduler=arguments.scheduler)
    except ValidationError as error:
        raise StageError(f"--scheduler: {error.errors()[0]['msg'].removeprefix('Value error, ')}") from None

    output = Path(arguments.output)
    rejects = Path(arguments.rejects) if arguments.rejects else output.with_suffix(".rejects.csv")
    bundle = load_bundle(arguments.model)
    for warning in bundle.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    with engine_client(engine) as client:
        counts = score_file(bundle, arguments.input, output, rejects, arguments.chunk_rows,
                            progress=not arguments.quiet and sys.stderr.isatty(), client=client, key_file=serve_params().key_file,
                            explain=arguments.explain)
    print(counts.line())
    if counts.reject_rate > arguments.max_reject_rate:
        raise StageError(f"{arguments.input}: {counts.rejected} of {counts.read} rows rejected ({counts.reject_rate:.1%}), "
                         f"more than --max-reject-rate {arguments.max_reject_rate:g}; their reasons are in {rejects}")
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1; got {text!r}")
    return int(text)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1; got {text!r}")
    return value
