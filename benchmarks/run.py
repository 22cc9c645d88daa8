"""The benchmark table: what the pipeline costs on this machine, written to benchmarks/results.md.

    python benchmarks/run.py                       # the whole table (about 30 minutes on 2 cores)
    python benchmarks/run.py --small --sizes 1500,2500 --pipeline-rows 1500 --repeats 1 --out /tmp/results.md   # a check (tests/test_benchmarks.py)
    python benchmarks/run.py --sections abc --out /tmp/abc.md   # only (a), (b), (c)

(a) `dvc repro` of the bundled data from scratch (stage server on, and off), against the same
    stages' main() called one after the other in one fresh process, taking turns --repeats times (the
    machine's speed drifts by more than the difference measured);
(b) a no-op `dvc repro` (the median of five);
(c) `dvc repro` after a train-only change (train.model);
(d) per stage, wall time and peak memory of its own process (`python -m stages.NAME`, imports
    included) on a `tabular-mlops synth` table of each --sizes; above --pipeline-rows, only
    validate, prepare and featurize;
(e) the whole pipeline (`dvc repro` from scratch, default params; then train.model:
    hist_gradient_boosting with it alone on the leaderboard) against a plain script doing the
    least (read, drop incomplete rows, split, fit a logistic regression, score) on the largest
    size up to --pipeline-rows;
(f) when params.yaml has an `engine` section: validate, prepare and featurize with the Dask
    engine on a two-worker local cluster against the plain engine, at that size.
Everything runs in temporary copies; the checkout is not touched. Measurements, not assertions.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")  # as every stage process runs (tabular_mlops/errors.py)

import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import fresh_copy, run_dvc, timed  # noqa: E402
from tests.dvc_repo import environment, small_and_fast, update_params  # noqa: E402

EARLY_STAGES = ("validate", "prepare", "featurize")
# The stage's own process, its peak resident memory measured by a parent that has only it as child.
MEASURED = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode;"
            " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")
PLAIN_SCRIPT = """\
import sys
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
table = pd.read_parquet(sys.argv[1]).dropna()
target = (table.pop("Status") == "bad").astype(int)
inputs = pd.get_dummies(table, dtype=float)
train_x, test_x, train_y, test_y = train_test_split(inputs, target, test_size=0.2, stratify=target, random_state=0)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(train_x, train_y)
print(round(roc_auc_score(test_y, model.predict_proba(test_x)[:, 1]), 4))
"""


def stage_commands(repo: Path, names: tuple[str, ...] | None = None) -> list[list[str]]:
    """Each stage's `python -m stages.NAME ARGS` in the order `dvc repro` runs them (every pipeline
    file, cross_validate once per family), as `dvc repro --dry --force` lists their commands."""
    listed = run_dvc(repo, "repro", "--dry", "--force")
    commands = [line.removeprefix("> python -m stages ").split() for line in listed.splitlines() if line.startswith("> python -m stages ")]
    return [[sys.executable, "-m", f"stages.{name}", *arguments] for name, *arguments in commands if names is None or name in names]


def measure_stage(repo: Path, command: list[str]) -> tuple[float, float]:
    """(seconds, peak GiB) of one stage process."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", MEASURED, *command], cwd=repo, env=environment(),
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[2:])} failed:\n{result.stderr}")
    return seconds, int(result.stdout.split()[-1]) / 2**20


SMALL = False  # --small: every copy on two light families


def light(params: dict) -> None:
    small_and_fast(params, ["logistic_regression", "dummy"], params["gates"])


def synth_copy(parent: Path, rows: int, configure=None) -> Path:
    """A fresh copy of the project whose data.path is a synthetic table of `rows` rows."""
    repo = fresh_copy(parent, f"rows-{rows}-{len(list(parent.iterdir()))}")
    table = repo / "data/raw/synth.parquet"
    subprocess.run([sys.executable, "-m", "tabular_mlops", "synth", "--rows", str(rows), "--output", str(table)],
                   cwd=repo, env=environment(), check=True, capture_output=True)

    def point_at_table(params: dict) -> None:
        params["data"]["path"] = "data/raw/synth.parquet"
        if SMALL:
            light(params)
        if configure:
            configure(params)

    update_params(repo, point_at_table)
    return repo


# The stages' main() one after the other in one interpreter, as a user's script would call them.
IN_ONE_PROCESS = """\
import contextlib, importlib, io, json, sys
for name, *arguments in json.loads(sys.argv[1]):
    sys.argv = [name, *arguments]
    with contextlib.redirect_stdout(io.StringIO()):
        importlib.import_module("stages." + name).main()
"""


