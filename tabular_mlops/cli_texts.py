"""What `tabular-mlops COMMAND --help` tells a user: what the command does, examples, and the
environment variables it reads. Written for users: no source files, no internal names.

tests/test_cli_help.py checks every command has an example and names no source file or constant.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from tabular_mlops.stage_server.protocol import IDLE_SECONDS  # standard library only: cheap


@dataclass(frozen=True)
class Help:
    summary: str  # the line in `tabular-mlops --help`'s list of commands
    description: str
    examples: tuple[str, ...]
    environment: tuple[tuple[str, str], ...] = ()

    def epilog(self) -> str:
        lines = ["examples:", *(f"  {example}" for example in self.examples), "", "environment variables:"]
        width = max((len(name) for name, _ in self.environment), default=0)
        lines += [f"  {name:<{width}}  {meaning}" for name, meaning in self.environment] or ["  none"]
        return "\n".join(lines)


def add_command(commands, name: str, text: Help) -> argparse.ArgumentParser:
    return commands.add_parser(name, help=text.summary, description=text.description, epilog=text.epilog(),
                               formatter_class=argparse.RawDescriptionHelpFormatter)


API_KEY = ("TABULAR_MLOPS_API_KEY", "the key the service asks for in the X-API-Key header (unset: no key)")
PSEUDONYM_KEY = ("TABULAR_MLOPS_PSEUDONYM_KEY", "the pseudonym key itself, at least 32 characters, used instead of the key file")
PREDICTION_LOG = ("TABULAR_MLOPS_PREDICTION_LOG", "as --log")
PSEUDONYM_KEY_FILE = ("TABULAR_MLOPS_PSEUDONYM_KEY_FILE", "as --key-file")

ROOT_EPILOG = """\
exit codes:
  0  success
  1  a verdict you asked for: a gate failed, drift was found, too many rows were rejected,
     a review found a regression, an experiment failed (one `verdict:` line says which)
  2  bad usage or input (one `error:` line says what to fix)

examples:
  tabular-mlops contract
  tabular-mlops score data/new.csv --output data/scored.parquet
  tabular-mlops serve --port 8000"""

INIT = Help(
    summary="make this clone a project for your own table (once, from a fresh clone)",
    description="""\
Turn the repository, which holds a bundled example, into a project for your own table. It
copies the table into data/raw/ (a table over 50 MB is added to DVC rather than git), sets the
data: block of params.yaml, drafts data/contract.yaml and prints each column it suggests as
personal or protected, names the model artifact in dvc.yaml, writes a README for the project,
and removes the example's table, the outputs it committed (dvc.lock files, metrics/) and the
template's own tests and benchmarks, which run on it; .ci/run and the pull-request workflow then
check that the pipeline passes its gates and reproduces your committed results. It
states the task it inferred from the target and the positive class it chose, with the flag that
overrules each. It commits nothing: review the change with `git status` and `git diff`, run
`dvc repro`, then commit. It runs once, on a clean git tree, from the project's root folder.""",
    examples=("tabular-mlops init --table ~/admissions.csv --target readmitted --name readmissions",
              "tabular-mlops init --table loans.parquet --target defaulted --positive-class yes"))

CONTRACT = Help(
    summary="draft the data contract from the table that params.yaml names",
    description="""\
Read the table at data.path (params.yaml) and write a draft of its data contract to
data.contract: each column's type, range, categories and whether it may be missing. It prints
what it decided for the columns worth a second look (identifiers, dates, personal data).
Review the draft, then commit it: the pipeline and the service refuse rows that break it.""",
    examples=("tabular-mlops contract", "tabular-mlops contract --force"))

