"""OutlierClipper and signed_log: the small transformers that live inside the saved model."""
import decimal
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from tabular_mlops.data.dates import parse_datetimes
from tabular_mlops.features.transformers import DatetimeParts, OutlierClipper, signed_log

ROOT = Path(__file__).resolve().parents[1]

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


# A mostly-zero column, like the credit table's Debt (3 values in 404 are not 0): Q1 = Q3 = 0 and the 1% and 99% quantiles are 0.
ZERO_INFLATED = np.array([[0.0]] * 400 + [[250.0], [800.0], [1500.0], [np.nan]])


@pytest.mark.parametrize("clipper", [OutlierClipper("iqr"), OutlierClipper("quantile", quantiles=(0.01, 0.99))])
def test_zero_width_fences_leave_a_zero_inflated_column_unclipped(clipper):
    fitted = clipper.fit(ZERO_INFLATED)
    assert fitted.lower_.tolist() == [-np.inf] and fitted.upper_.tolist() == [np.inf]
    assert fitted.transform([[250.0], [1e6]]).ravel().tolist() == [250.0, 1e6]
    assert fitted.unclipped_reason_[0].startswith("fences have zero width (both 0)")
    assert fitted.n_clipped_.tolist() == [0]


def test_only_the_degenerate_column_is_left_unclipped():
    both = np.hstack([ZERO_INFLATED, np.arange(404.0).reshape(-1, 1)])
    both[-1, 1] = 1000.0  # an outlier in an ordinary column
    clipper = OutlierClipper("iqr", iqr_factor=1.5).fit(both)
    assert clipper.unclipped_reason_[1] is None and np.isfinite(clipper.upper_[1])
    assert clipper.transform([[1e6, 1e6]])[0, 0] == 1e6 and clipper.transform([[1e6, 1e6]])[0, 1] == clipper.upper_[1]


def test_clipped_rows_are_counted_per_column_on_the_training_rows():
    # COLUMN with k = 1.5: fences [-1, 7], so only the 100 lies outside; NaN is never counted.
    clipper = OutlierClipper("iqr", iqr_factor=1.5).fit(np.vstack([COLUMN, [[np.nan]]]))
    assert clipper.n_clipped_.tolist() == [1] and clipper.unclipped_reason_ == [None]


def test_fences_that_would_map_every_training_value_to_one_value_are_not_applied():
    # A negative factor crosses the fences (lower 3.5 > upper 2.5): np.clip would give 2.5 everywhere.
    clipper = OutlierClipper("iqr", iqr_factor=-0.75).fit(COLUMN)
    assert "would turn every training value into 2.5" in clipper.unclipped_reason_[0]
    assert np.array_equal(clipper.transform(COLUMN), COLUMN)


def test_a_column_without_training_values_is_left_unclipped():
    clipper = OutlierClipper("iqr").fit(np.array([[np.nan, 1.0], [np.nan, 2.0]]))
    assert clipper.unclipped_reason_[0] == "no values in the training rows"
    assert clipper.lower_[0] == -np.inf


def test_a_clipper_pickled_before_the_protection_still_transforms():
    old = OutlierClipper("iqr", iqr_factor=1.5).fit(COLUMN)
    del old.unclipped_reason_, old.n_clipped_  # what a model saved by the previous version holds
    assert old.transform([[50.0]]).tolist() == [[7.0]]


def test_parse_datetimes_accepts_iso_dates_and_timestamps_and_refuses_the_rest():
    values = pd.Series(["2024-01-31", "2024-01-31T14:05:00", "2024-01-31 14:05", "2024-01-31T23:30:00-02:00",
                        "2024-01-31T14:05:00Z", "31/01/2024", "2024-13-01", "soon", None])
    parsed = parse_datetimes(values)
    assert parsed.iloc[:5].notna().all() and parsed.iloc[5:].isna().all()
    assert str(parsed.iloc[3]) == "2024-02-01 01:30:00+00:00"  # offsets are converted to UTC


def test_datetime_parts_are_year_month_day_of_week_and_day_of_year():
    dates = pd.DataFrame({"Opened": ["2024-01-31", "2023-03-05T10:00:00", None, "not a date"]})
    parts = DatetimeParts().fit(dates)
    assert list(parts.get_feature_names_out()) == ["Opened_year", "Opened_month", "Opened_day_of_week", "Opened_day_of_year"]
    # 2024-01-31 was a Wednesday (2); 2023-03-05 a Sunday (6), day 31 + 28 + 5 = 64 of 2023.
    expected = [[2024, 1, 2, 31], [2023, 3, 6, 64]]
    transformed = parts.transform(dates)
    assert transformed[:2].tolist() == expected and np.isnan(transformed[2:]).all()