def in_one_process(repo: Path) -> float:
    """Seconds for a fresh interpreter that calls every stage's main() in turn (the list of stages
    is taken before the clock starts). Fresh each turn, imports included: an interpreter that ran
    the pipeline before has the libraries imported and SHAP's numba code compiled (10 s for the
    mlp), which every `dvc repro` pays again."""
    stages = [[command[2].removeprefix("stages."), *command[3:]] for command in stage_commands(repo)]

    def run() -> None:
        result = subprocess.run([sys.executable, "-c", IN_ONE_PROCESS, json.dumps(stages)], cwd=repo, env=environment(),
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"the stages in one process failed:\n{result.stderr}")

    return timed(run)


NOOP_RUNS = 5  # a second each, and a busy moment of the machine doubles one


def bundled_section(scratch: Path, repeats: int) -> list[str]:
    """(a), (b), (c). (a) takes turns, `repeats` times: one process, then `dvc repro` on a fresh copy,
    so that both see the same machine; its ratio is the median of the turns'."""
    def copy(name: str) -> Path:
        repo = fresh_copy(scratch, name)
        if SMALL:
            update_params(repo, light)
        return repo

    turns = []
    for turn in range(repeats):
        in_process = in_one_process(copy(f"bundled-plain-{turn}"))
        server = copy(f"bundled-server-{turn}")
        turns.append((in_process, timed(lambda: run_dvc(server, "repro"))))
    noop = statistics.median(timed(lambda: run_dvc(server, "repro")) for _ in range(NOOP_RUNS))
    update_params(server, lambda params: params["train"].update(model="logistic_regression"))
    train_change = timed(lambda: run_dvc(server, "repro"))
    without_server = None if SMALL else seconds_without_server(copy("bundled-no-server"))
    in_process = statistics.median(seconds for seconds, _ in turns)
    ratios = sorted(dvc_seconds / one for one, dvc_seconds in turns)
    stages = len(stage_commands(server))
    each = "; ".join(f"{one:.1f} s and {dvc_seconds:.1f} s" for one, dvc_seconds in turns)
    return [
        f"## The bundled data (4,454 rows, {'two light families: a check, not a figure' if SMALL else 'every family'}; {stages} stage runs)", "",
        "| run | seconds | against one process |", "|---|---:|---:|",
        f"| (a) the same stages' main() in one process (median of {repeats}) | {in_process:.1f} | 1.00 |",
        f"| (a) `dvc repro` from scratch, stage server on (the default; median ratio of {repeats} turns) "
        f"| {statistics.median(dvc_seconds for _, dvc_seconds in turns):.1f} | {statistics.median(ratios):.2f} |",
        f"| (a) `dvc repro` from scratch, `TABULAR_MLOPS_STAGE_SERVER=0` | "
        + ("not run with --small | |" if without_server is None else f"{without_server:.1f} | {without_server / in_process:.2f} |"),
        f"| (b) no-op `dvc repro` (median of {NOOP_RUNS}) | {noop:.2f} | |",
        f"| (c) `dvc repro` after `train.model: logistic_regression` (train and what follows) | {train_change:.1f} | |", "",
        f"(a) turn by turn, one process and `dvc repro`: {each}; ratios {', '.join(f'{ratio:.2f}' for ratio in ratios)}.", "",
    ]


def seconds_without_server(repo: Path) -> float:
    """`dvc repro` with every stage in an interpreter of its own (the same stages as with the server,
    each paying its imports: in --small, the row that would take longest and check nothing new)."""
    os.environ["TABULAR_MLOPS_STAGE_SERVER"] = "0"
    try:
        return timed(lambda: run_dvc(repo, "repro"))
    finally:
        del os.environ["TABULAR_MLOPS_STAGE_SERVER"]


