"""Which raw input column each column of the preprocessor's output comes from.

SHAP explains the estimator on the preprocessor's output (one-hot columns, missing indicators,
calendar parts); a person asks about the columns they filled in. Shapley values add up, so a raw
column's contribution is the sum over the transformed columns it produced.
"""
from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer

from tabular_mlops.errors import StageError

INDICATOR_PREFIX = "missingindicator_"  # SimpleImputer(add_indicator=True) names its columns so


def transformed_sources(preprocessor: ColumnTransformer) -> list[str]:
    """The raw column behind each output column of the fitted preprocessor, in output order.

    A branch's output is named after its input column: the column itself (numeric, scaled),
    `missingindicator_<column>`, or `<column>_<suffix>` (a one-hot category, a calendar part).
    When two input columns of a branch both prefix a name (`Date` and `Date_of_birth` for
    `Date_of_birth_year`), the longer one is its source.
    """
    names = preprocessor.get_feature_names_out()
    sources = [""] * len(names)
    for branch, columns in _branch_columns(preprocessor).items():
        where = preprocessor.output_indices_[branch]
        for position in range(len(names))[where]:
            local = names[position].removeprefix(f"{branch}__")
            sources[position] = _source(local, columns, names[position])
    return sources


def column_positions(sources: list[str], columns: list[str]) -> tuple[np.ndarray, ...]:
    """Per raw column, the positions of the transformed columns it produced.

    Summing these slices, not a matrix product: BLAS picks its kernel by the number of rows,
    so a product could differ in the last bit between a row explained alone and in a batch.
    """
    return tuple(np.flatnonzero(np.array(sources) == column) for column in columns)


def input_columns(preprocessor: ColumnTransformer) -> list[str]:
    """The raw columns some branch reads, in the order the preprocessor was fitted on."""
    used = {column for columns in _branch_columns(preprocessor).values() for column in columns}
    return [column for column in preprocessor.feature_names_in_ if column in used]


def _branch_columns(preprocessor: ColumnTransformer) -> dict[str, list[str]]:
    fitted_names = list(preprocessor.feature_names_in_)
    branches = {}
    for branch, transformer, columns in preprocessor.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        # remainder="passthrough" lists its columns by position
        branches[branch] = [fitted_names[c] if isinstance(c, (int, np.integer)) else c for c in columns]
    return branches


def _source(local: str, columns: list[str], full_name: str) -> str:
    if local in columns:
        return local
    if local.startswith(INDICATOR_PREFIX) and local.removeprefix(INDICATOR_PREFIX) in columns:
        return local.removeprefix(INDICATOR_PREFIX)
    prefixed = [column for column in columns if local.startswith(f"{column}_")]
    if not prefixed:
        raise StageError(f"explanations: transformed feature '{full_name}' is named after none of its branch's "
                         f"input columns ({', '.join(columns)}); expected '<column>', '{INDICATOR_PREFIX}<column>' "
                         "or '<column>_<suffix>'")
    return max(prefixed, key=len)
