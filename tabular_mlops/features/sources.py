"""Which raw input column each column of the preprocessor's output comes from.

SHAP explains the estimator on the preprocessor's output (one-hot columns, missing indicators,
calendar parts); a person asks about the columns they filled in. Shapley values add up, so a raw
column's contribution is the sum over the transformed columns it produced.

The mapping is read from the fitted steps, never from the output names: with raw columns `A`
and `A_b`, the name `A_b_c` is `A`'s category `b_c` or `A_b`'s category `c`, and only the
encoder knows which. Each step maps the raw column behind each of its input columns to the raw
column behind each of its output columns; a step of a kind not listed here is refused.
"""
from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MaxAbsScaler, MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

from tabular_mlops.errors import StageError

# Output column j is computed from input column j alone.
ONE_TO_ONE = (StandardScaler, RobustScaler, MinMaxScaler, MaxAbsScaler)
# Our own transformers (features/transformers.py) say it themselves: for each output column, the
# position of the input column it is computed from.
SOURCES_METHOD = "get_feature_sources_out"


def transformed_sources(preprocessor: ColumnTransformer) -> list[str]:
    """The raw column behind each output column of the fitted preprocessor, in output order."""
    # The width from output_indices_: get_feature_names_out() fails on a step without names, which
    # _step_sources refuses naming its branch.
    sources: list[str | None] = [None] * max((where.stop for where in preprocessor.output_indices_.values()), default=0)
    for branch, transformer, columns in _branches(preprocessor):
        where = range(len(sources))[preprocessor.output_indices_[branch]]
        found = _step_sources(transformer, columns, branch) if columns else []
        if len(found) != len(where):
            raise StageError(f"preprocessor: branch '{branch}' outputs {len(where)} columns but its fitted steps account "
                             f"for {len(found)}; cannot tell which raw column each one comes from")
        for position, source in zip(where, found):
            sources[position] = source
    return sources


def column_positions(sources: list[str], columns: list[str]) -> tuple[np.ndarray, ...]:
    """Per raw column, the positions of the transformed columns it produced.

    Summing these slices, not a matrix product: BLAS picks its kernel by the number of rows,
    so a product could differ in the last bit between a row explained alone and in a batch.
    """
    return tuple(np.flatnonzero(np.array(sources, dtype=object) == column) for column in columns)


def input_columns(preprocessor: ColumnTransformer) -> list[str]:
    """The raw columns some branch reads, in the order the preprocessor was fitted on."""
    used = {column for _, _, columns in _branches(preprocessor) for column in columns}
    return [column for column in preprocessor.feature_names_in_ if column in used]


def _branches(preprocessor: ColumnTransformer) -> list[tuple[str, object, list[str]]]:
    """(name, fitted transformer, raw input columns) of each branch that is not dropped."""
    fitted_names = list(preprocessor.feature_names_in_)
    branches = []
    for branch, transformer, columns in preprocessor.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        # a slice or a boolean mask would be read as names or positions: refused, not guessed
        if isinstance(columns, (str, slice)) or any(isinstance(c, (bool, np.bool_)) for c in columns):
            kind = f"{type(columns).__name__} {columns!r}" if isinstance(columns, (str, slice)) else "a boolean mask"
            raise StageError(f"preprocessor: branch '{branch}' selects its columns by {kind}; expected a list of column names")
        # remainder="passthrough" lists its columns by position
        branches.append((branch, transformer, [fitted_names[c] if isinstance(c, (int, np.integer)) else c for c in columns]))
    return branches


def _step_sources(step, sources: list, branch: str) -> list:
    """`sources`: the raw column behind each input column of the fitted `step`; returns the raw
    column behind each of its output columns."""
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return list(sources)
    if isinstance(step, Pipeline):
        for _, inner in step.steps:
            sources = _step_sources(inner, sources, branch)
        return sources
    n_inputs = getattr(step, "n_features_in_", len(sources))
    if n_inputs != len(sources):
        raise StageError(f"preprocessor: branch '{branch}': its {type(step).__name__} was fitted on {n_inputs} columns, "
                         f"but the steps before it output {len(sources)}")
    if hasattr(step, SOURCES_METHOD):
        return [sources[position] for position in getattr(step, SOURCES_METHOD)()]
    if isinstance(step, ONE_TO_ONE) or (isinstance(step, FunctionTransformer) and step.feature_names_out == "one-to-one"):
        return list(sources)
    if isinstance(step, SimpleImputer):
        return _imputer_sources(step, sources)
    if isinstance(step, OneHotEncoder):
        return _one_hot_sources(step, sources)
    known = ", ".join(kind.__name__ for kind in (OneHotEncoder, SimpleImputer, *ONE_TO_ONE))
    raise StageError(f"preprocessor: branch '{branch}' holds a {type(step).__name__}, whose output columns cannot be traced "
                     f"to its input columns; expected one of {known}, a FunctionTransformer(feature_names_out='one-to-one') "
                     f"or a transformer with a {SOURCES_METHOD}() method")


def _imputer_sources(imputer: SimpleImputer, sources: list) -> list:
    """The imputed columns, then one missing indicator per column in `indicator_.features_`.

    As SimpleImputer.transform does: a column without a statistic (no value in the training
    rows) is left out, unless keep_empty_features."""
    statistics = np.asarray(imputer.statistics_)
    # NaN, the one value unequal to itself, is SimpleImputer's "no statistic", in float and object arrays alike
    kept = np.ones(len(sources), bool) if imputer.keep_empty_features else ~np.asarray(statistics != statistics, dtype=bool)
    indicated = imputer.indicator_.features_ if imputer.add_indicator else []
    return [sources[i] for i in np.flatnonzero(kept)] + [sources[i] for i in indicated]


def _one_hot_sources(encoder: OneHotEncoder, sources: list) -> list:
    """Per input column: one output column per category, the infrequent ones grouped into one,
    less the dropped one (drop_idx_)."""
    try:
        infrequent = encoder.infrequent_categories_
    except AttributeError:  # neither min_frequency nor max_categories: no grouping at all
        infrequent = [None] * len(sources)
    dropped = encoder.drop_idx_ if encoder.drop_idx_ is not None else [None] * len(sources)
    counts = [len(categories) - (0 if rare is None else len(rare) - 1) - (drop is not None)
              for categories, rare, drop in zip(encoder.categories_, infrequent, dropped)]
    return [source for source, count in zip(sources, counts) for _ in range(count)]