def stages_section(scratch: Path, sizes: list[int], pipeline_rows: int) -> list[str]:
    """(d)."""
    lines = ["## (d) Each stage's process: wall seconds / peak GiB", "",
             f"Above {pipeline_rows:,} rows only {', '.join(EARLY_STAGES)} run.", ""]
    table: dict[str, dict[int, str]] = {}
    for rows in sizes:
        repo = synth_copy(scratch, rows)
        for command in stage_commands(repo, None if rows <= pipeline_rows else EARLY_STAGES):
            seconds, peak = measure_stage(repo, command)
            table.setdefault(" ".join(command[2:]).removeprefix("stages."), {})[rows] = f"{seconds:.1f} s / {peak:.2f}"
        shutil.rmtree(repo)
    lines += ["| stage | " + " | ".join(f"{rows:,} rows" for rows in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    lines += [f"| {stage} | " + " | ".join(cells.get(rows, "") for rows in sizes) + " |" for stage, cells in table.items()]
    return lines + [""]


def pipeline_section(scratch: Path, rows: int) -> list[str]:
    """(e)."""
    runs = []
    for label, configure in (
        ("default params", None),
        ("`train.model: hist_gradient_boosting`, alone on the leaderboard",
         lambda params: (params["train"].update(model="hist_gradient_boosting"),
                         params["leaderboard"].update(families=["hist_gradient_boosting"]))),
    ):
        repo = synth_copy(scratch, rows, configure)
        seconds = timed(lambda: run_dvc(repo, "repro"))
        roc_auc = json.loads((repo / "metrics/evaluate/metrics.json").read_text())["test"]["roc_auc"]
        runs.append((label, seconds, roc_auc))
        table = repo / "data/raw/synth.parquet"
    script = scratch / "plain.py"
    script.write_text(PLAIN_SCRIPT)
    start = time.perf_counter()
    plain = subprocess.run([sys.executable, str(script), str(table)], env=environment(), capture_output=True, text=True, check=True)
    plain_seconds = time.perf_counter() - start
    lines = [f"## (e) The whole pipeline on {rows:,} rows", "",
             "| run | seconds | against the plain script | test ROC-AUC |", "|---|---:|---:|---:|",
             f"| a plain script: read, drop incomplete rows, split, logistic regression, score | {plain_seconds:.1f} | 1.0 | {float(plain.stdout):.4f} |"]
    lines += [f"| `dvc repro` from scratch, {label} | {seconds:.1f} | {seconds / plain_seconds:.1f} | {roc_auc:.4f} |" for label, seconds, roc_auc in runs]
    return lines + [""]


def dask_section(scratch: Path, rows: int) -> list[str]:
    """(f), when the engine can be chosen."""
    if "engine" not in yaml.safe_load((ROOT / "params.yaml").read_text()):
        return ["## (f) Dask", "", "Not measured: params.yaml has no `engine` section on this commit.", ""]
    seconds = {}
    for engine in ("pandas", "dask"):
        repo = synth_copy(scratch, rows, lambda params: params["engine"].update(name=engine))
        seconds[engine] = [measure_stage(repo, command)[0] for command in stage_commands(repo, EARLY_STAGES)]
    lines = [f"## (f) The Dask engine on a two-worker local cluster, {rows:,} rows: wall seconds", "",
             "| stage | pandas | dask | dask / pandas |", "|---|---:|---:|---:|"]
    lines += [f"| {stage} | {plain:.1f} | {dask:.1f} | {dask / plain:.2f} |" for stage, plain, dask in zip(EARLY_STAGES, seconds["pandas"], seconds["dask"])]
    return lines + [""]


def machine() -> list[str]:
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in ("dvc", "pandas", "scikit-learn", "numpy", "pyarrow"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return ["# Benchmarks", "", f"Measured {datetime.date.today()} on {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}; "
            f"{versions}; commit {commit or 'unknown'}. Command: `python benchmarks/run.py {' '.join(sys.argv[1:])}`. "
            f"Load average at the start: {os.getloadavg()[0]:.2f}.", ""]


# Sections below this line are written by other commands (benchmarks/install.py): run.py keeps them.
KEPT_MARKER = "<!-- measured by other commands; benchmarks/run.py keeps what follows -->"


def kept_sections(previous: str) -> list[str]:
    """The lines of the previous results file from KEPT_MARKER on, or none."""
    lines = previous.split("\n")
    return lines[lines.index(KEPT_MARKER):] if KEPT_MARKER in lines else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,10000000", help="rows of the synthetic tables for (d)")
    parser.add_argument("--pipeline-rows", type=int, default=1_000_000, help="the largest size that runs every stage, and (e)'s size")
    parser.add_argument("--small", action="store_true", help="every run on two light families, and (a) without the stage server left out (a check, not a figure)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results.md"))
    parser.add_argument("--repeats", type=int, default=3, help="(a)'s turns of one process against dvc repro (default: 3)")
    parser.add_argument("--sections", default="abc,d,e,f", help="which parts to measure: abc (the bundled data), d, e, f (default: all)")
    arguments = parser.parse_args()
    sections = set(arguments.sections.split(","))
    sizes = sorted(int(size) for size in arguments.sizes.split(","))
    pipeline_size = max((size for size in sizes if size <= arguments.pipeline_rows), default=sizes[0])
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        global SMALL
        SMALL = arguments.small
        lines = machine()
        lines += bundled_section(scratch, arguments.repeats) if "abc" in sections else []
        lines += stages_section(scratch, sizes, arguments.pipeline_rows) if "d" in sections else []
        lines += pipeline_section(scratch, pipeline_size) if "e" in sections else []
        lines += dask_section(scratch, pipeline_size) if "f" in sections else []
    lines += [f"Load average (1, 5, 15 min) at the end: {', '.join(f'{load:.2f}' for load in os.getloadavg())}: "
              "other work on the machine slows every row alike only if it ran throughout.", ""]
    out = Path(arguments.out)
    lines += kept_sections(out.read_text() if out.exists() else "")
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
