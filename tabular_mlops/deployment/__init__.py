"""Deploying the trained model: the bundle the pipeline writes, loading it safely, batch scoring,
the prediction log, and the settings that `serve`, `score`, `erase` and `export-labels` share."""
