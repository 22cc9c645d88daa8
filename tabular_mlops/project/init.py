"""Turn a fresh clone, which holds the bundled example, into a project for your own table.

    tabular-mlops init --table PATH --target COLUMN [--name NAME] [--task classification|regression] [--positive-class LABEL]

It copies the table into data/raw/ (a table over 50 MB is added to DVC rather than git), sets
the data: block of params.yaml, drafts data/contract.yaml and prints each column it suggests as
personal or protected, names the model artifact in dvc.yaml, writes a README for the project,
and removes the example: its table, its data README and the pipeline outputs it committed
(dvc.lock, leaderboard/dvc.lock, metrics/). It states the task it inferred from the target and
the positive class it chose, with the flag that overrules each. It changes files and commits
nothing: review the change with `git status` and `git diff`, run `dvc repro`, then commit.
It runs once, on a clean git tree, from the project's root folder.

Example:

    tabular-mlops init --table ~/admissions.csv --target readmitted --name readmissions
"""
from __future__ import annotations

import argparse
from pathlib import Path

# Kept light (argparse and pathlib): the CLI imports this module for `--help`; the work is imported when init runs.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", required=True, metavar="PATH", help="your table: a .csv or .parquet file, copied into data/raw/")
    parser.add_argument("--target", required=True, metavar="COLUMN", help="the column to predict")
    parser.add_argument("--name", help="the project's name; it names the model artifact (default: the table's file name)")
    parser.add_argument("--task", choices=("classification", "regression"),
                        help="default: regression for a numeric target with more than 20 distinct values, else classification")
    parser.add_argument("--positive-class", metavar="LABEL",
                        help="the class whose probability the model outputs (default, for two classes: a label such as"
                             " yes, 1 or true, else the rarer class; for three or more: every class's probability)")


def run(arguments: argparse.Namespace) -> int:
    from tabular_mlops.project.repository import Request

    request = Request(Path(arguments.table).expanduser(), arguments.target, arguments.name, arguments.task, arguments.positive_class)
    for line in init_project(request, Path.cwd()):
        print(line)
    return 0


def init_project(request, root: Path, large_bytes: int | None = None) -> list[str]:
    """Make the project at `root` the user's; every check runs before the first change. Returns the summary."""
    from tabular_mlops.project.changes import plan
    from tabular_mlops.project.repository import LARGE_TABLE_BYTES, example_files, require_clean_tree

    removed = example_files(root)
    require_clean_tree(root, request.table, removed)
    return plan(request, root, removed).apply(root, LARGE_TABLE_BYTES if large_bytes is None else large_bytes)
