"""`tabular-mlops score INPUT --output OUTPUT`: a CSV or Parquet file of any size, a chunk at a time, into the scored-table format.

Every row is checked against the bundle's data contract with validate's rules: rows that break
one go to the rejects file with the rules they break, the others are scored into OUTPUT (what
each file holds: deployment/batch.py). Rejects alone are no failure; more than
--max-reject-rate of them is a verdict (exit 1, after writing everything).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tabular_mlops.errors import StageError, Verdict

COMPILED_THREADS = 1  # the compiled model's threads for a batch: one, as reading and writing run beside it on the other core (benchmarks/scoring.py)

# Kept apart from batch.py, which imports pandas and scikit-learn: `tabular-mlops --help` stays quick.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT", help="the rows to score: a .csv or .parquet file")
    parser.add_argument("--output", metavar="OUTPUT", help="where the scored rows go: .csv or .parquet (required)")
    # The output's old place, a second positional: still accepted, with a notice.
    parser.add_argument("old_output", nargs="?", metavar="OLD_OUTPUT", help=argparse.SUPPRESS)
    parser.add_argument("--model", metavar="DIR", default="models/bundle", help="the model bundle folder (default: models/bundle)")
    parser.add_argument("--rejects", metavar="PATH", help="where the rejected rows go, with their reasons (default: OUTPUT with the suffix .rejects.csv)")
    parser.add_argument("--chunk-rows", metavar="N", type=_positive, default=50_000, help="rows read, checked and scored at a time (default: 50000)")
    parser.add_argument("--max-reject-rate", metavar="RATE", type=_rate, default=1.0,
                        help="exit 1, after writing everything, when more than this share of the rows is rejected (default: 1.0)")
    parser.add_argument("--engine", choices=["pandas", "dask"], default="pandas",
                        help="dask: score the chunks on a Dask cluster, with the same results (default: pandas)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="with --engine dask: a running scheduler, e.g. tcp://10.0.0.5:8786 (default: a LocalCluster)")
    parser.add_argument("--explain", action="store_true",
                        help="add each row's explanation: output space, base value, contribution:<column>, reason_codes (refusals)")
    parser.add_argument("--runtime", choices=["auto", "scikit-learn"],
                        help="auto: the bundle's compiled model (ONNX) scores when it has one; scikit-learn: the pickled "
                             "pipeline always (default: auto, or TABULAR_MLOPS_RUNTIME)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (there is none when stderr is not a terminal)")


def run(arguments: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from tabular_mlops.config.params import EngineParams
    from tabular_mlops.deployment.artifact import load_bundle
    from tabular_mlops.deployment.batch import score_file
    from tabular_mlops.deployment.settings import resolve
    from tabular_mlops.engine.cluster import engine_client

    try:
        engine = EngineParams(name=arguments.engine, scheduler=arguments.scheduler)
    except ValidationError as error:
        raise StageError(f"--scheduler: {error.errors()[0]['msg'].removeprefix('Value error, ')}") from None

    output = Path(_output(arguments))
    settings = resolve({"runtime": arguments.runtime}, ("key_file", "runtime"))[0]
    key_file = settings["key_file"]  # the service's, so the pseudonyms match its log's
    rejects = Path(arguments.rejects) if arguments.rejects else output.with_suffix(".rejects.csv")
    bundle = load_bundle(arguments.model, runtime=settings["runtime"], threads=COMPILED_THREADS)
    for warning in bundle.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    with engine_client(engine) as client:
        counts = score_file(bundle, arguments.input, output, rejects, arguments.chunk_rows,
                            progress=not arguments.quiet and sys.stderr.isatty(), client=client, key_file=key_file,
                            explain=arguments.explain)
    print(counts.line())
    if counts.reject_rate > arguments.max_reject_rate:
        raise Verdict(f"{arguments.input}: {counts.rejected} of {counts.read} rows rejected ({counts.reject_rate:.1%}), "
                      f"more than --max-reject-rate {arguments.max_reject_rate:g}; their reasons are in {rejects}")
    return 0


def _output(arguments: argparse.Namespace) -> str:
    if arguments.old_output is not None:
        if arguments.output is not None:
            raise StageError(f"give the output once: --output {arguments.output} or {arguments.old_output}, not both")
        print("warning: the output is now --output OUTPUT (score INPUT --output OUTPUT); the second positional will be removed",
              file=sys.stderr)
        return arguments.old_output
    if arguments.output is None:
        raise StageError("--output is required: where the scored rows go, a .csv or .parquet file")
    return arguments.output


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
