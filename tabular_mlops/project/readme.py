"""The words `tabular-mlops init` leaves behind: the project's README and the next steps it prints."""
from __future__ import annotations

# An example bar per task, beside the defaults (which are relative to the no-skill baseline).
OWN_GATE = {"classification": "{metric: test.roc_auc, min: 0.80}",
            "regression": "{metric: test.rmse, max: <in the target's units>}"}


def project_readme(changes) -> str:
    """A short README for the user's project (`changes`: project.changes.Changes)."""
    data, choice = changes.data, changes.choice
    return f"""# {changes.name}

A model of `{data.target}` from the table `{data.path}` ({choice.task}; it outputs {choice.output}),
built by the tabular-mlops pipeline: validate, prepare, featurize, a leaderboard of
cross-validated model families, train, evaluate, gates, bundle, batch scoring and monitoring,
all run by DVC.

## Run it

```bash
python3.11 -m venv .venv && . .venv/bin/activate && pip install -e .
dvc repro
```

`dvc repro` fails when the model misses a gate (`gates.{choice.task}` in `params.yaml`). Then:

- `metrics/model_card.md`: the model card (what was trained, how it scores, fairness by group);
- `dvc metrics show`: the figures; `dvc plots show`: the plots;
- `tabular-mlops serve --model models/bundle`: the model over HTTP.

## Check it

```bash
bash .ci/run
```

On a clean clone, `dvc repro --force` runs every stage from nothing; the check fails when a gate
fails or when the committed `dvc.lock` files and `metrics/` differ from what the run gives. The
pull-request workflow (`.github/workflows/pull-request.yml`) runs the same check.

## What to review

- `data/contract.yaml`: what each column may hold, and which columns are personal or protected.
- `params.yaml`: the `data:` block (`drop_columns` for identifiers and leaks) and the gates.

The gated model is the DVC artifact `{changes.artifact}` (`dvc.yaml`):
`dvc artifacts get <this repository> {changes.artifact} --rev <tag> -o <folder>` fetches a version.
The pipeline's documentation is in `docs/`.
"""


def next_steps(changes) -> list[str]:
    task = changes.choice.task
    return ["Next:",
            f"  1. Review {changes.data.contract}: the ranges and categories new data may hold"
            + (", and each suggestion above." if changes.decisions else "; none was suggested as personal or protected: check that none is."),
            f"  2. Review the gates in params.yaml (gates.{task}) and add your own bar, e.g. {OWN_GATE[task]};"
            " list identifiers and leaks in data.drop_columns.",
            "  3. dvc repro, then read metrics/model_card.md.",
            "  4. git status and git diff --stat show the change; commit it with"
            f" git add -A && git commit -m \"{changes.name}: own table\"."]
