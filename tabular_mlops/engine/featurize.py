"""featurize's transform with the Dask engine: the fitted preprocessor applied partition-wise on the
workers, the features written in order. The fit is not partition-wise (see stages/featurize.py)."""
from __future__ import annotations

import pandas as pd

from tabular_mlops.config.params import Params
from tabular_mlops.data.tables import write_parquet_parts
from tabular_mlops.engine.partitions import Partition, distinct_pairs, in_order, partitions, read_partition


def featurize_partitioned(client, params: Params, preprocessor, source: str, destination: str) -> pd.DataFrame:
    """The features of every training row, computed partition-wise on the cluster with the fitted
    `preprocessor` (fitted by the caller exactly as the pandas engine fits it) and written to
    `destination` in order. Returns two rows per partition with each feature's distinct values
    (`distinct_pairs`), enough for featurize's constant-feature warning."""
    parts = partitions(source, params.engine.partition_rows)
    pairs: list[pd.DataFrame] = []

    def features():
        for part_features, part_pairs in in_order(client, _features, parts, preprocessor, params):
            pairs.append(part_pairs)
            yield part_features

    write_parquet_parts(destination, features())
    return pd.concat(pairs, ignore_index=True)


def _features(part: Partition, preprocessor, params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    from tabular_mlops.data.dataset import split_inputs_target

    inputs, target = split_inputs_target(read_partition(part), params.data)
    features = preprocessor.transform(inputs).reset_index(drop=True)
    pairs = distinct_pairs(features)
    features[target.name] = target.to_numpy()
    return features, pairs
