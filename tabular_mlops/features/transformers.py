"""Small scikit-learn transformers that the library does not ship.

They live in the saved model pipeline, so anything that loads the model (the scoring service,
batch scoring) imports this module: keep it free of pipeline I/O.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class OutlierClipper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Clip each numeric column to fences learnt from the rows it is fitted on.

    method "iqr": [Q1 - k*IQR, Q3 + k*IQR]; "quantile": the given quantiles; "none": no-op.
    Missing values pass through for the imputer that follows.
    """

    def __init__(self, method: str = "iqr", iqr_factor: float = 3.0, quantiles: tuple[float, float] = (0.01, 0.99)):
        self.method = method
        self.iqr_factor = iqr_factor
        self.quantiles = quantiles

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        if self.method == "iqr":
            first, third = np.nanpercentile(X, [25, 75], axis=0)
            spread = self.iqr_factor * (third - first)
            self.lower_, self.upper_ = first - spread, third + spread
        elif self.method == "quantile":
            low, high = self.quantiles
            self.lower_, self.upper_ = np.nanquantile(X, [low, high], axis=0)
        elif self.method == "none":
            self.lower_ = np.full(X.shape[1], -np.inf)
            self.upper_ = np.full(X.shape[1], np.inf)
        else:
            raise ValueError(f"OutlierClipper: method must be 'iqr', 'quantile' or 'none'; got {self.method!r}")
        return self

    def transform(self, X):
        check_is_fitted(self, ["lower_", "upper_"])
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return np.clip(X, self.lower_, self.upper_)


def signed_log(X):
    """sign(x) * log(1 + |x|): tames long right tails (money) and is defined for every real x.

    Not np.log1p: numpy and the C library pick its kernel by CPU (Intel SVML on AVX-512, an FMA
    variant in glibc), and their results differ in the last bit. _log1p uses only +, -, *, /
    and frexp, which IEEE 754 rounds exactly, so every x86-64 (and ARM) CPU gives the same bytes.
    """
    X = np.asarray(X, dtype=np.float64)
    return np.sign(X) * _log1p(np.abs(X))


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