SWEEP = Help(
    summary="run a grid of experiments and rank them by a cross-validated metric",
    description="""\
Queue one DVC experiment per combination of the -S values, run them -j at a time while
printing their progress, then rank the ones that succeeded by --metric (by default the task's
cross-validated primary metric: cv.roc_auc_mean, or cv.rmse_mean for regression).

A failed experiment is named with its error, and the sweep exits 1. --apply-best applies the
best experiment to the workspace; it refuses a metric measured on the test split (test.*,
over_baseline.*, baseline.*), because choosing on the test split makes its score optimistic.
Each experiment runs up to --target (default: gate); after --apply-best, `dvc repro` bundles,
scores and monitors the winner.""",
    examples=("tabular-mlops sweep -S train.model=logistic_regression,random_forest -S seed=1,2 -j 2",
              "tabular-mlops sweep -S train.model=logistic_regression,hist_gradient_boosting --apply-best"))

REVIEW = Help(
    summary="compare the workspace's results with a git revision",
    description="""\
Compare the pipeline's results in the workspace with those of a git revision and write a
Markdown report: each gated metric with its base value, new value and change; `dvc metrics
diff` and `dvc params diff`; the gate results; which plot data changed.

A gated metric worse by more than review.tolerance (params.yaml) is a regression: the report is
written and the command exits 1. Run `dvc repro` first: it compares files, it runs nothing.""",
    examples=("tabular-mlops review --base main", "tabular-mlops review --base origin/main --output review.md"))

SERVE = Help(
    summary="serve the model over HTTP",
    description="""\
Serve the model bundle over HTTP. The bundle is verified first (its checksums, and when it
lies inside this project, that it matches dvc.lock), so a tampered or stale model is refused
with one line before the server starts. --stage or --rev serve a version of the model registry
instead, fetched with its dvc.lock and checked against it.

--shadow-model, --shadow-stage or --shadow-rev load a challenger beside the model: it scores
every request after the answer has left, and the log keeps its outputs under the same
prediction id; the answers stay the model's own.

endpoints:
  POST /predict          score one JSON record
  POST /predict/batch    score a JSON list of records, or a CSV table (Content-Type: text/csv)
  POST /feedback         record the observed outcome of a prediction
  GET  /health           alive (needs no key)
  GET  /ready            the model is loaded and verified
  GET  /version          which model answers, trained on what data, and how it tested
  GET  /metrics          Prometheus metrics
  GET  /docs             the interactive API page (/openapi.json: its schema)
  POST /admin/swap       serve another model without downtime: {"stage": "prod"}, {"version":
                         "v1.2.0"} or {"model": "<folder>"}; needs TABULAR_MLOPS_API_KEY set
SIGHUP loads again what serve was started with (a stage: the version it points at now; a
folder: its current files) and swaps to it. A swap loads and verifies the new model while the
old one answers; a model that fails verification is refused and the old one keeps serving.
  curl -X POST -H 'X-API-Key: change-me' -d '{"stage": "prod"}' http://127.0.0.1:8000/admin/swap
?explain=true on /predict and /predict/batch adds each answer's explanation. Every error
answers {"errors": [{"field": ..., "rule": ...}]}, and never repeats a value it was sent.

Each setting comes from its flag, else its environment variable, else the serve: block of
params.yaml when the current folder has one (a project), else the built-in default. The first
line on standard error says which came from where.""",
    examples=("tabular-mlops serve",
              "TABULAR_MLOPS_API_KEY=change-me tabular-mlops serve --model models/bundle --host 0.0.0.0 --workers 2",
              "tabular-mlops serve --stage prod --shadow-stage staging"),
    environment=(API_KEY, PSEUDONYM_KEY,
                 ("TABULAR_MLOPS_MODEL", "as --model"), ("TABULAR_MLOPS_HOST", "as --host"), ("TABULAR_MLOPS_PORT", "as --port"),
                 ("TABULAR_MLOPS_WORKERS", "as --workers"), PREDICTION_LOG,
                 ("TABULAR_MLOPS_MAX_BODY_BYTES", "as --max-body-bytes"), ("TABULAR_MLOPS_MAX_ROWS", "as --max-rows"),
                 PSEUDONYM_KEY_FILE,
                 ("PROMETHEUS_MULTIPROC_DIR", "with --workers above 1, the folder where workers share their metrics "
                                              "(unset: a new temporary folder)")))

