"""Review a change: compare the workspace's pipeline results with a base git revision.

    tabular-mlops review --base main [--output review.md]

Writes Markdown: the gated metrics with base, new and change; `dvc metrics diff` (the headline
figures) and `dvc params diff` tables; the gate results; which detail files (per-column and
per-group figures) and which plot data changed. Exits 1 when a gated
metric got worse by more than `review.tolerance` (params.yaml), 2 on a usage error.
Run `dvc repro` first: this compares files, it does not run the pipeline.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tabular_mlops.reporting.gates import metric_value
from tabular_mlops.errors import StageError, Verdict
from tabular_mlops.reporting.figures import EVALUATE as EVALUATION, read_figures
from tabular_mlops.reporting.headline import DETAILS
from tabular_mlops.files import write_text
from tabular_mlops.config.params import Gate, load_params

GATES = "metrics/gates.json"
PLOTS = (Path("metrics/evaluate/plots"), Path("metrics/explain/plots"))


def shell(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True)


def at_revision(revision: str, path: str) -> str | None:
    shown = shell("git", "show", f"{revision}:{path}")
    return shown.stdout if shown.returncode == 0 else None


def metric(metrics: dict, name: str) -> float:
    """NaN when not computed, or not reported at all: a base revision may predate a metric that is gated now."""
    try:
        value = metric_value(metrics, name)
    except KeyError:
        return float("nan")
    return float("nan") if value is None else value


def regressions(gates: list[Gate], base: dict, new: dict, tolerance: float) -> list[dict]:
    """Every gated metric, base against new; worse means lower for a `min` gate, higher for a `max` one
    (a metric missing on either side, NaN, is no regression)."""
    rows = []
    for gate in gates:
        old_value, new_value = metric(base, gate.metric), metric(new, gate.metric)
        worse_by = old_value - new_value if gate.min is not None else new_value - old_value
        rows.append({"metric": gate.metric, "base": old_value, "new": new_value,
                     "change": new_value - old_value, "regressed": worse_by > tolerance})
    return rows


def changed_files(revision: str, paths: list[Path], what: dict[str, str] | None = None) -> list[str]:
    """A line per file that is new or changed against `revision` (with what it holds, when given)."""
    lines = []
    for path in paths:
        before = at_revision(revision, path.as_posix())
        about = f" ({what[path.as_posix()]})" if what else ""
        if before is None:
            lines.append(f"- `{path}`: new{about}")
        elif before != path.read_text(encoding="utf-8"):
            lines.append(f"- `{path}`: changed{about}")
    return lines or ["- none"]


def changed_plots(revision: str) -> list[str]:
    return changed_files(revision, sorted(path for folder in PLOTS for path in folder.rglob("*.json")))


def changed_details(revision: str) -> list[str]:
    # the committed ones: git holds their base version (the search table is DVC-tracked with the model)
    return changed_files(revision, [Path(path) for path in DETAILS if path.startswith("metrics/") and Path(path).is_file()], DETAILS)


def report(revision: str, rows: list[dict], tolerance: float, gates: dict, metrics_diff: str, params_diff: str, plots: list[str],
           details: list[str] = ("- none",)) -> str:
    verdict = "regressed" if any(row["regressed"] for row in rows) else "no regression"
    lines = [f"## Pipeline review against `{revision}`: {verdict}", "",
             f"Gated metrics (a regression is a change for the worse of more than {tolerance:g}):", "",
             "| metric | base | new | change | |", "|---|---:|---:|---:|---|"]
    lines += [f"| {r['metric']} | {r['base']:.4f} | {r['new']:.4f} | {r['change']:+.4f} | {'REGRESSED' if r['regressed'] else 'ok'} |" for r in rows]
    lines += ["", f"Gates: {'all pass' if gates.get('passed') else 'FAILING'}", ""]
    lines += [f"- {g['metric']} = {g['value']:g} ({'pass' if g['passed'] else 'FAIL'})" for g in gates.get("gates", [])]
    lines += ["", "### Metrics diff", "", metrics_diff.strip() or "No metric changed.",
              "", "### Params diff", "", params_diff.strip() or "No param changed.",
              "", "### Detailed figures", "", *details, "", "Each is linked from `metrics/model_card.md`.",
              "", "### Plot data", "", *plots, "", f"See them side by side: `dvc plots diff {revision}`.", ""]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", required=True, help="the git revision to compare with (e.g. main, origin/main)")
    parser.add_argument("--output", help="write the Markdown here instead of standard output")


def run(arguments: argparse.Namespace) -> int:
    params = load_params()
    base = read_figures(lambda path: at_revision(arguments.base, path))
    if base is None:
        raise StageError(f"{arguments.base}:{EVALUATION}: not found; is --base a git revision whose pipeline ran?")
    new = read_figures(lambda path: Path(path).read_text() if Path(path).is_file() else None)
    if new is None:
        raise StageError(f"{EVALUATION}: not found; run `dvc repro` before the review")
    rows = regressions(params.task_gates, base, new, params.review.tolerance)
    gates = json.loads(Path(GATES).read_text()) if Path(GATES).is_file() else {}
    dvc = [sys.executable, "-m", "dvc"]
    metrics_diff = shell(*dvc, "metrics", "diff", arguments.base, "--md").stdout
    params_diff = shell(*dvc, "params", "diff", arguments.base, "--md").stdout
    markdown = report(arguments.base, rows, params.review.tolerance, gates, metrics_diff, params_diff, changed_plots(arguments.base),
                      changed_details(arguments.base))
    if arguments.output:
        write_text(arguments.output, markdown)
    else:
        print(markdown)
    regressed = [row for row in rows if row["regressed"]]
    if regressed:
        worst = ", ".join(f"{row['metric']} {row['base']:g} -> {row['new']:g}" for row in regressed)
        raise Verdict(f"regression beyond review.tolerance={params.review.tolerance:g}: {worst}")
    return 0
