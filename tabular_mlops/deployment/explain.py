"""Each scored row's explanation, as the service answers it and as batch scoring writes it.

Contributions are SHAP values per raw input column (tabular_mlops/explanations) in the bundle
explainer's output space: log_odds (logistic regression, gradient boosting), probability
(forest, other classifiers) or value (regression); base_value + the contributions = output.
Reason codes, for a row decided as the positive class (a refusal), are the columns that pushed
the output most toward it, with their values. Personal columns (the contract's `personal`) are
never named: neither among the contributions nor in the reason codes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tabular_mlops.deployment.artifact import Bundle
from tabular_mlops.explanations.contributions import Explanation, explain
from tabular_mlops.explanations.reasons import json_safe, reason_codes

REASON_CODES = 4  # the most a refusal names
SPACE_COLUMN, BASE_COLUMN, REASONS_COLUMN = "explanation_output_space", "explanation_base_value", "reason_codes"
CONTRIBUTION_PREFIX = "contribution:"


def _explained(bundle: Bundle, rows: pd.DataFrame, decisions) -> tuple[Explanation, list[str], list[list[dict] | None]]:
    """The explanation, the columns it may name, and per row its reason codes (None: not a refusal)."""
    frame = rows[bundle.input_columns]
    explanation = explain(bundle.explainer, frame)
    personal = set(bundle.contract.personal)
    named = [column for column in explanation.contributions.columns if column not in personal]
    if bundle.problem != "classification":
        return explanation, named, [None] * len(frame)
    positive = bundle.manifest["model"]["positive_class"]
    codes = reason_codes(explanation, frame, excluded=personal, count=REASON_CODES)
    return explanation, named, [code if decision == positive else None for code, decision in zip(codes, decisions)]


def explanations(bundle: Bundle, rows: pd.DataFrame, decisions) -> list[dict]:
    """Per row, the service's `explanation`: output_space, base_value, output, every named input
    column's {column, value, contribution} (largest absolute contribution first, ties in the
    model's column order) and, for a refusal only, `reason_codes`."""
    explanation, named, codes = _explained(bundle, rows, decisions)
    values = explanation.contributions[named].to_numpy(dtype=np.float64)
    cells = rows[named].to_numpy(dtype=object)
    answers = []
    for position in range(len(rows)):
        order = sorted(range(len(named)), key=lambda where: (-abs(values[position, where]), where))
        answer = {"output_space": explanation.output_space, "base_value": float(explanation.base_value),
                  "output": float(explanation.outputs[position]),
                  "contributions": [{"column": named[where], "value": json_safe(cells[position, where]),
                                     "contribution": float(values[position, where])} for where in order]}
        if codes[position] is not None:
            answer["reason_codes"] = codes[position]
        answers.append(answer)
    return answers


def explanation_columns(bundle: Bundle, rows: pd.DataFrame, decisions) -> pd.DataFrame:
    """The scored table's explanation columns: explanation_output_space, explanation_base_value,
    `contribution:<column>` per named input column and, for classification, `reason_codes`
    (`column=value (+contribution); ...`, empty for a row that is not a refusal)."""
    explanation, named, codes = _explained(bundle, rows, decisions)
    columns = {SPACE_COLUMN: pd.Series([explanation.output_space] * len(rows), index=rows.index, dtype="str"),
               BASE_COLUMN: pd.Series(float(explanation.base_value), index=rows.index, dtype="float64")}
    for column in named:
        columns[f"{CONTRIBUTION_PREFIX}{column}"] = pd.Series(explanation.contributions[column].to_numpy(dtype=np.float64),
                                                              index=rows.index, dtype="float64")
    if bundle.problem == "classification":
        columns[REASONS_COLUMN] = pd.Series([reason_text(code) for code in codes], index=rows.index, dtype="str")
    return pd.DataFrame(columns, index=rows.index)


def reason_text(codes: list[dict] | None) -> str:
    """`column=value (+contribution); ...`; empty for none."""
    if not codes:
        return ""
    return "; ".join(f"{code['column']}={'' if code['value'] is None else code['value']} ({code['contribution']:+g})" for code in codes)
