"""The tabular-mlops command: everything around the pipeline that `dvc repro` does not run.

Make this repository a project for your own table, draft the data contract, sweep experiments,
review a change, register versions of the model, compare one with the champion and promote or
roll back the one a stage serves, serve and score with the model, export the outcomes that came
back, erase a person's records, watch the monitor flag drift, and write synthetic tables. Each
command's --help says what it does, gives examples and lists the environment variables it reads.
"""
from __future__ import annotations

import argparse
import sys

from tabular_mlops import cli_texts as texts
from tabular_mlops.cli_texts import add_command
from tabular_mlops.errors import StageError, Verdict, exit_code_of, whole_number


def _init(arguments: argparse.Namespace) -> int:
    from tabular_mlops.project import init

    return init.run(arguments)


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
    from tabular_mlops.deployment import erase_command

    return erase_command.run(arguments)


def _export_labels(arguments: argparse.Namespace) -> int:
    from tabular_mlops.deployment import export_labels

    return export_labels.run(arguments)


def _compare(arguments: argparse.Namespace) -> int:
    from tabular_mlops.promotion import compare_command

    return compare_command.run(arguments)


def _demo_drift(arguments: argparse.Namespace) -> int:
    import os

    from tabular_mlops.config.params import load_params
    from tabular_mlops.monitoring.demo import run_demo

    params = load_params()
    seed = params.seed if arguments.seed is None else arguments.seed
    for line in run_demo(params, arguments.url, arguments.output, seed, os.environ.get("TABULAR_MLOPS_API_KEY")):
        print(line)
    return 0


def _demo_traffic(arguments: argparse.Namespace) -> int:
    import os

    from tabular_mlops.config.params import load_params
    from tabular_mlops.monitoring.traffic import run_traffic

    params = load_params()
    rows = whole_number(arguments.rows, "--rows", 1)
    seed = params.seed if arguments.seed is None else whole_number(arguments.seed, "--seed", 0)
    for line in run_traffic(params, arguments.url, rows, seed, arguments.output, os.environ.get("TABULAR_MLOPS_API_KEY")):
        print(line, flush=True)
    return 0


def _stage_server(arguments: argparse.Namespace) -> int:
    from tabular_mlops.stage_server import control

    return control.run(arguments)


def _synth(arguments: argparse.Namespace) -> int:
    from tabular_mlops.config.params import load_params
    from tabular_mlops.data.synth import check_output, write_synth

    check_output(arguments.output)
    rows = whole_number(arguments.rows, "--rows", 1)
    seed = None if arguments.seed is None else whole_number(arguments.seed, "--seed", 0)
    chunk_rows = {} if arguments.chunk_rows is None else {"chunk_rows": whole_number(arguments.chunk_rows, "--chunk-rows", 1)}
    params = load_params()
    source = arguments.source or params.data.path
    print(write_synth(source, params.data.contract, arguments.output, rows, params.seed if seed is None else seed, **chunk_rows))
    return 0


def parser() -> argparse.ArgumentParser:
    # Subcommand modules are imported when they run, so `--help` and `contract` stay quick.
    from tabular_mlops.deployment.erase_command import add_arguments as erase_arguments
    from tabular_mlops.deployment.export_labels import add_arguments as export_labels_arguments
    from tabular_mlops.deployment.score_command import add_arguments as score_arguments
    from tabular_mlops.experiments.sweep import add_arguments as sweep_arguments
    from tabular_mlops.project.init import add_arguments as init_arguments
    from tabular_mlops.promotion.compare_command import add_arguments as compare_arguments
    from tabular_mlops.registry import commands as registry_commands
    from tabular_mlops.reporting.review import add_arguments as review_arguments
    from tabular_mlops.serving.server import add_arguments as serve_arguments

    root = argparse.ArgumentParser(prog="tabular-mlops", description=__doc__, epilog=texts.ROOT_EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    root.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = add_command(commands, "init", texts.INIT)
    init_arguments(init)
    init.set_defaults(run=_init)
    contract = add_command(commands, "contract", texts.CONTRACT)
    contract.add_argument("--force", action="store_true", help="overwrite an existing contract")
    contract.set_defaults(run=_contract)
    for name, text, add_arguments, run in (("sweep", texts.SWEEP, sweep_arguments, _sweep),
                                           ("review", texts.REVIEW, review_arguments, _review),
                                           ("serve", texts.SERVE, serve_arguments, _serve),
                                           ("score", texts.SCORE, score_arguments, _score),
                                           ("erase", texts.ERASE, erase_arguments, _erase),
                                           ("export-labels", texts.EXPORT_LABELS, export_labels_arguments, _export_labels),
                                           ("compare", texts.COMPARE, compare_arguments, _compare)):
        command = add_command(commands, name, text)
        add_arguments(command)
        command.set_defaults(run=run)
    for name, text in (("register", texts.REGISTER), ("versions", texts.VERSIONS),
                       ("promote", texts.PROMOTE), ("rollback", texts.ROLLBACK)):
        command = add_command(commands, name, text)
        getattr(registry_commands, f"add_{name}_arguments")(command)
        command.set_defaults(run=getattr(registry_commands, f"run_{name}"))
    demo = add_command(commands, "demo-drift", texts.DEMO_DRIFT)
    demo.add_argument("--url", default="http://127.0.0.1:8000", help="the running service (default: %(default)s)")
    demo.add_argument("--output", metavar="DIR", default="monitoring-demo", help="folder for the two reports (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=None, help="the shifted batch's resampling seed (default: seed in params.yaml)")
    demo.set_defaults(run=_demo_drift)
    traffic = add_command(commands, "demo-traffic", texts.DEMO_TRAFFIC)
    traffic.add_argument("--url", default="http://127.0.0.1:8000", help="the running service (default: %(default)s)")
    traffic.add_argument("--rows", metavar="N", default="3000", help="how many rows (default: %(default)s)")
    traffic.add_argument("--seed", help="the same seed gives the same rows and outcomes (default: seed in params.yaml)")
    traffic.add_argument("--output", metavar="PATH", default="data/scored/traffic.parquet",
                         help="the answers and outcomes as a scored table, .parquet (default: %(default)s)")
    traffic.set_defaults(run=_demo_traffic)
    synth = add_command(commands, "synth", texts.SYNTH)
    synth.add_argument("--rows", metavar="N", required=True, help="how many rows, e.g. 10_000_000")
    synth.add_argument("--output", metavar="PATH", required=True, help="the table to write: .csv or .parquet")
    synth.add_argument("--seed", help="the same seed gives the same rows (default: seed in params.yaml)")
    synth.add_argument("--source", metavar="PATH", help="the table to draw from; it must pass the data contract (default: data.path in params.yaml)")
    synth.add_argument("--chunk-rows", metavar="N", help="rows generated and written at a time, rounded up to a multiple of 50,000: memory"
                                            " grows with this; the rows do not change with it (default: 250,000)")
    synth.set_defaults(run=_synth)
    debug = add_command(commands, "debug", texts.DEBUG)
    debug_commands = debug.add_subparsers(dest="debug_command", required=True, metavar="COMMAND")
    stage_server = add_command(debug_commands, "stage-server", texts.STAGE_SERVER)
    stage_server.add_argument("action", choices=("status", "stop"), help="status: list the running servers; stop: stop them")
    stage_server.set_defaults(run=_stage_server)
    return root


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tabular-mlops")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        return arguments.run(arguments)
    except (StageError, Verdict) as error:  # 2 and 1: tabular_mlops/errors.py
        return exit_code_of(error)


if __name__ == "__main__":
    sys.exit(main())
