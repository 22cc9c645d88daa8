"""Sweep a grid of params as DVC experiments, in parallel, and fail loudly if any failed.

    tabular-mlops sweep -S train.model=logistic_regression,mlp -S seed=1,2 -j 2 [--apply-best]

Queues one experiment per combination (`dvc exp run --queue -S ...`), starts `-j` workers,
prints progress as experiments change state, stops the workers, then ranks the successful
experiments by `--metric` (read from `dvc exp show --csv`, which lists the headline figures of
metrics/evaluation/: test.*, cv.*_mean, over_baseline.*, fairness.*). A failed experiment is a
verdict (exit 1), each named with its error quoted, because `dvc exp run --run-all` and `dvc queue` exit 0 then.

The default `--metric` is the task's primary cross-validated metric (cv.roc_auc_mean,
cv.rmse_mean). `--apply-best` refuses a metric measured on the test split (test.*,
over_baseline.*, baseline.*): choosing on the test split makes its score optimistic.
Each experiment runs up to `--target` (default: the gate); `dvc repro` after `--apply-best`
bundles, scores and monitors the winner.
"""
from __future__ import annotations

import argparse
import csv
import io
import itertools
import subprocess
import sys
import time
from datetime import datetime, timezone

from tabular_mlops.errors import StageError, Verdict
from tabular_mlops.metrics import CV_METRICS_BY_TASK, METRICS_BY_TASK, PRIMARY_METRIC, gate_metric_names, higher_is_better
from tabular_mlops.reporting.headline import headline_column

DONE = {"Success", "Failed"}
# Each `dvc queue status` is a DVC start-up (seconds of CPU): polling faster would slow the experiments.
POLL_SECONDS = 5
# evaluate's sections scored on the test split: ranking by them to choose spends the test set.
TEST_SECTIONS = ("test", "over_baseline", "baseline")


def dvc(*arguments: str, check: bool = True) -> str:
    result = subprocess.run([sys.executable, "-m", "dvc", *arguments], capture_output=True, text=True)
    if check and result.returncode != 0:
        said = " ".join(line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip())
        raise StageError(f"dvc {' '.join(arguments)} failed: {said}")
    return result.stdout


