"""The Dask engine (engine.name: dask): the cluster, tables in partitions, and the stages' partition-wise work."""
