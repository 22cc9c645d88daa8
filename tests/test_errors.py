"""run_stage: expected errors become one line and exit 2; the stage runs on one BLAS/OpenMP thread."""
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from tabular_mlops.errors import EXIT_EXPECTED_FAILURE, StageError, run_stage


def test_a_stage_runs_on_one_blas_and_one_openmp_thread_whatever_the_caller_allows():
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)

    seen = []
    with threadpool_limits(limits=2):
        assert max(pool["num_threads"] for pool in threadpool_info()) == 2  # so the test can fail
        run_stage(lambda: seen.extend((pool["user_api"], pool["num_threads"]) for pool in threadpool_info()))
    assert {api for api, _ in seen} >= {"blas", "openmp"}
    assert all(threads == 1 for _, threads in seen), seen


def test_an_expected_error_exits_2_with_one_line(capsys):
    def main():
        raise StageError("params.yaml: seed must be an integer; got 'x'")

    with pytest.raises(SystemExit) as exited:
        run_stage(main)
    assert exited.value.code == EXIT_EXPECTED_FAILURE
    assert capsys.readouterr().err == "error: params.yaml: seed must be an integer; got 'x'\n"