def start_workers(jobs: int) -> subprocess.Popen:
    """`dvc queue start` lives as long as its workers, so it runs beside the polling loop.

    Its output goes nowhere: each experiment's log is in `dvc queue logs NAME`.
    """
    return subprocess.Popen([sys.executable, "-m", "dvc", "queue", "start", "-j", str(jobs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def grid(assignments: list[str]) -> list[list[str]]:
    """['a=1,2', 'b=x'] -> [['a=1', 'b=x'], ['a=2', 'b=x']]."""
    axes = []
    for assignment in assignments:
        key, separator, values = assignment.partition("=")
        if not separator or not key or not values:
            raise StageError(f"-S {assignment!r}: expected KEY=VALUE[,VALUE...]")
        axes.append([f"{key}={value}" for value in values.split(",")])
    return [list(combination) for combination in itertools.product(*axes)]


def queue_status() -> dict[str, str]:
    """{experiment name: Queued | Running | Success | Failed} from `dvc queue status`."""
    states = {}
    for line in dvc("queue", "status").splitlines()[1:]:
        tokens = line.split()
        if len(tokens) >= 4 and not line.startswith("Worker status"):
            states[tokens[1]] = tokens[-1]
    return states


def wait(names: list[str], started: float) -> dict[str, str]:
    """Poll the queue, printing each change of state, until every experiment is done."""
    seen: dict[str, str] = {}
    while True:
        current = queue_status()
        states = {name: current.get(name, "Queued") for name in names}
        for name, state in states.items():
            if seen.get(name) != state:
                print(f"[{time.monotonic() - started:6.1f} s] {name}: {state}", flush=True)
        seen = states
        if all(state in DONE for state in states.values()):
            return states
        time.sleep(POLL_SECONDS)


def error_lines(name: str) -> str:
    log = dvc("queue", "logs", name, check=False)
    errors = [line.strip() for line in log.splitlines() if line.startswith(("verdict:", "error:", "ERROR:"))]
    return "; ".join(errors) or "see `dvc queue logs " + name + "`"


def default_metric(task: str) -> str:
    return f"cv.{PRIMARY_METRIC[task]}_mean"


def chosen_metric(metric: str | None, apply_best: bool, task: str | None = None) -> str:
    """The metric to rank by: the given one, or the task's primary CV metric; refused if it would choose on the test split.

    `task` is read from params.yaml (load_params) only when it is needed and not given.
    """
    def the_task() -> str:
        from tabular_mlops.config.params import load_params

        return task or load_params().data.task

    metric = metric or default_metric(the_task())
    section, _, name = metric.rpartition(":")[2].rpartition(".")
    try:
        higher_is_better(metric)
    except KeyError:
        if section.endswith("calibration"):
            raise StageError(f"--metric {metric!r}: the calibration's ideal is in the middle (intercept 0, slope 1), so it ranks "
                             "nothing; gate it with a min and a max instead") from None
        raise StageError(f"--metric {metric!r} is not a metric; choose one of {', '.join(gate_metric_names(the_task()))}") from None
    if headline_column(metric.rpartition(":")[2]) is None:
        raise StageError(f"--metric {metric!r}: `dvc exp show` does not list it (CV spreads and the baseline are only in"
                         " metrics/evaluate/metrics.json); rank by a test.*, cv.*_mean or over_baseline.* metric")
    if apply_best and section in TEST_SECTIONS:
        # The same metric cross-validated, where the task's CV reports it (accuracy is CV'd for multiclass only).
        cross_validated = CV_METRICS_BY_TASK[the_task()] if name in METRICS_BY_TASK[the_task()] else {n for names in CV_METRICS_BY_TASK.values() for n in names}
        cv_name = f"cv.{name}_mean" if name in cross_validated else default_metric(the_task())
        raise StageError(f"--apply-best with --metric {metric} would choose on the test split and make its test score optimistic; rank by {cv_name} instead")
    return metric


def parse_ranking(table_csv: str, names: list[str], metric: str) -> list[tuple[str, float]]:
    """The named experiments' values of `metric` from `dvc exp show --csv` text, best first."""
    table = list(csv.DictReader(io.StringIO(table_csv)))
    wanted = headline_column(metric.rpartition(":")[2])
    column = next((c for c in (table[0] if table else {}) if c == wanted), None)
    if column is None:
        raise StageError(f"--metric {metric!r} is not a column of `dvc exp show`")
    scored = [(row["Experiment"], float(row[column])) for row in table if row.get("Experiment") in names and row[column] not in ("", "-")]
    sign = -1 if higher_is_better(metric) else 1
    return sorted(scored, key=lambda item: sign * item[1])


def ranking(names: list[str], metric: str) -> list[tuple[str, float]]:
    return parse_ranking(dvc("exp", "show", "--csv"), names, metric)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-S", "--set-param", action="append", required=True, metavar="KEY=V1,V2", help="a param and its values")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="experiments run in parallel")
    parser.add_argument("--metric", default=None,
                        help="rank by this metric (default: the task's cross-validated primary metric, cv.roc_auc_mean or cv.rmse_mean)")
    parser.add_argument("--apply-best", action="store_true", help="`dvc exp apply` the best experiment")
    parser.add_argument("--prefix", default=datetime.now(timezone.utc).strftime("sweep-%Y%m%d-%H%M%S"), help="experiment name prefix")
    parser.add_argument("--target", default="gate",
                        help="reproduce each experiment up to this stage (default: gate, where the metrics and gates are;"
                             " bundling, scoring and monitoring every candidate would be wasted); `all`: every stage")


def run(arguments: argparse.Namespace) -> int:
    # Checked before anything is queued: a refused metric costs nothing.
    metric = chosen_metric(arguments.metric, arguments.apply_best)
    combinations = grid(arguments.set_param)
    names = [f"{arguments.prefix}-{number}" for number in range(1, len(combinations) + 1)]
    for name, combination in zip(names, combinations):
        targets = [] if arguments.target == "all" else [arguments.target]
        dvc("exp", "run", "--queue", "--name", name, *itertools.chain.from_iterable(("-S", item) for item in combination), *targets)
        print(f"queued {name}: {' '.join(combination)}", flush=True)
    started = time.monotonic()
    starter = start_workers(arguments.jobs)
    try:
        states = wait(names, started)
    finally:
        dvc("queue", "stop", check=False)  # the workers: nothing keeps running after the sweep
        try:
            starter.wait(timeout=60)
        except subprocess.TimeoutExpired:
            starter.kill()
    print(f"done in {time.monotonic() - started:.1f} s")

    # `dvc exp show` also lists failed experiments, with their baseline's numbers: rank the
    # successful ones only.
    ranked = ranking([name for name in names if states[name] == "Success"], metric)
    settings = dict(zip(names, combinations))
    for place, (name, value) in enumerate(ranked, start=1):
        print(f"{place:>3}. {name}  {metric}={value:g}  {' '.join(settings[name])}")
    if arguments.apply_best and ranked:
        dvc("exp", "apply", ranked[0][0])
        print(f"applied {ranked[0][0]} to the workspace" + ("; `dvc repro` bundles, scores and monitors it" if arguments.target != "all" else ""))
    failed = [name for name in names if states[name] == "Failed"]
    for name in failed:
        print(f"experiment {name} ({' '.join(settings[name])}) failed: {error_lines(name)}", file=sys.stderr)
    if failed:
        raise Verdict(f"sweep failed: {len(failed)} of {len(names)} experiments failed")
    return 0

