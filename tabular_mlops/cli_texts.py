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
RUNTIME = ("TABULAR_MLOPS_RUNTIME", "as --runtime")

ROOT_EPILOG = """\
exit codes:
  0  success
  1  a verdict you asked for: a gate failed, drift was found, too many rows were rejected,
     a review found a regression, an experiment failed, the comparison refused a promotion
     (one `verdict:` line says which)
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
line on standard error says which came from where, the second which runtime answers: the
bundle's compiled model (onnxruntime) or the pickled pipeline (scikit-learn), and why.""",
    examples=("tabular-mlops serve",
              "TABULAR_MLOPS_API_KEY=change-me tabular-mlops serve --model models/bundle --host 0.0.0.0 --workers 2",
              "tabular-mlops serve --stage prod --shadow-stage staging"),
    environment=(API_KEY, PSEUDONYM_KEY,
                 ("TABULAR_MLOPS_MODEL", "as --model"), ("TABULAR_MLOPS_HOST", "as --host"), ("TABULAR_MLOPS_PORT", "as --port"),
                 ("TABULAR_MLOPS_WORKERS", "as --workers"), PREDICTION_LOG,
                 ("TABULAR_MLOPS_MAX_BODY_BYTES", "as --max-body-bytes"), ("TABULAR_MLOPS_MAX_ROWS", "as --max-rows"),
                 PSEUDONYM_KEY_FILE, RUNTIME,
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
    environment=(PSEUDONYM_KEY, ("TABULAR_MLOPS_PSEUDONYM_KEY_FILE", "the pseudonym key file (else serve.key_file in params.yaml)"),
                 RUNTIME))

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

EXPORT_LABELS = Help(
    summary="add the outcomes fed back to the service to the training data",
    description="""\
Append the labelled rows of a window of the prediction log (predictions whose outcome came back
through /feedback) to a training table, by default data/returned/labels.parquet. A row holds the
model's inputs as logged and the outcome as the target: never a personal column, a prediction, an
id or a time. Each row is checked with the data contract's rules; rows that break one go to the
table's name with the suffix .rejects.csv, with the rules they break. A prediction already in the
table is not added again, so windows may overlap. In a DVC repository the table is then tracked
with `dvc add`, and the line printed says what to commit. Train on it by listing it in
data.extra_paths in params.yaml. A window without a new labelled row leaves the table as it was.""",
    examples=("tabular-mlops export-labels",
              "tabular-mlops export-labels --since 2024-05-01 --until 2024-06-01 --log logs/predictions.sqlite"),
    environment=(PREDICTION_LOG,))

COMPARE = Help(
    summary="compare the model with the registered champion on the same rows; promote or keep",
    description="""\
Score the model the pipeline built (models/bundle, checked against dvc.lock) and the champion, a
registered version of the model (--champion, else promote.champion in params.yaml), on the very
same rows: the test split, plus with --log the rows of the prediction log that have an outcome
(--since and --until choose a window), but not those export-labels put in a data.extra_paths
table: the challenger was trained on them. It prints a table of both models' figures: the compared
metric (promote.metric; null: ROC-AUC, or RMSE for regression), the Brier score and expected
calibration error, each fairness gap a gate bounds; then each model's latency, one row at a time
and per 1,000 rows.

The gain is how much better the challenger scores than the champion (the difference, signed so
that positive is better whichever way the metric points), with a paired bootstrap interval:
each of promote.bootstrap_rounds resamples of the rows (by class for classification) scores both
models, seeded by seed. The decision is promote when the challenger passed its gates, every
gated fairness gap holds on these rows, and either there is no champion yet or the gain is more
than promote.min_gain with the interval above zero; else keep, with every reason, and the
command exits 1.""",
    examples=("tabular-mlops compare",
              "tabular-mlops compare --champion v1.2.0 --log logs/predictions.sqlite --since 2025-06-01 --output compare.json"))

REGISTER = Help(
    summary="register the model of the current commit as a version in the model registry",
    description="""\
Register the commit HEAD as a version of the model artifact that dvc.yaml names: a git tag
(<artifact>@v1.2.0, the artifact named in dvc.yaml) whose message records the commit, the md5
of the training data, the model's sha256 and its test metrics, so the version can be traced and
fetched again. The first version is v1.0.0, then the next minor (v1.1.0, v1.2.0, ...); a
--version must be greater than the latest.

It refuses a commit whose results are not committed (models/bundle is not the bundle the
commit's dvc.lock records: run `dvc repro`, then commit) and one whose gates did not pass. A
commit already registered is not registered again: the line says as which version.
`git push --tags` shares the registry.""",
    examples=("tabular-mlops register", "tabular-mlops register --version v2.0.0"))

VERSIONS = Help(
    summary="list the registered versions of the model, their stages and test figures",
    description="""\
List the registered versions of the model, newest first: the commit, when it was registered,
the stages pointing at it now, the md5 of the training data (data.path; +N when more tables were
added to it), the primary test metric at that commit (promote.metric, else the task's: roc_auc,
rmse for regression) and a note for each forced promotion or rollback that assigned it.""",
    examples=("tabular-mlops versions", "tabular-mlops versions --json"))

PROMOTE = Help(
    summary="promote the challenger to a registry stage when the comparison with the champion says so",
    description="""\
Assign a registry stage (promote.stage, e.g. prod) to the model of the current commit when the
compare stage says so. metrics/compare.json must be current: it compared the bundle in the
working tree with the version the stage points at now; otherwise it is refused (exit 2) with
what was compared with what: run `dvc repro compare`. When the comparison says keep, the
promotion is refused (exit 1) with its reasons, unless --force --reason TEXT: a forced
promotion is recorded in the registry with the reason and your git user.name. A commit whose
gates failed is not registered, so it is never promoted, forced or not.

The commit is registered first when it is not yet (as `tabular-mlops register` does), the
stage's previous version is unassigned, and promote.champion in params.yaml is set to the new
version (its comments kept). It prints the next steps: commit params.yaml, push the tags, and
reload a running service (POST /admin/swap).""",
    examples=("tabular-mlops promote", "tabular-mlops promote --stage staging",
              "tabular-mlops promote --force --reason \"the drop is within the noise of last month's labels\""))

ROLLBACK = Help(
    summary="move a registry stage back to the version promoted before the current one",
    description="""\
Point a registry stage (promote.stage, e.g. prod) back at the version that was promoted to it
before the current one, record the rollback in the registry with your git user.name, and set
promote.champion in params.yaml to it. A rollback steps back through the promotions: a second
rollback goes one promotion further back, never forth to the version the first one left, and
with a single version left there is nothing to roll back to (exit 2). It prints the same next
steps as promote.""",
    examples=("tabular-mlops rollback", "tabular-mlops rollback --stage staging"))

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

DEMO_TRAFFIC = Help(
    summary="send a changed world through the running service and feed its outcomes back",
    description="""\
New rows, drawn from the training split (whole rows resampled, numbers jittered by 5 %) and
shifted as demo-drift shifts, are scored by the service at --url; in the rows of the category the
model is least sure of, the outcome becomes the positive class 9 times in 10, a change the model
never learnt. Every outcome is then posted to /feedback, as returned labels would be. The answers,
with the outcomes, are written as a scored table to --output (for the monitor), and the last line
gives the window of the prediction log that holds them (for export-labels). Binary classification
only. Start the service first (`tabular-mlops serve`).""",
    examples=("tabular-mlops demo-traffic --rows 3000 --output data/scored/traffic.parquet",),
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
