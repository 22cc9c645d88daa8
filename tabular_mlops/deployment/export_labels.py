"""`tabular-mlops export-labels [--since T]`: the labelled rows of a window of the prediction log,
appended to a DVC-tracked training table (data/returned/labels.parquet by default).

What a row holds and how it is checked: tabular_mlops/data/returned.py. The rows that break the
contract go to OUTPUT with the suffix .rejects.csv, with the rules they break. In a DVC repository
the table is then `dvc add`ed, so each export is a new version of one dataset: a change of its
.dvc file to commit. A window with no new labelled row leaves the table as it was (exit 0).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from tabular_mlops.errors import StageError

DEFAULT_OUTPUT = "data/returned/labels.parquet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", metavar="TIME",
                        help="the first prediction time of the window, e.g. 2024-05-01 or 2024-05-01T12:00:00Z (UTC without an offset;"
                             " default: the log's first; rows already in the table are never added twice)")
    parser.add_argument("--until", metavar="TIME", help="the end of the window, not included (default: now)")
    parser.add_argument("--log", metavar="PATH", help="the prediction log (default: serve.log in params.yaml, else logs/predictions.sqlite)")
    parser.add_argument("--output", metavar="PATH", default=DEFAULT_OUTPUT,
                        help=f"the Parquet table the rows are appended to (default: {DEFAULT_OUTPUT})")


def run(arguments: argparse.Namespace) -> int:
    from tabular_mlops.config.params import load_params
    from tabular_mlops.data.contract import read_contract
    from tabular_mlops.data.returned import append_rows, labelled_rows, read_exported, write_rejects
    from tabular_mlops.deployment.prediction_log import read_scored
    from tabular_mlops.deployment.settings import resolve

    since = None if arguments.since is None else _time(arguments.since, "--since")
    until = None if arguments.until is None else _time(arguments.until, "--until")
    output = Path(arguments.output)
    if output.suffix != ".parquet":
        raise StageError(f"--output: the table must be a .parquet file (it keeps the exported prediction ids); got '{output}'")
    # The project's contract and data.drop_columns: the rows must pass what validate checks.
    data = load_params().data
    contract = read_contract(data.contract)
    log = Path(resolve({"log": arguments.log}, ("log",))[0]["log"])
    if not log.is_file():
        raise StageError(f"{log}: no prediction log there (serve.log, or --log)")
    old, old_ids = read_exported(output)
    found = labelled_rows(read_scored(log, since, until), contract, data.drop_columns, set(old_ids))
    rejects = output.with_suffix(".rejects.csv")
    write_rejects(rejects, found.rejected)
    counts = (f"rejected {len(found.rejected)}" + (f" (the rules they break: {rejects})" if len(found.rejected) else "")
              + f", already exported {found.already}")
    if found.rows.empty:
        window = (f" from {since}" if since else "") + (f" until {until}" if until else "")
        print(f"nothing to export: no new labelled row that keeps the contract in {log}{window}; {counts}; {output} unchanged")
        return 0
    total = append_rows(output, old, old_ids, found.rows, found.ids)
    print(f"exported {len(found.rows)} rows to {output} ({total} in all); {counts}")
    print(_track(output))
    return 0


def _time(text: str, flag: str) -> str:
    import pandas as pd

    try:
        pd.Timestamp(text)
    except ValueError:
        raise StageError(f"{flag}: not a date or time; give one such as 2024-05-01 or 2024-05-01T12:00:00Z; got {text!r}") from None
    return text


def _track(output: Path) -> str:
    """`dvc add` the table in a DVC repository (the current folder); what to run next."""
    if not Path(".dvc").is_dir():
        return f"not in a DVC repository: track the table with `dvc add {output}`"
    completed = subprocess.run([sys.executable, "-m", "dvc", "add", str(output)], capture_output=True, text=True)
    if completed.returncode != 0:
        reason = [line for line in completed.stderr.splitlines() if line.strip()] or ["no message"]
        raise StageError(f"{output}: written, but `dvc add` failed ({reason[-1].strip()})")
    tracked = [f"{output}.dvc", str(output.parent / ".gitignore")]
    return f"a new version of the dataset: git add {' '.join(tracked)} && git commit -m \"Labels returned up to now\""
