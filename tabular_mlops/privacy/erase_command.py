"""`tabular-mlops erase --key VALUE`: remove a person's records from the prediction log.

    tabular-mlops erase --key VALUE [--log PATH] [--key-file PATH]
    tabular-mlops erase --key -            the value from stdin (a prompt that does not echo it on a
                                           terminal), so it stays out of the shell's history

VALUE is the person's value in a personal column as it was sent to the service (an email
address, a name): its keyed pseudonym finds their predictions, which are deleted with their
feedback and pseudonyms, and the deleted bytes are overwritten (tabular_mlops/serving/prediction_log.py,
PredictionLog.erase). The value is never printed. Finding none is not an error: the line says so.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tabular_mlops.errors import StageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", required=True, metavar="VALUE",
                        help="the person's value in a personal column, e.g. their email address; '-' reads it from stdin")
    parser.add_argument("--log", help="the prediction log (default: serve.log in params.yaml)")
    parser.add_argument("--key-file", help="the pseudonym key the log was written with (default: serve.key_file in params.yaml; "
                                           "$TABULAR_MLOPS_PSEUDONYM_KEY, when set, is the key instead)")


def run(arguments: argparse.Namespace) -> int:
    from tabular_mlops.privacy.pseudonyms import pseudonym, pseudonym_key
    from tabular_mlops.serving.prediction_log import PredictionLog
    from tabular_mlops.serving.server import serve_params

    value = read_value(arguments.key)
    serve = serve_params() if arguments.log is None or arguments.key_file is None else None
    path = Path(arguments.log or serve.log)
    if not path.is_file():
        raise StageError(f"{path}: no prediction log there (serve.log, or --log)")
    key = pseudonym_key(arguments.key_file or serve.key_file, create=False)
    log = PredictionLog(path)
    try:
        erased = log.erase(pseudonym(value, key))
    finally:
        log.close()
    print(erased_line(erased, path))
    return 0


def read_value(given: str) -> str:
    """`--key`'s value, or with '-' the first line of stdin (asked for without echo on a terminal)."""
    if given == "-":
        if sys.stdin.isatty():
            import getpass

            given = getpass.getpass("the value to erase (not echoed): ")
        else:
            given = sys.stdin.readline()
    if not given.strip():
        raise StageError("--key: the value is empty; give the person's value in a personal column, or '-' to read it from stdin")
    return given


def erased_line(erased: int, path: Path) -> str:
    if erased == 0:
        return (f"no predictions of that person in {path}: nothing erased (is the value written as it was sent, "
                "and the key the one the log was written with?)")
    return f"erased {erased} prediction{'s' if erased > 1 else ''} of that person from {path}, with their feedback and pseudonyms"
