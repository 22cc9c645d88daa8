"""Small scikit-learn transformers that the library does not ship.

They live in the saved model pipeline, so anything that loads the model (the scoring service,
batch scoring) imports this module: keep it free of pipeline I/O.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from tabular_mlops.data.dates import parse_datetimes


class OutlierClipper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Clip each numeric column to fences learnt from the rows it is fitted on.

    method "iqr": [Q1 - k*IQR, Q3 + k*IQR]; "quantile": the given quantiles; "none": no-op.
    Missing values pass through for the imputer that follows.

    A column is left unclipped (fences -inf, +inf) when clipping would destroy it: its fences
    have zero width (a mostly-zero `Debt` has Q1 = Q3 = 0, so every non-zero value would
    become 0), or its training values would all be clipped to one value. After fit,
    `unclipped_reason_` gives per column why it was left alone (None: clipped as asked) and
    `n_clipped_` how many training rows lay outside the fences.
    """

    def __init__(self, method: str = "iqr", iqr_factor: float = 3.0, quantiles: tuple[float, float] = (0.01, 0.99)):
        self.method = method
        self.iqr_factor = iqr_factor
        self.quantiles = quantiles

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        lower, upper = self._fences(X)
        reasons = [_why_not_clip(X[:, column], lower[column], upper[column]) for column in range(X.shape[1])]
        kept = np.array([reason is None for reason in reasons])
        self.lower_ = np.where(kept, lower, -np.inf)
        self.upper_ = np.where(kept, upper, np.inf)
        self.unclipped_reason_ = reasons
        with np.errstate(invalid="ignore"):  # NaN compares False: a missing value is never clipped
            self.n_clipped_ = ((X < self.lower_) | (X > self.upper_)).sum(axis=0)
        return self

    def _fences(self, X) -> tuple[np.ndarray, np.ndarray]:
        empty = np.isnan(X).all(axis=0)
        filled = np.where(empty, 0.0, X)  # an all-missing column gets fences of 0 and is left alone below
        if self.method == "iqr":
            first, third = np.nanpercentile(filled, [25, 75], axis=0)
            spread = self.iqr_factor * (third - first)
            return first - spread, third + spread
        if self.method == "quantile":
            low, high = self.quantiles
            lower, upper = np.nanquantile(filled, [low, high], axis=0)
            return lower, upper
        if self.method == "none":
            return np.full(X.shape[1], -np.inf), np.full(X.shape[1], np.inf)
        raise ValueError(f"OutlierClipper: method must be 'iqr', 'quantile' or 'none'; got {self.method!r}")

    def transform(self, X):
        check_is_fitted(self, ["lower_", "upper_"])
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return np.clip(X, self.lower_, self.upper_)

    def get_feature_sources_out(self) -> list[int]:
        """For each output column, the position of the input column it is computed from (features/sources.py)."""
        check_is_fitted(self, ["lower_", "upper_"])
        return list(range(self.n_features_in_))


