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
    """sign(x) * log(1 + |x|): tames long right tails (money) and is defined for every real x."""
    return np.sign(X) * np.log1p(np.abs(X))
