"""`tabular-mlops compare`: the challenger (models/bundle) against the champion on the test split,
plus the labelled rows of a window of the prediction log; exit 1 (a verdict) when the decision is keep."""
from __future__ import annotations

import argparse

from tabular_mlops.errors import StageError, Verdict

# Kept apart from compare.py, which imports pandas and scikit-learn: `tabular-mlops --help` stays quick.
BUNDLE, LOCK, GATES = "models/bundle", "dvc.lock", "metrics/gates.json"
TRAIN, TEST = "data/prepared/train.parquet", "data/prepared/test.parquet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--champion", metavar="VERSION",
                        help="the registered version to compare with, e.g. v1.2.0 (default: promote.champion in params.yaml)")
    parser.add_argument("--log", metavar="PATH", help="also compare on the labelled rows of this prediction log (SQLite)")
    parser.add_argument("--since", metavar="TIME", help="with --log: rows logged at or after this time (ISO 8601; UTC without an offset)")
    parser.add_argument("--until", metavar="TIME", help="with --log: rows logged before this time")
    parser.add_argument("--output", metavar="PATH", help="also write every figure as JSON (the compare stage's metrics/compare.json format)")


def run(arguments: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from tabular_mlops.config.params import load_params
    from tabular_mlops.data.tables import read_table, require_file
    from tabular_mlops.deployment.artifact import load_bundle
    from tabular_mlops.files import read_json, write_json
    from tabular_mlops.promotion.compare import compare, load_champion
    from tabular_mlops.promotion.latency import latency
    from tabular_mlops.promotion.report import latency_lines, markdown, summary_line
    from tabular_mlops.promotion.rows import exported_ids, labelled_log_rows

    if arguments.log is None and (arguments.since or arguments.until):
        raise StageError("--since and --until choose rows of the prediction log: give --log PATH too")
    params = load_params()
    version = arguments.champion or params.promote.champion
    challenger = load_bundle(BUNDLE, LOCK)
    champion = None if version is None else load_champion(".", version)
    rows = read_table(TEST)
    if arguments.log is not None:
        inputs = [column for bundle in (challenger, champion) if bundle is not None for column in bundle.input_columns]
        logged, trained_on = labelled_log_rows(Path(arguments.log), params.data.target, list(dict.fromkeys(inputs)),
                                               arguments.since, arguments.until, exported_ids(params.data.extra_paths))
        left_out = f" ({trained_on} left out: exported to data.extra_paths, so trained on or in the test split already)" if trained_on else ""
        print(f"{arguments.log}: {len(logged)} labelled rows added to the {len(rows)} rows of {TEST}{left_out}")
        rows = pd.concat([rows, logged], ignore_index=True)
    require_file(Path(GATES))
    result = compare(params, rows, challenger, read_json(GATES), champion, version,
                     read_table(TRAIN)[params.data.target])
    if arguments.output:
        write_json(arguments.output, result)
    print(markdown(result), end="")
    timings = {"challenger": latency(challenger, rows)}
    if champion is not None:
        timings[f"champion {version}"] = latency(champion, rows)
    for line in latency_lines(timings):
        print(line)
    if result["decision"] == "keep":
        raise Verdict(summary_line(result))
    print(summary_line(result))
    return 0