SCORE = Help(
    summary="score a CSV or Parquet file with the model; bad rows go to a rejects file",
    description="""\
Score a CSV or Parquet file of any size with the model bundle, a chunk at a time. Each row
is checked against the bundle's data contract: rows that break it go to the rejects file with
the rules they break, the others are scored into --output. Personal columns are written as
keyed pseudonyms, with the same key as the service's (its key file, or the variable below).

Rejected rows are counted, not an error. With --max-reject-rate, more rejects than that share
of the rows is a verdict: everything is written, then the command exits 1.""",
    examples=("tabular-mlops score data/new.csv --output data/scored.parquet",
              "tabular-mlops score data/new.csv --output data/scored.csv --max-reject-rate 0.05 --explain"),
    environment=(PSEUDONYM_KEY, ("TABULAR_MLOPS_PSEUDONYM_KEY_FILE", "the pseudonym key file (else serve.key_file in params.yaml)")))

ERASE = Help(
    summary="remove a person's records from the prediction log",
    description="""\
Remove a person's records from the prediction log: their predictions, the feedback on them and
their pseudonyms are deleted, and the deleted bytes overwritten. --value is the person's value
in a personal column as it was sent to the service (an email address, a name); its keyed
pseudonym finds their records, so the key must be the one the log was written with. The value
is never printed. With --value - it is read from standard input (on a terminal, from a prompt
that does not echo it), so it stays out of the shell's history. Finding nothing is not an
error: the line says so.""",
    examples=("tabular-mlops erase --value -", "tabular-mlops erase --value ann@example.org --log logs/predictions.sqlite"),
    environment=(PSEUDONYM_KEY, PREDICTION_LOG, PSEUDONYM_KEY_FILE))

DEMO_DRIFT = Help(
    summary="see the monitor flag drift on batches scored by the running service",
    description="""\
Score the test split and a shifted batch made from it through the service at --url, then run
the monitor on both answers against the reference profile: it should flag drift on the shifted
batch and not on the other. A report per batch is written under --output. Start the service
first (`tabular-mlops serve`).

The shift uses the model's own inputs: the category it is least sure of weighs 15 times, the
quarter of the numeric input its score follows most (whichever end it is less sure of) 3 times,
and that input moves half a standard deviation that way; the first line printed names them. A
table without a numeric or categorical input is refused.""",
    examples=("tabular-mlops demo-drift", "tabular-mlops demo-drift --url http://127.0.0.1:8000 --output monitoring-demo"),
    environment=(("TABULAR_MLOPS_API_KEY", "the key to send in the X-API-Key header, when the service asks for one"),))

SYNTH = Help(
    summary="write a synthetic table of any size drawn from the project's table",
    description="""\
Write a table of --rows rows drawn from the source table: its rows resampled with replacement
and their numbers jittered (integers stay integers, values stay within the data contract's
ranges), so missing rates, category shares and class balance stay the same. The same seed
gives the same rows. It is written a chunk at a time, so it may be larger than memory.""",
    examples=("tabular-mlops synth --rows 100_000 --output data/synthetic.parquet",
              "tabular-mlops synth --rows 10_000_000 --output big.csv --seed 7"))

DEBUG = Help(
    summary="look inside the pipeline's machinery (the stage server)",
    description="Tools for finding out what the pipeline's machinery is doing; not needed to use the project.",
    examples=("tabular-mlops debug stage-server status",))

STAGE_SERVER = Help(
    summary="list or stop the warm interpreters that run the pipeline's stages",
    description=f"""\
`dvc repro` runs each stage in a process forked from a stage server: an interpreter that has
already imported the pipeline's libraries, which saves each stage their start-up. A server
starts with the first stage that finds none, and exits after {IDLE_SECONDS // 60} minutes unused, or when a
library it imported changes on disk. status lists the servers running for you; stop stops
them (stages already running finish).""",
    examples=("tabular-mlops debug stage-server status", "tabular-mlops debug stage-server stop"),
    environment=(("TABULAR_MLOPS_STAGE_SERVER", "0: run every stage in a fresh interpreter instead"),
                 ("XDG_RUNTIME_DIR", "the folder for the servers' sockets (else TMPDIR, else /tmp)")))
