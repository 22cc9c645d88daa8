"""`tabular-mlops`: the commands around the pipeline that are not DVC stages.

    tabular-mlops contract [--force]      draft data/contract.yaml from the table in params.yaml
    tabular-mlops sweep -S KEY=V1,V2 ...  queue and run a grid of DVC experiments, rank them
    tabular-mlops review --base REV       compare the pipeline's results with a git revision
    tabular-mlops serve [--model DIR]     serve a model bundle over HTTP (FastAPI, uvicorn)
    tabular-mlops score INPUT OUTPUT      score a CSV or Parquet file with the model bundle, in chunks
    tabular-mlops erase --key VALUE       remove a person's records from the prediction log
    tabular-mlops demo-drift [--url URL]  score a shifted and an unshifted batch through the service, monitor both
    tabular-mlops stage-server status|stop  the warm interpreters that `dvc repro` runs stages in
    tabular-mlops synth --rows N --out PATH  write a credit-like table of N rows drawn from the bundled one

Each subcommand has --help. Expected failures print one `error:` line and exit 2.
"""
from __future__ import annotations

import argparse
import sys

from tabular_mlops.errors import EXIT_EXPECTED_FAILURE, StageError


def _contract(arguments: argparse.Namespace) -> int:
    from tabular_mlops.config.params import load_params
    from tabular_mlops.data.contract import draft_contract

    print(draft_contract(load_params().data, arguments.force))
    return 0


def _sweep(arguments: argparse.Namespace) -> int:
    from tabular_mlops.experiments import sweep

    return sweep.run(arguments)


def _review(arguments: argparse.Namespace) -> int:
    from tabular_mlops.reporting import review

    return review.run(arguments)


def _serve(arguments: argparse.Namespace) -> int:
    from tabular_mlops.serving import server

    return server.run(arguments)


def _score(arguments: argparse.Namespace) -> int:
    from tabular_mlops.deployment import score_command

    return score_command.run(arguments)


def _erase(arguments: argparse.Namespace) -> int:
    from tabular_mlops.privacy import erase_command

    return erase_command.run(arguments)


def _demo_drift(arguments: argparse.Namespace) -> int:
    import os

    from tabular_mlops.config.params import load_params
    from tabular_mlops.monitoring.demo import run_demo

    params = load_params()
    seed = params.seed if arguments.seed is None else arguments.seed
    for line in run_demo(params, arguments.url, arguments.out, seed, os.environ.get("TABULAR_MLOPS_API_KEY")):
        print(line)
    return 0


def _stage_server(arguments: argparse.Namespace) -> int:
    from tabular_mlops.stage_server import control

    return control.run(arguments)


def _synth(arguments: argparse.Namespace) -> int:
    from tabular_mlops.config.params import load_params
    from tabular_mlops.data.synth import check_output, write_synth

    check_output(arguments.out)
    rows = _whole_number(arguments.rows, "--rows", 1)
    seed = None if arguments.seed is None else _whole_number(arguments.seed, "--seed", 0)
    chunk_rows = {} if arguments.chunk_rows is None else {"chunk_rows": _whole_number(arguments.chunk_rows, "--chunk-rows", 1)}
    params = load_params()
    source = arguments.source or params.data.path
    print(write_synth(source, params.data.contract, arguments.out, rows, params.seed if seed is None else seed, **chunk_rows))
    return 0


