"""Deploying the trained model: the bundle the pipeline writes, and loading it safely."""
