"""`tabular-mlops erase --value VALUE`: remove a person's records from the prediction log.

VALUE is the person's value in a personal column as it was sent to the service; its keyed
pseudonym finds their predictions, which `PredictionLog.erase` deletes with their feedback and
pseudonyms, overwriting the deleted bytes. The value is never printed. Finding none is not an
error: the line says so.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tabular_mlops.errors import StageError


class _OldKeyFlag(argparse.Action):
    """`--key VALUE`, the flag's old name: still accepted (scripts use it), with a one-line notice.

    It was renamed because `--key` read as the secret, which is `--key-file`."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print("warning: --key is now --value (the person's value; the secret is --key-file); --key will be removed",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    value = parser.add_mutually_exclusive_group(required=True)
    value.add_argument("--value", metavar="VALUE",
                       help="the person's value in a personal column, e.g. their email address; '-' reads it from standard input")
    value.add_argument("--key", dest="value", action=_OldKeyFlag, help=argparse.SUPPRESS)
    parser.add_argument("--log", metavar="PATH", help="the prediction log (default: serve.log in params.yaml, else logs/predictions.sqlite)")
    parser.add_argument("--key-file", metavar="PATH",
                        help="the pseudonym key the log was written with (default: serve.key_file in params.yaml, else logs/pseudonym.key)")


def run(arguments: argparse.Namespace) -> int:
    from tabular_mlops.deployment.prediction_log import PredictionLog
    from tabular_mlops.deployment.settings import resolve
    from tabular_mlops.privacy.pseudonyms import pseudonym, pseudonym_key

    value = read_value(arguments.value)
    settings, _ = resolve({"log": arguments.log, "key_file": arguments.key_file}, ("log", "key_file"))
    path = Path(settings["log"])
    if not path.is_file():
        raise StageError(f"{path}: no prediction log there (serve.log, or --log)")
    key = pseudonym_key(settings["key_file"], create=False)
    log = PredictionLog(path)
    try:
        erased = log.erase(pseudonym(value, key))
    finally:
        log.close()
    print(erased_line(erased, path))
    return 0


def read_value(given: str) -> str:
    """`--value`'s value, or with '-' the first line of stdin (asked for without echo on a terminal)."""
    if given == "-":
        if sys.stdin.isatty():
            import getpass

            given = getpass.getpass("the value to erase (not echoed): ")
        else:
            given = sys.stdin.readline()
    if not given.strip():
        raise StageError("--value: the value is empty; give the person's value in a personal column, or '-' to read it from standard input")
    return given


def erased_line(erased: int, path: Path) -> str:
    if erased == 0:
        return (f"no predictions of that person in {path}: nothing erased (is the value written as it was sent, "
                "and the key the one the log was written with?)")
    return f"erased {erased} prediction{'s' if erased > 1 else ''} of that person from {path}, with their feedback and pseudonyms"
