"""Drift per column: does the current batch's column look like the reference's?

The method follows Evidently's defaults (its data-drift "default algorithm"):
- a reference of at most `small_reference_rows` (1,000) values: a test, drift when p < `p_value`
  (0.05): two-sample Kolmogorov-Smirnov for a numeric column with more than `numeric_min_unique`
  (5) distinct values, a two-proportion Z-test for a column with at most 2 values, chi-square
  for any other (categories, few-valued numbers);
- a larger reference: a distance, drift when >= `distance` (0.1): Wasserstein distance divided by
  the reference's standard deviation for numeric columns, Jensen-Shannon distance between the
  category shares for the others (natural logarithm, as Evidently 0.7 computes it: between 0
  and sqrt(ln 2) = 0.83).
With thousands of rows a test finds any difference significant, hence the distances.
Missing values and infinities (Evidently drops them too) are left out of the comparison and
reported as rates instead. Where this departs from Evidently: chi-square tests homogeneity of
the 2 x k table (scipy's chi2_contingency) rather than Evidently's goodness of fit against the
reference's shares, so it treats the reference as a sample too and stays defined for a category
the reference lacks. PSI (population stability index) is reported beside each column, never a
verdict.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from tabular_mlops.config.params import DriftParams

NUMERIC, CATEGORICAL = "numeric", "categorical"
TESTS = ("ks", "z", "chi_square")  # p-values: lower means drift
PSI_FLOOR = 1e-4  # an empty bin's share, so that PSI stays finite


def choose_method(reference: pd.Series, current: pd.Series, kind: str, spec: DriftParams) -> str:
    """Evidently's default choice, by reference size, column kind and distinct values (non-missing)."""
    distinct = pd.concat([reference, current]).nunique()
    numeric = kind == NUMERIC and distinct > spec.numeric_min_unique
    if len(reference) <= spec.small_reference_rows:
        return "ks" if numeric else "z" if distinct <= 2 else "chi_square"
    return "wasserstein" if numeric else "jensen_shannon"


def shares(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray, list]:
    """Each value's share of the reference and of the current rows, over the values of both."""
    keys = sorted(set(reference.unique()) | set(current.unique()), key=str)
    counts = [values.value_counts().reindex(keys, fill_value=0).to_numpy() for values in (reference, current)]
    return counts[0] / len(reference), counts[1] / len(current), keys


def z_test(reference: pd.Series, current: pd.Series) -> float:
    """Two-proportion Z-test, pooled variance, two-sided: is one value's share the same in both?"""
    first = sorted(set(reference.unique()) | set(current.unique()), key=str)[0]
    p1, p2 = (reference == first).mean(), (current == first).mean()
    pooled = (p1 * len(reference) + p2 * len(current)) / (len(reference) + len(current))
    spread = np.sqrt(pooled * (1 - pooled) * (1 / len(reference) + 1 / len(current)))
    if spread == 0:  # one value everywhere: nothing moved
        return 1.0
    return float(2 * stats.norm.sf(abs(p1 - p2) / spread))


def chi_square_test(reference: pd.Series, current: pd.Series) -> float:
    reference_share, current_share, keys = shares(reference, current)
    if len(keys) < 2:
        return 1.0
    table = np.vstack([reference_share * len(reference), current_share * len(current)]).round()
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def normed_wasserstein(reference: pd.Series, current: pd.Series) -> float:
    """Earth mover's distance in units of the reference's standard deviation (at least 0.001)."""
    return float(stats.wasserstein_distance(reference, current) / max(np.std(reference), 0.001))


def psi(reference: pd.Series, current: pd.Series, numeric: bool, bins: int) -> float:
    """Population stability index: sum of (current - reference share) * ln(current / reference share),
    over bins of the reference (numeric) or the values (categories); empty bins count 0.0001.

    Numeric bins: the reference's inner quantiles (deciles for 10 bins) cut the line, and each cut
    point is a bin of its own beside the open intervals between them (and below the first, above
    the last). A value the reference piles up on (a constant or near-constant column) so keeps its
    own share instead of collapsing the bins; for a continuous column the point bins are empty on
    both sides and add nothing, leaving the usual quantile-bin PSI."""
    if numeric:
        cuts = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
        expected, actual = (_point_and_interval_shares(values.to_numpy(), cuts) for values in (reference, current))
    else:
        expected, actual, _ = shares(reference, current)
    expected, actual = np.maximum(expected, PSI_FLOOR), np.maximum(actual, PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _point_and_interval_shares(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Shares of the 2 * len(cuts) + 1 bins: below cuts[0], at cuts[0], between cuts[0] and
    cuts[1], at cuts[1], ..., at cuts[-1], above it."""
    position = np.searchsorted(cuts, values, side="left")  # the first cut at or above the value
    at_cut = (position < len(cuts)) & (cuts[np.minimum(position, len(cuts) - 1)] == values)
    return np.bincount(2 * position + at_cut, minlength=2 * len(cuts) + 1) / len(values)


def column_drift(reference: pd.Series, current: pd.Series, kind: str, spec: DriftParams) -> dict:
    """The verdict on one column: method, statistic, threshold, drifted, PSI, missing rates and,
    for a numeric column, infinite rates. Missing values and infinities (as Evidently drops them)
    are left out of the comparison and reported as rates instead."""
    result = {"missing_rate": _missing_rate(current), "missing_rate_reference": _missing_rate(reference)}
    if kind == NUMERIC:
        reference, current = reference.astype("float64"), current.astype("float64")
        result.update(infinite_rate=_infinite_rate(current), infinite_rate_reference=_infinite_rate(reference))
        reference, current = (values[np.isfinite(values)] for values in (reference, current))
    else:
        reference, current = reference.dropna().astype(str), current.dropna().astype(str)
    if current.empty or reference.empty:
        # A column that lost every value has moved as far as it can; one never filled cannot be compared.
        return {**result, "method": "all_missing", "statistic": None, "threshold": None,
                "drifted": bool(current.empty and not reference.empty), "psi": None}
    method = choose_method(reference, current, kind, spec)
    if method in TESTS:
        test = {"ks": lambda a, b: float(stats.ks_2samp(a, b).pvalue), "z": z_test, "chi_square": chi_square_test}[method]
        statistic, threshold = test(reference, current), spec.p_value
        drifted = statistic < threshold
    else:
        if method == "wasserstein":
            statistic = normed_wasserstein(reference, current)
        else:
            reference_share, current_share, _ = shares(reference, current)
            statistic = float(jensenshannon(reference_share, current_share))
        threshold = spec.distance
        drifted = statistic >= threshold
    numeric = method in ("ks", "wasserstein")
    return {**result, "method": method, "statistic": statistic, "threshold": threshold, "drifted": bool(drifted),
            "psi": psi(reference, current, numeric, spec.psi_bins)}


def dataset_drift(columns: dict[str, dict], spec: DriftParams) -> dict:
    """The batch drifts when at least `dataset_share` of its compared columns drift."""
    tested = [name for name, column in columns.items() if column["drifted"] is not None]
    drifted = [name for name in tested if columns[name]["drifted"]]
    share = len(drifted) / len(tested) if tested else 0.0
    return {"dataset_drift": bool(tested) and share >= spec.dataset_share, "drift_share": share,
            "drifted_columns": len(drifted), "tested_columns": len(tested), "drifted": drifted}


def _missing_rate(values: pd.Series) -> float:
    return float(values.isna().mean()) if len(values) else 0.0


def _infinite_rate(values: pd.Series) -> float:
    return float(np.isinf(values).mean()) if len(values) else 0.0