def test_datetime_parts_that_do_not_vary_in_training_are_left_out():
    dates = pd.DataFrame({"Opened": ["2024-01-01", "2024-01-08", "2024-01-15"], "Fixed": ["2020-05-05"] * 3})
    parts = DatetimeParts().fit(dates)
    assert parts.parts_ == {"Opened": ["day_of_year"], "Fixed": ["year"]}  # Mondays of one January; one date
    assert parts.transform(dates).tolist() == [[1, 2020], [8, 2020], [15, 2020]]


def test_datetime_parts_read_text_and_datetime_columns_alike():
    text = pd.DataFrame({"Opened": ["2024-01-31", "2023-03-05"]})
    stamps = text.assign(Opened=pd.to_datetime(text["Opened"]))
    assert np.array_equal(DatetimeParts().fit(text).transform(stamps), DatetimeParts().fit(stamps).transform(text))


def test_datetime_parts_follow_row_order_whatever_the_index():
    # A cross-validation fold's rows keep their original labels (here 10, 20, 30), not 0..n-1.
    dates = pd.DataFrame({"Opened": ["2024-01-31", "2023-03-05", "2022-07-01"]}, index=[10, 20, 30])
    parts = DatetimeParts().fit(dates)
    assert parts.transform(dates)[:, 0].tolist() == [2024.0, 2023.0, 2022.0]
    assert parts.transform(dates.iloc[::-1])[:, 0].tolist() == [2022.0, 2023.0, 2024.0]


def test_signed_log_is_within_one_ulp_of_the_exact_logarithm():
    # the reference: Python's decimal logarithm at 40 digits, on the exact value of each float
    decimal.getcontext().prec = 40
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.lognormal(0.0, 8.0, 3000), np.arange(0.0, 2000.0), rng.uniform(1e-12, 1e-3, 500), [1e308]])
    for value, logged in zip(values, signed_log(values)):
        exact = (Decimal(1) + Decimal(float(value))).ln()
        assert abs(Decimal(float(logged)) - exact) <= Decimal(float(np.spacing(logged))) * Decimal("0.75"), value


def test_signed_log_of_a_value_below_half_an_ulp_of_one_is_the_value():
    # log(1 + x) = x - x**2/2 + ..., and x**2/2 is below half an ulp of x when x < 2**-52
    tiny = np.array([5e-324, 1e-300, 1e-17, 2.0**-53])
    assert signed_log(tiny).tolist() == tiny.tolist() and signed_log(-tiny).tolist() == (-tiny).tolist()


def test_signed_log_passes_zero_infinities_and_missing_values_through():
    result = signed_log(np.array([0.0, np.inf, -np.inf, np.nan]))
    assert result[:3].tolist() == [0.0, np.inf, -np.inf] and np.isnan(result[3])


def test_signed_log_calls_no_transcendental_numpy_kernel(monkeypatch):
    # numpy picks the kernel of log, log1p, exp... by CPU (SVML on AVX-512), and their last bits
    # differ; + - * / and frexp are exactly rounded everywhere.
    def refused(*args, **kwargs):
        raise AssertionError("a CPU-dispatched transcendental ufunc was called")

    for name in ("log", "log1p", "log2", "log10", "exp", "expm1", "power"):
        monkeypatch.setattr(np, name, refused)
    assert signed_log(np.array([-3.0, 0.0, 12.5])).shape == (3,)


SIMULATED_CPU = {"NPY_DISABLE_CPU_FEATURES": "X86_V3", "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-FMA"}
LOG_OF_INTEGERS = (
    "import sys, numpy as np; from tabular_mlops.features.transformers import signed_log; "
    "x = np.arange(0.0, 400000.0); sys.stdout.buffer.write(np.log1p(x).tobytes() + signed_log(x).tobytes())"
)


@pytest.mark.slow  # two fresh interpreters import scikit-learn
def test_signed_log_gives_the_same_bytes_on_a_simulated_cpu_without_avx2_and_fma():
    # numpy without its AVX2 kernels, glibc without its FMA variants: an older x86-64 CPU
    def run(extra: dict[str, str]) -> tuple[bytes, bytes]:
        output = subprocess.run([sys.executable, "-c", LOG_OF_INTEGERS], env={**os.environ, **extra}, cwd=ROOT,
                                check=True, capture_output=True).stdout
        return output[: len(output) // 2], output[len(output) // 2:]

    numpy_here, ours_here = run({})
    numpy_there, ours_there = run(SIMULATED_CPU)
    if numpy_here == numpy_there:
        pytest.skip("np.log1p gives the same bytes on the simulated CPU here: the simulation shows nothing")
    assert ours_here == ours_there


def test_signed_log_block_by_block_gives_the_bytes_of_one_pass_over_the_whole_array():
    from tabular_mlops.features.transformers import LOG_BLOCK_ROWS, _log1p

    values = np.random.default_rng(0).standard_normal((2 * LOG_BLOCK_ROWS + 7, 3)) * 1e5
    values[::97, 1] = np.nan
    assert signed_log(values).tobytes() == (np.sign(values) * _log1p(np.abs(values))).tobytes()