def _why_not_clip(values: np.ndarray, lower: float, upper: float) -> str | None:
    """Why a column must not be clipped to [lower, upper], or None when clipping is safe."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return "no values in the training rows"
    if np.isinf(lower) and np.isinf(upper):
        return None  # method "none": nothing to protect
    if upper - lower == 0:
        return f"fences have zero width (both {lower:g}), so clipping would set every value to {lower:g}"
    clipped = np.clip(present, lower, upper)
    if clipped.min() == clipped.max() and present.min() < present.max():
        return f"clipping to [{lower:g}, {upper:g}] would turn every training value into {clipped[0]:g}"
    return None


def signed_log(X):
    """sign(x) * log(1 + |x|): tames long right tails (money) and is defined for every real x.

    Not np.log1p: numpy and the C library pick its kernel by CPU (Intel SVML on AVX-512, an FMA
    variant in glibc), and their results differ in the last bit. _log1p uses only +, -, *, /
    and frexp, which IEEE 754 rounds exactly, so every x86-64 (and ARM) CPU gives the same bytes.
    """
    X = np.asarray(X, dtype=np.float64)
    logged = np.empty_like(X)
    # Block by block: _log1p holds a dozen temporaries the size of its input (10 GiB for ten
    # million rows of nine columns at once). Each value's result does not depend on its block.
    for start in range(0, len(X), LOG_BLOCK_ROWS):
        block = X[start:start + LOG_BLOCK_ROWS]
        logged[start:start + LOG_BLOCK_ROWS] = np.sign(block) * _log1p(np.abs(block))
    return logged


LOG_BLOCK_ROWS = 65_536

# fdlibm's e_log.c/s_log1p.c (Sun, public domain): ln 2 split so that k * LN2_HIGH is exact, and
# the minimax polynomial for log(1 + f) on [sqrt(1/2) - 1, sqrt(2) - 1]; error below 1 ulp.
LN2_HIGH, LN2_LOW = 6.93147180369123816490e-01, 1.90821492927058770002e-10
LOG_POLYNOMIAL = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01,
                  1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01)


def _log1p(a):
    """log(1 + a) for a >= 0 (inf and NaN pass through), as fdlibm computes it."""
    with np.errstate(invalid="ignore"):
        u = 1.0 + a
        # what rounding 1 + a lost, relative to u (exact: Fast2Sum with the larger term first)
        lost = np.where(a < 1.0, a - (u - 1.0), 1.0 - (u - a)) / u
        mantissa, k = np.frexp(u)  # u = mantissa * 2**k, mantissa in [1/2, 1)
        low = mantissa < np.sqrt(0.5)
        f = np.where(low, 2.0 * mantissa, mantissa) - 1.0  # exact; 1 + f in [sqrt(1/2), sqrt(2))
        k = np.where(low, k - 1, k).astype(np.float64)
        s = f / (2.0 + f)
        z = s * s
        w = z * z
        p1, p2, p3, p4, p5, p6, p7 = LOG_POLYNOMIAL
        r = z * (p1 + w * (p3 + w * (p5 + w * p7))) + w * (p2 + w * (p4 + w * p6))
        half_f_squared = 0.5 * f * f
        result = k * LN2_HIGH - ((half_f_squared - (s * (half_f_squared + r) + (k * LN2_LOW + lost))) - f)
    return np.where(np.isfinite(a), result, a)


class DatetimeParts(TransformerMixin, BaseEstimator):
    """Expand each datetime column into numbers a model can use: year, month, day of week, day of year.

    Parts that do not vary in the training rows (the year, when every date is in 2024) are left
    out: they would be constant features. Unparseable or missing values give missing parts,
    for the imputer that follows.
    """

    PARTS = ("year", "month", "day_of_week", "day_of_year")

    def fit(self, X, y=None):
        frame = self._frame(X, reset=True)
        varying = {name: [part for part, values in _parts(frame[name]).items() if pd.Series(values).nunique() > 1]
                   for name in frame.columns}
        # Keep at least one part, so a column whose dates never vary still has its (constant) feature.
        self.parts_ = {name: parts or [self.PARTS[0]] for name, parts in varying.items()}
        return self

    def transform(self, X):
        check_is_fitted(self, "parts_")
        frame = self._frame(X, reset=False)
        columns = [values for name in frame.columns for part, values in _parts(frame[name]).items() if part in self.parts_[name]]
        return np.column_stack(columns) if columns else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "parts_")
        return np.array([f"{name}_{part}" for name, parts in self.parts_.items() for part in parts], dtype=object)

    def get_feature_sources_out(self) -> list[int]:
        """For each output column, the position of the input column it is computed from (features/sources.py):
        parts_ holds the input columns in order, each with the parts it outputs."""
        check_is_fitted(self, "parts_")
        return [position for position, parts in enumerate(self.parts_.values()) for _ in parts]

    def _frame(self, X, reset: bool) -> pd.DataFrame:
        validate_data(self, X, reset=reset, skip_check_array=True)
        if isinstance(X, pd.DataFrame):
            return X
        names = getattr(self, "feature_names_in_", None)
        return pd.DataFrame(X, columns=list(names) if names is not None else [f"x{i}" for i in range(np.shape(X)[1])])


def _parts(values: pd.Series) -> dict[str, np.ndarray]:
    """Plain arrays in row order: the rows' index (a CV fold's is not 0..n-1) plays no part."""
    stamps = parse_datetimes(pd.Series(values)).dt
    # day_of_week: Monday = 0
    parts = {"year": stamps.year, "month": stamps.month, "day_of_week": stamps.day_of_week, "day_of_year": stamps.day_of_year}
    return {part: numbers.to_numpy(dtype=np.float64, na_value=np.nan) for part, numbers in parts.items()}