def _whole_number(text: str, flag: str, minimum: int) -> int:
    """Checked here rather than by argparse, so a bad value is one `error:` line like every other."""
    try:
        value = int(text)  # also 10_000_000
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise StageError(f"{flag} must be a whole number >= {minimum}; got {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    # Subcommand modules are imported when they run, so `--help` and `contract` stay quick.
    from tabular_mlops.experiments.sweep import add_arguments as sweep_arguments
    from tabular_mlops.deployment.score_command import add_arguments as score_arguments
    from tabular_mlops.privacy.erase_command import add_arguments as erase_arguments
    from tabular_mlops.reporting.review import add_arguments as review_arguments
    from tabular_mlops.serving.server import add_arguments as serve_arguments
    import tabular_mlops.stage_server.server  # noqa: F401 - its docstring is the --help text

    root = argparse.ArgumentParser(prog="tabular-mlops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    contract = commands.add_parser("contract", help="draft the data contract from the table that params.yaml names",
                                   description="Draft data.contract from the table at data.path; review it before committing.")
    contract.add_argument("--force", action="store_true", help="overwrite an existing contract")
    contract.set_defaults(run=_contract)
    sweep = commands.add_parser("sweep", help="run a grid of DVC experiments and rank them by a cross-validated metric",
                                description=_doc("tabular_mlops.experiments.sweep"), formatter_class=argparse.RawDescriptionHelpFormatter)
    sweep_arguments(sweep)
    sweep.set_defaults(run=_sweep)
    review = commands.add_parser("review", help="compare the workspace's results with a git revision",
                                 description=_doc("tabular_mlops.reporting.review"), formatter_class=argparse.RawDescriptionHelpFormatter)
    review_arguments(review)
    review.set_defaults(run=_review)
    serve = commands.add_parser("serve", help="serve a model bundle over HTTP", description=_doc("tabular_mlops.serving.server"),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    serve_arguments(serve)
    serve.set_defaults(run=_serve)
    score = commands.add_parser("score", help="score a CSV or Parquet file with the model bundle; bad rows go to a rejects file",
                                description=_doc("tabular_mlops.deployment.score_command"), formatter_class=argparse.RawDescriptionHelpFormatter)
    score_arguments(score)
    score.set_defaults(run=_score)
    erase = commands.add_parser("erase", help="remove a person's records from the prediction log, found by their value's pseudonym",
                                description=_doc("tabular_mlops.privacy.erase_command"), formatter_class=argparse.RawDescriptionHelpFormatter)
    erase_arguments(erase)
    erase.set_defaults(run=_erase)
    demo = commands.add_parser("demo-drift", help="see the monitor flag drift on batches scored by the running service",
                               description="Score the test split and a shifted batch made from it through the service at --url,"
                                           " then run the monitor on both answers against models/reference; a report per batch is"
                                           " written under --out. The shift uses the model's own inputs: the category it is least"
                                           " sure of weighs 15 times, the quarter of the numeric input its score follows most"
                                           " (whichever end it is less sure of) 3 times, and that input moves half a standard"
                                           " deviation that way; the first line printed names them. A table without a numeric or"
                                           " categorical input is refused.")
    demo.add_argument("--url", default="http://127.0.0.1:8000", help="the running `tabular-mlops serve` (default: %(default)s)")
    demo.add_argument("--out", default="monitoring-demo", help="folder for the two reports (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=None, help="the shifted batch's resampling seed (default: params.yaml seed)")
    demo.set_defaults(run=_demo_drift)
    stage_server = commands.add_parser("stage-server", help="list or stop the warm interpreters that run the pipeline's stages",
                                       description=_doc("tabular_mlops.stage_server.server"),
                                       formatter_class=argparse.RawDescriptionHelpFormatter)
    stage_server.add_argument("action", choices=("status", "stop"))
    stage_server.set_defaults(run=_stage_server)
    synth = commands.add_parser("synth", help="write a credit-like table of any size, drawn from the bundled one",
                                description="Resample the source's rows with replacement and jitter its numbers (integers stay"
                                            " integers, values stay in data.contract's ranges): the same missing rates, category"
                                            " shares and class balance, the same rows for the same seed, written a chunk at a time"
                                            " (how: tabular_mlops/data/synth.py).")
    synth.add_argument("--rows", required=True, help="how many rows, e.g. 10_000_000")
    synth.add_argument("--out", required=True, help="the table to write: .csv or .parquet")
    synth.add_argument("--seed", help="the same seed gives the same rows (default: params.yaml seed)")
    synth.add_argument("--source", help="the table to draw from; it must pass data.contract (default: data.path)")
    synth.add_argument("--chunk-rows", help="rows generated and written at a time, rounded up to a multiple of 50,000: memory"
                                            " grows with this; the rows do not change with it (default: 250,000)")
    synth.set_defaults(run=_synth)
    return root


def _doc(module: str) -> str:
    return sys.modules[module].__doc__ or ""


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        return arguments.run(arguments)
    except StageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_EXPECTED_FAILURE


if __name__ == "__main__":
    sys.exit(main())
