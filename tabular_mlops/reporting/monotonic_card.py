"""The model card's monotonic constraints: which, how the trained family honours them, and what
the check on the fitted model found (evaluate's `monotonic` section)."""
from __future__ import annotations

from tabular_mlops.config.params import Params
from tabular_mlops.families.registry import BY_NAME
from tabular_mlops.metrics import MONOTONIC_TOLERANCE

HOW = {"enforced": "`{family}` enforces them while it fits (the estimator's monotonic_cst, under Family above, names each column's"
                   " value feature; the column's missing indicator is left free)",
       "constant": "`{family}` gives every row the same output, so no input can move it the wrong way",
       "cannot": "`{family}` cannot enforce them: the check below is all there is"}


def monotonic_lines(params: Params, family: str, metrics: dict) -> list[str]:
    constrained, checked = params.train.monotonic, metrics.get("monotonic", {})
    if not constrained:
        return []
    output = "probability of the positive class" if params.data.task == "classification" else "prediction"
    lines = ["", "## Monotonic constraints (train.monotonic)", "",
             f"{', '.join(f'{column}: {direction}' for column, direction in constrained.items())}, each as the {output} should move"
             f" when the column grows. {HOW[BY_NAME[family].monotonic].format(family=family)}.", "",
             "Checked on the fitted model, whatever enforced them: a seeded sample of test rows (evaluate.monotonic_rows), each swept"
             " over the column's training values at even quantile steps from the smallest to the largest (evaluate.monotonic_grid)"
             f" with the other columns held fixed; a violation is a step where the {output} moves against the direction by more"
             f" than {MONOTONIC_TOLERANCE:g}.", "",
             "| column | direction | violations (steps) | rows violating | rows | grid points | largest violation |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for column, direction in constrained.items():
        row = checked.get(column)
        if row is None:
            lines.append(f"| {column} | {direction} | not checked | | | | |")
        else:
            lines.append(f"| {column} | {direction} | {row['violations']} | {row['rows_violating']} | {row['rows']} | {row['grid_points']}"
                         f" | {row['largest_violation']:.4g} |")
    return lines
