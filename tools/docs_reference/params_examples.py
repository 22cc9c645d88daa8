"""The parts of docs/reference/params.md computed by running the code: the errors a wrong key gives,
and the metric names a gate may bound."""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import yaml

from tabular_mlops.config.params import load_params
from tabular_mlops.errors import StageError
from tabular_mlops.metrics import FAIRNESS_GAPS, gate_metric_names


def wrong_keys(params_file: Path) -> str:
    """What `dvc repro` prints for a misspelt key and for an unknown family, from a real params.yaml."""
    raw = yaml.safe_load(params_file.read_text())
    misspelt = {**raw, "prepare": {("tset_size" if key == "test_size" else key): value for key, value in raw["prepare"].items()}}
    unknown = {**raw, "train": {**raw["train"], "model": "xgboost"}}
    lines = []
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
        for broken in (misspelt, unknown):
            Path("params.yaml").write_text(yaml.safe_dump(broken, sort_keys=False))
            try:
                load_params("params.yaml")
            except StageError as error:
                lines.append(f"error: {error}")
    return "\n".join(["## When a key is wrong {#when-a-key-is-wrong}", "",
                      "`prepare.tset_size: 0.2` and `train.model: xgboost` stop the run, before any stage works, with:", "",
                      "```text", *lines, "```", "", "The stage exits 2 and `dvc.lock` is left as it was.", ""])


def gate_metrics() -> str:
    """The metric names a gate may bound, per kind of problem, from the metric definitions."""
    lines = ["## Metrics a gate may name {#metrics-a-gate-may-name}", "",
             "Per kind of problem (`nested_cv.*` only with `evaluate.nested_cv: true`):", "",
             "| problem | metrics |", "|---|---|"]
    for problem in ("classification", "multiclass", "regression"):
        names = gate_metric_names(problem, nested_cv=True)
        gaps = FAIRNESS_GAPS.get(problem, ())
        fairness = [f"fairness.<protected column>.{gap}" for gap in gaps]
        label = {"classification": "binary classification"}.get(problem, problem)
        lines.append(f"| {label} | {', '.join(f'`{name}`' for name in [*names, *fairness])} |")
    return "\n".join(lines) + "\n"
