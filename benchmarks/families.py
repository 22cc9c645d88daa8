"""LightGBM against hist_gradient_boosting and the default leaderboard's winner: ROC-AUC and time.

    python benchmarks/families.py                                   # the table in benchmarks/results.md (about 10 minutes on 2 cores)
    python benchmarks/families.py --rows 3000 --repeats 1 --out /tmp/families.md   # a quick check

On the bundled table and on a synthetic one of --rows rows (tabular_mlops/data/synth.py, drawn
from the bundled table), each family is screened as the leaderboard screens it: the library
calls of stages/cross_validate.py (the same screening sample, leaderboard.cv_folds-fold CV on
the training split, the refit, the test score), in this process, on the split that `dvc repro
prepare` writes in a temporary copy of the project. Seconds are the wall time of that call; the
families take turns --repeats times and the median is kept; ratios are against
hist_gradient_boosting measured in the same command. The default leaderboard's winner is the
`best` of the committed metrics/leaderboard.json. --out replaces this section of the file (or
appends it); the checkout is not touched otherwise.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")  # as every stage process runs (tabular_mlops/errors.py)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from benchmarks.timing import fresh_copy, run_dvc, write_section  # noqa: E402
from tabular_mlops.config.params import load_params  # noqa: E402
from tabular_mlops.data.synth import write_synth  # noqa: E402
from tabular_mlops.files import read_json  # noqa: E402
from tests.dvc_repo import update_params  # noqa: E402

HEADING = "## LightGBM against hist_gradient_boosting and the default winner"
BASELINE = "hist_gradient_boosting"


def screen(family: str) -> tuple[float, dict]:
    """(wall seconds, the leaderboard entry) of one family, as stages/cross_validate.py computes it, in the current folder."""
    from tabular_mlops.data.contract import read_contract
    from tabular_mlops.data.dataset import split_inputs_target
    from tabular_mlops.data.tables import read_table
    from tabular_mlops.models.assessment import assess_family
    from tabular_mlops.models.budget import family_budget
    from tabular_mlops.models.pipeline import family_pipeline

    params = load_params()
    spec = params.leaderboard
    started = time.perf_counter()
    inputs, target = split_inputs_target(read_table("data/prepared/train.parquet"), params.data)
    inputs, target, _, _ = family_budget(family, inputs, target, True, spec, params.seed)
    pipeline = family_pipeline(params, read_contract(params.data.contract), family)
    test = split_inputs_target(read_table("data/prepared/test.parquet"), params.data)
    result, _ = assess_family(params.data.problem, family, pipeline, (inputs, target), test, spec.cv_folds, params.seed)
    if result["status"] != "ok":
        raise SystemExit(f"{family}: {result['reason']}")
    return time.perf_counter() - started, result


def prepared_copy(scratch: Path, rows: int | None) -> Path:
    """A fresh copy after `dvc repro prepare`: of the bundled table (rows None) or of a synthetic one."""
    repo = fresh_copy(scratch, f"rows-{rows or 'bundled'}")
    if rows is not None:
        params = load_params(repo / "params.yaml")
        write_synth(repo / params.data.path, repo / params.data.contract, repo / "data/raw/synth.parquet", rows, seed=0)
        update_params(repo, lambda raw: raw["data"].update(path="data/raw/synth.parquet"))
    run_dvc(repo, "repro", "prepare")
    return repo


def measure(repo: Path, families: list[str], repeats: int) -> dict[str, tuple[float, dict, bool]]:
    """family -> (median seconds, its entry, whether every turn gave the same entry)."""
    seconds: dict[str, list[float]] = {family: [] for family in families}
    entries: dict[str, list[dict]] = {family: [] for family in families}
    os.chdir(repo)
    try:
        for _ in range(repeats):
            for family in families:  # taking turns: the machine's speed drifts
                took, entry = screen(family)
                seconds[family].append(took)
                entries[family].append(entry)
    finally:
        os.chdir(ROOT)
    return {family: (statistics.median(seconds[family]), entries[family][0], all(entry == entries[family][0] for entry in entries[family]))
            for family in families}


def table(title: str, rows: int, measured: dict[str, tuple[float, dict, bool]]) -> list[str]:
    baseline = measured[BASELINE][0]
    lines = [f"### {title} ({rows:,} training rows screened)", "",
             "| family | CV ROC-AUC (mean ± std) | test ROC-AUC | seconds | against hist_gradient_boosting | same figures every turn |",
             "|---|---:|---:|---:|---:|---|"]
    for family, (seconds, entry, same) in measured.items():
        cv, test = entry["cv"], entry["test"]
        lines.append(f"| {family} | {cv['roc_auc_mean']:.4f} ± {cv['roc_auc_std']:.4f} | {test['roc_auc']:.4f} | {seconds:.1f} | "
                     f"{seconds / baseline:.2f} | {'yes' if same else 'NO'} |")
    return lines + [""]


def header(repeats: int, rows: int) -> list[str]:
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in ("lightgbm", "scikit-learn", "numpy", "pandas"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return [HEADING, "",
            f"Measured {datetime.date.today()} on {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}; {versions}. "
            f"Command: `python benchmarks/families.py {' '.join(sys.argv[1:])}`. Load average at the start: {os.getloadavg()[0]:.2f}. "
            f"Each family as the leaderboard screens it (5-fold CV on the training split, refit, test score), in one process, one thread; "
            f"seconds: the median of {repeats} turn(s). The synthetic table's rows are resampled from the bundled table "
            f"({rows:,} rows), so its test split shares rows with its training split and its test ROC-AUC is optimistic.", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the synthetic table (default: 100000)")
    parser.add_argument("--repeats", type=int, default=3, help="turns of every family on each table (default: 3)")
    parser.add_argument("--out", type=Path, help="write the section into this markdown file (benchmarks/results.md)")
    arguments = parser.parse_args()
    winner = read_json(ROOT / "metrics/leaderboard.json")["best"]
    families = list(dict.fromkeys([BASELINE, "lightgbm", winner]))
    lines = header(arguments.repeats, arguments.rows)
    with tempfile.TemporaryDirectory() as scratch:
        for title, rows in (("The bundled table", None), (f"A synthetic table of {arguments.rows:,} rows", arguments.rows)):
            repo = prepared_copy(Path(scratch), rows)
            training_rows = len(pd.read_parquet(repo / "data/prepared/train.parquet", columns=[]))
            lines += table(title, training_rows, measure(repo, families, arguments.repeats))
    lines += [f"`{winner}` is the default leaderboard's winner (metrics/leaderboard.json). "
              f"Load average at the end: {os.getloadavg()[0]:.2f}.", ""]
    print("\n".join(lines))
    if arguments.out:
        write_section(arguments.out, HEADING, lines)


if __name__ == "__main__":
    main()
