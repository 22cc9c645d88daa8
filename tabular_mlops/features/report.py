"""What the fitted preprocessing did to the training split, and what a user should be warned about.

Pure functions of the fitted preprocessor and the training inputs it was fitted on; the
featurize stage writes the report (metrics/featurize.json) and prints the warnings.
"""
from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer

from tabular_mlops.data.dates import parse_datetimes
from tabular_mlops.features.sources import transformed_sources



def featurize_report(preprocessor: ColumnTransformer, inputs: pd.DataFrame) -> dict:
    """Per numeric column: training rows clipped and imputed, and whether (why) it was left unclipped.
    Per categorical column: rows imputed, categories seen and kept, and whether rare ones were grouped.
    Per datetime column: rows imputed (missing or unparseable) and each calendar part's clipping."""
    report: dict = {"numeric": {}, "categorical": {}}
    for branch, pipeline, columns in _branches(preprocessor):
        if branch == "numeric":
            clip = pipeline.named_steps["clip"]
            report["numeric"] = {name: {"rows_imputed": int(inputs[name].isna().sum()), **_clipping(clip, index)}
                                 for index, name in enumerate(columns)}
        elif branch == "categorical":
            report["categorical"] = _categorical(pipeline, inputs[columns])
        elif branch == "datetime":
            parts, clip = pipeline.named_steps["parts"], pipeline.named_steps["clip"]
            names = list(parts.get_feature_names_out())
            report["datetime"] = {
                name: {"rows_imputed": int(parse_datetimes(inputs[name]).isna().sum()),
                       "parts": {part: _clipping(clip, names.index(f"{name}_{part}")) for part in parts.parts_[name]}}
                for name in columns
            }
    return report


def _clipping(clip, index: int) -> dict:
    reason = clip.unclipped_reason_[index]
    return {"rows_clipped": int(clip.n_clipped_[index]), "unclipped": reason is not None, "unclipped_reason": reason}


def _categorical(pipeline, raw: pd.DataFrame) -> dict:
    encoder, fills = pipeline.named_steps["one_hot"], pipeline.named_steps["impute"].statistics_
    try:
        infrequent = encoder.infrequent_categories_
    except AttributeError:  # neither min_frequency nor max_categories: no grouping at all
        infrequent = [None] * len(raw.columns)
    report = {}
    for name, categories, rare, fill in zip(raw.columns, encoder.categories_, infrequent, fills):
        counts = _imputed_counts(raw[name], fill)
        frequent = int((counts >= encoder.min_frequency).sum()) if encoder.min_frequency else len(counts)
        report[name] = {
            "rows_imputed": int(raw[name].isna().sum()),
            "categories": len(categories),
            "categories_kept": len(categories) - (0 if rare is None else len(rare)),
            "infrequent_grouped": rare is not None,
            "rows_infrequent": int(counts[counts.index.isin(rare)].sum()) if rare is not None else 0,
            # As scikit-learn decides it: the bound counts the infrequent bucket as one column.
            "max_categories_applied": encoder.max_categories is not None and encoder.max_categories < frequent + 1,
        }
    return report


def _imputed_counts(column: pd.Series, fill) -> pd.Series:
    """Rows per category after imputation, counted on the column itself: imputing a copy of the
    table would hold gigabytes of Python strings on ten million rows."""
    counts = column.value_counts()
    counts = counts[counts > 0]  # a categorical column lists its unused categories too
    counts.index = counts.index.astype(object)
    missing = int(column.isna().sum())
    return counts.add(pd.Series({fill: missing}), fill_value=0).astype("int64") if missing else counts


def bounded_categoricals(report: dict, max_categories: int | None) -> list[str]:
    """One warning per categorical column that featurize.categorical.max_categories cut down."""
    return [
        f"column '{name}' has {column['categories']} categories in the training split; featurize.categorical.max_categories"
        f" ({max_categories}) kept {column['categories_kept']} and grouped the other"
        f" {column['categories'] - column['categories_kept']} as one infrequent column; if it is an identifier, add it to data.drop_columns"
        for name, column in report["categorical"].items() if column["max_categories_applied"]
    ]


def featurize_warnings(preprocessor: ColumnTransformer, inputs: pd.DataFrame, features: pd.DataFrame, report: dict,
                       max_categories: int | None, report_path: str) -> list[str]:
    """Everything the featurize stage warns about, one line each; `features`: the preprocessor's output on `inputs`."""
    return bounded_categoricals(report, max_categories) + [
        f"feature '{feature}' is constant on the training split but its column '{raw}' is not: preprocessing"
        f" removed what the column says (see {report_path})" for raw, feature in constant_features(preprocessor, inputs, features)]


def constant_features(preprocessor: ColumnTransformer, inputs: pd.DataFrame, features: pd.DataFrame) -> list[tuple[str, str]]:
    """(raw column, feature) for each feature that is constant on the training rows although its
    raw column is not: preprocessing destroyed what the column said. `features`: the preprocessor's
    output on `inputs` (passed in: on millions of rows a second copy would double the memory)."""
    # Each feature's raw column from the fitted steps (features/sources.py), not from its name:
    # with columns `A` and `A_b`, the feature `A_b_c` may be either's.
    datetimes = {column for branch, _, columns in _branches(preprocessor) if branch == "datetime" for column in columns}
    found = []
    for raw, feature in zip(transformed_sources(preprocessor), features.columns):
        values = parse_datetimes(inputs[raw]) if raw in datetimes else inputs[raw]
        if features[feature].nunique(dropna=False) <= 1 and values.nunique() > 1:
            found.append((raw, feature))
    return found


def _branches(preprocessor: ColumnTransformer):
    return [(name, transformer, list(columns)) for name, transformer, columns in preprocessor.transformers_
            if name != "remainder" and len(columns) > 0]
