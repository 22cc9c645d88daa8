"""OutlierClipper and signed_log: the small transformers that live inside the saved model."""
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from tabular_mlops.features.transformers import OutlierClipper, signed_log

# Q1 = 2, Q3 = 4 (numpy's linear percentiles), so IQR = 2.
COLUMN = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])


def test_iqr_fences_are_quartiles_widened_by_the_factor():
    clipper = OutlierClipper("iqr", iqr_factor=1.5).fit(COLUMN)
    assert clipper.lower_.tolist() == [-1.0] and clipper.upper_.tolist() == [7.0]
    assert clipper.transform([[-50.0], [3.0], [50.0]]).ravel().tolist() == [-1.0, 3.0, 7.0]


def test_quantile_fences_are_the_given_quantiles():
    clipper = OutlierClipper("quantile", quantiles=(0.25, 0.5)).fit(COLUMN)
    assert clipper.transform([[0.0], [2.5], [9.0]]).ravel().tolist() == [2.0, 2.5, 3.0]


def test_method_none_changes_nothing():
    values = np.array([[-1e9], [0.0], [1e9]])
    assert np.array_equal(OutlierClipper("none").fit(COLUMN).transform(values), values)


def test_missing_values_pass_through_and_do_not_move_the_fences():
    with_nan = np.vstack([COLUMN, [[np.nan]]])
    clipper = OutlierClipper("iqr", iqr_factor=1.5).fit(with_nan)
    assert clipper.upper_.tolist() == [7.0]
    assert np.isnan(clipper.transform([[np.nan]])).all()


def test_each_column_gets_its_own_fences():
    clipper = OutlierClipper("quantile", quantiles=(0.0, 1.0)).fit(np.array([[0.0, 10.0], [1.0, 20.0]]))
    assert clipper.transform([[5.0, 5.0]]).tolist() == [[1.0, 10.0]]


def test_feature_names_out_are_the_input_names():
    frame = pd.DataFrame({"Income": [1.0, 2.0], "Age": [3.0, 4.0]})
    assert list(OutlierClipper().fit(frame).get_feature_names_out()) == ["Income", "Age"]


def test_transform_before_fit_raises():
    with pytest.raises(NotFittedError):
        OutlierClipper().transform(COLUMN)


def test_unknown_method_is_refused_at_fit():
    with pytest.raises(ValueError, match=r"method must be 'iqr', 'quantile' or 'none'; got 'zscore'"):
        OutlierClipper("zscore").fit(COLUMN)


def test_signed_log_keeps_the_sign_and_maps_zero_to_zero():
    values = np.array([-(np.e - 1), 0.0, np.e - 1, 99.0])
    assert np.allclose(signed_log(values), [-1.0, 0.0, 1.0, np.log(100.0)])


def test_signed_log_is_odd_and_increasing():
    values = np.linspace(-1e6, 1e6, 101)
    assert np.allclose(signed_log(-values), -signed_log(values))
    assert np.all(np.diff(signed_log(values)) > 0)
