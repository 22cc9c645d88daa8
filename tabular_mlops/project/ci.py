"""The continuous integration `tabular-mlops init` leaves: a check of the user's project.

The template's own test suite runs on the bundled example, so it leaves with the example; what a
project needs checked on every change is that the pipeline, run from nothing on a fresh clone,
passes its gates and gives the results committed beside the code, byte for byte.
"""
from __future__ import annotations

from tabular_mlops.errors import StageError

WORKFLOW = ".github/workflows/pull-request.yml"
RESULTS = "dvc.lock leaderboard/dvc.lock metrics"
# What `.ci/run` runs after the install: every stage again, then the committed results compared.
CHECKS = ("dvc repro --force", f"git diff --exit-code -- {RESULTS}")

# The pull-request workflow's steps that run the template's tests, and what replaces them.
TEMPLATE_STEPS = {
    "        run: dvc repro\n": "        run: dvc repro --force\n",
    """      # Runs even when `dvc repro` failed (e.g. a failing gate), so one failure does not hide
      # another. The same command as .ci/run.
      - name: Run the tests
        if: ${{ !cancelled() && steps.install.outcome == 'success' }}
        run: python -m pytest -n 2
""": f"""      # The results committed beside the code must be what the pipeline gives. As .ci/run.
      - name: Check that the committed results reproduce
        if: ${{{{ !cancelled() && steps.repro.outcome == 'success' }}}}
        run: git diff --exit-code -- {RESULTS}
""",
}


def project_ci(table_in_dvc: str | None) -> str:
    """`.ci/run` for the project; `table_in_dvc`: the table's path when DVC, not git, holds it."""
    pull = f"dvc pull {table_in_dvc}  # the table is in DVC: set a remote (dvc remote add -d) and push it\n" if table_in_dvc else ""
    return f"""#!/usr/bin/env bash
# This project's check, written by `tabular-mlops init`: on a clean clone, the pipeline runs
# every stage from nothing, must pass its gates (a failed gate exits non-zero), and must give the
# committed dvc.lock files and metrics/ byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
export DVC_NO_ANALYTICS=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_QUIET=1

python3.11 -m venv .venv
. .venv/bin/activate
pip install -e .
{pull}{CHECKS[0]}
{CHECKS[1]}
echo "the pipeline passes its gates and reproduces the committed results"
"""


def project_workflow(text: str) -> str:
    """The pull-request workflow with the template's test step replaced by the project's check."""
    for old, new in TEMPLATE_STEPS.items():
        if text.count(old) != 1:
            raise StageError(f"{WORKFLOW}: the step {old.strip().splitlines()[-1]!r} is not there once as the template"
                             " writes it; init edits only the workflow as the template ships it")
        text = text.replace(old, new)
    return text
