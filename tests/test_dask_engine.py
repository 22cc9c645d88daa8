"""engine.name: dask gives what the pandas engine gives: validate, prepare, featurize, batch scoring
and cross-validation on a real LocalCluster of two worker processes, on a 3,000-row table in
partitions of 700 rows, compared with the plain functions; and one real `dvc repro` on Dask."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from tabular_mlops.config.params import EngineParams, load_params
from tabular_mlops.data.cleaning import clean, split
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table, write_parquet
from tabular_mlops.data.validation import summarize, validate_table
from tabular_mlops.errors import StageError, run_stage
from tests.dvc_repo import dvc, update_params

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
PARTITION_ROWS = 700  # 3,000 rows: five partitions, the last one short


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local, Client(local) as client:
        yield client


@pytest.fixture(scope="module")
def params():
    loaded = load_params(ROOT / "params.yaml")
    return loaded.model_copy(update={"engine": loaded.engine.model_copy(update={"name": "dask", "partition_rows": PARTITION_ROWS})})


@pytest.fixture(scope="module")
def contract():
    return read_contract(ROOT / "data/contract.yaml")


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """3,000 credit rows with duplicates across partitions and unlabelled rows planted."""
    table = pd.read_csv(ROOT / "data/raw/credit.csv").head(3000)
    table.iloc[[2200, 2900]] = table.iloc[[10, 1500]].to_numpy()  # each a copy of a row in an earlier partition
    table.loc[[800, 2950], "Status"] = np.nan
    path = tmp_path_factory.mktemp("raw") / "credit.csv"
    table.to_csv(path, index=False)
    return path


def test_validate_on_dask_writes_the_pandas_engines_table_and_summary(cluster, contract, raw, tmp_path) -> None:
    from tabular_mlops.engine.validate import validate_partitioned

    plain = validate_table(read_table(raw), contract, raw)
    summary = validate_partitioned(cluster, str(raw), contract, "Status", tmp_path / "validated.parquet", PARTITION_ROWS)
    assert_frame_equal(pd.read_parquet(tmp_path / "validated.parquet"), plain)
    assert summary == summarize(plain, "Status")
    assert summary["duplicate_rows"] >= 2 and summary["missing_by_column"]["Status"] == 2


BAD_VALUES = {  # each in a later partition; the last also breaks a rule in the first
    "not numeric": {2500: ("Income", "abc")},
    "below the minimum": {2100: ("Age", -5), 2600: ("Age", -7), 1450: ("Age", -1), 2999: ("Age", -2)},
    "unknown category": {2300: ("Home", "boat")},
    "an empty value and a later word": {5: ("Seniority", np.nan), 2400: ("Seniority", "abc")},
    "two columns": {2800: ("Amount", -3), 1900: ("Expenses", np.nan)},
}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("planted", list(BAD_VALUES), ids=list(BAD_VALUES))
def test_a_bad_value_in_a_later_partition_gives_the_pandas_engines_message(cluster, contract, raw, tmp_path, planted, suffix) -> None:
    from tabular_mlops.engine.validate import validate_partitioned

    table = pd.read_csv(raw).astype(object)
    for row, (column, value) in BAD_VALUES[planted].items():
        table.loc[row, column] = value
    path = tmp_path / f"bad{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else pd.read_csv(_csv(table, tmp_path)).to_parquet(path, row_group_size=1000)
    with pytest.raises(StageError) as plain:
        validate_table(read_table(path), contract, path)
    with pytest.raises(StageError) as on_dask:
        validate_partitioned(cluster, str(path), contract, "Status", tmp_path / "validated.parquet", PARTITION_ROWS)
    assert str(on_dask.value) == str(plain.value)
    assert not (tmp_path / "validated.parquet").exists()


def _csv(table: pd.DataFrame, folder: Path) -> Path:
    table.to_csv(path := folder / "as.csv", index=False)
    return path


@pytest.fixture(scope="module")
def validated(raw, contract, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("validated") / "validated.parquet"
    write_parquet(path, validate_table(read_table(raw), contract, raw))
    return path


def test_prepare_on_dask_gives_the_pandas_engines_rows_in_its_order(cluster, params, validated, tmp_path) -> None:
    from tabular_mlops.engine.prepare import prepare_partitioned

    cleaned, report = clean(read_table(validated), params.data, params.prepare)
    train, test = split(cleaned, "Status", params.prepare.test_size, params.prepare.split_seed, "classification")
    report.update(train_rows=len(train), test_rows=len(test))
    assert prepare_partitioned(cluster, params, str(validated), tmp_path / "train.parquet", tmp_path / "test.parquet") == report
    assert report["duplicate_rows_dropped"] >= 2 and report["unlabelled_rows_dropped"] == 2
    assert_frame_equal(pd.read_parquet(tmp_path / "train.parquet"), train)
    assert_frame_equal(pd.read_parquet(tmp_path / "test.parquet"), test)


@pytest.fixture(scope="module")
def prepared(validated, params, tmp_path_factory) -> Path:
    cleaned, _ = clean(read_table(validated), params.data, params.prepare)
    train, _ = split(cleaned, "Status", params.prepare.test_size, params.prepare.split_seed, "classification")
    write_parquet(path := tmp_path_factory.mktemp("prepared") / "train.parquet", train)
    return path


def test_featurize_on_dask_writes_the_pandas_engines_features_and_warnings(cluster, params, contract, prepared, tmp_path) -> None:
    from tabular_mlops.engine.featurize import featurize_partitioned
    from tabular_mlops.features.preprocessing import preprocessor_for
    from tabular_mlops.features.report import featurize_report, featurize_warnings

    inputs, target = split_inputs_target(read_table(prepared), params.data)
    plain = preprocessor_for(contract, [], params.featurize)
    features = plain.fit_transform(inputs)
    fitted = preprocessor_for(contract, [], params.featurize).fit(inputs)
    pairs = featurize_partitioned(cluster, params, fitted, str(prepared), tmp_path / "features.parquet")
    assert len(pairs) == 2 * 4  # 2,400 training rows: four partitions
    warnings = [featurize_warnings(model, inputs, table, featurize_report(model, inputs), 20, "report")
                for model, table in ((plain, features), (fitted, pairs))]
    assert warnings[0] == warnings[1]
    assert featurize_report(fitted, inputs) == featurize_report(plain, inputs)
    features["Status"] = target.to_numpy()
    assert_frame_equal(pd.read_parquet(tmp_path / "features.parquet"), features)


def test_a_constant_feature_is_found_from_the_partitions_pairs() -> None:
    from tabular_mlops.engine.partitions import distinct_pairs

    parts = [pd.DataFrame({"same": [1.0, 1.0], "gap": [np.nan, np.nan], "varies": [0.0, 0.0]}),
             pd.DataFrame({"same": [1.0], "gap": [np.nan], "varies": [2.0]})]
    stacked = pd.concat([distinct_pairs(part) for part in parts])
    assert stacked.nunique(dropna=False).to_dict() == {"same": 1, "gap": 1, "varies": 2}


@pytest.mark.slow  # the bundle comes from small_repo
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_batch_scoring_on_dask_writes_the_same_files_and_counts(cluster, small_repo, tmp_path, suffix) -> None:
    from tabular_mlops.deployment.artifact import load_bundle
    from tabular_mlops.deployment.batch import score_file
    from tests.test_batch_scoring import planted

    bundle = load_bundle(small_repo / "models/bundle")
    source = planted(pd.read_parquet(small_repo / "data/prepared/test.parquet").head(30).reset_index(drop=True), tmp_path, suffix)
    results = {}
    for engine, client in (("pandas", None), ("dask", cluster)):
        output, rejects = tmp_path / f"{engine}.csv", tmp_path / f"{engine}.rejects.csv"
        counts = score_file(bundle, source, output, rejects, chunk_rows=7, client=client)
        results[engine] = counts.metrics(), output.read_bytes(), rejects.read_bytes()
    assert results["dask"] == results["pandas"]
    assert results["dask"][0]["rows_rejected"] == 5 and results["dask"][0]["rows_read"] == 30


def test_cross_validation_on_the_cluster_scores_as_in_process(cluster, params, contract, prepared) -> None:
    from tabular_mlops.engine.cluster import fold_jobs, folds_on_cluster
    from tabular_mlops.models.pipeline import family_pipeline
    from tabular_mlops.models.scoring import cross_validated_predictions

    inputs, target = split_inputs_target(read_table(prepared), params.data)
    results, jobs = [], []
    for spec in (EngineParams(), EngineParams(name="dask", scheduler=cluster.scheduler.address)):
        with folds_on_cluster(spec):
            jobs.append(fold_jobs(1))
            pipeline = family_pipeline(params, contract, "hist_gradient_boosting")
            results.append(cross_validated_predictions("classification", pipeline, inputs, target, 4, params.seed, 1, on_fold=lambda _: None))
    assert jobs == [1, -1]
    assert results[1][0] == results[0][0] and results[0][0]["roc_auc_mean"] > 0.7
    np.testing.assert_array_equal(results[1][1], results[0][1])


@pytest.mark.slow
def test_dvc_repro_on_dask_writes_the_pandas_engines_outputs(cluster, small_repo, small_repo_copy) -> None:
    """The 600-row project through `score`, its stages on the module's cluster (engine.scheduler)."""
    update_params(small_repo_copy, lambda params: params["engine"].update(name="dask", scheduler=cluster.scheduler.address, partition_rows=150))
    result = dvc(small_repo_copy, "repro", "score")
    assert result.returncode == 0, result.output
    assert "Running stage 'validate'" in result.output and "Running stage 'score'" in result.output
    for table in ("data/validated.parquet", "data/prepared/train.parquet", "data/prepared/test.parquet",
                  "data/features/train.parquet", "data/scored/batch.parquet"):
        assert_frame_equal(pd.read_parquet(small_repo_copy / table), pd.read_parquet(small_repo / table), obj=table)
    same_bytes = ["models/preprocessor.joblib", "data/scored/rejects.csv", "metrics/validate.json", "metrics/prepare.json",
                  "metrics/featurize.json", "metrics/leaderboard.json", "metrics/evaluate/metrics.json", "metrics/score.json"]
    for name in same_bytes:
        assert (small_repo_copy / name).read_bytes() == (small_repo / name).read_bytes(), name


