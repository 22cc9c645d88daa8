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

from tabular_mlops.features.transformers import OutlierClipper, signed_log

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
