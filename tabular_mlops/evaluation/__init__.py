"""Metrics, cross-validation, thresholds, importance, segments and plots."""