@pytest.mark.parametrize("engine, message", [
    ({"name": "spark"}, "key 'engine.name' must be 'pandas' or 'dask'; got 'spark'"),
    ({"scheduler": 8786}, "key 'engine.scheduler' must be a valid string; got 8786"),
    ({"scheduler": "10.0.0.5:8786"}, "engine.scheduler must be a scheduler address such as 'tcp://10.0.0.5:8786', or null; got '10.0.0.5:8786'"),
    ({"worker": 4}, "unknown key 'engine.worker' (did you mean 'workers'?)"),
    ({"workers": 0}, "engine.workers"),
])
def test_bad_engine_params_are_refused_naming_the_key(tmp_path, engine, message) -> None:
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    update_params(tmp_path, lambda params: params["engine"].update(engine))
    with pytest.raises(StageError, match=None) as error:
        load_params(tmp_path / "params.yaml")
    assert message in str(error.value)


def test_dask_asked_for_but_not_installed_is_one_line_naming_the_key_and_the_install(monkeypatch, capsys) -> None:
    from tabular_mlops.engine.cluster import engine_client

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError

    def stage() -> None:
        with engine_client(EngineParams(name="dask")):
            pass

    with pytest.raises(SystemExit) as exited:
        run_stage(stage)
    assert exited.value.code == 2
    assert capsys.readouterr().err == ("error: params.yaml: engine.name is 'dask', but dask is not installed;"
                                       " install it with pip install -e '.[dask]'\n")
