"""Evaluating the trained model: its test metrics and CV (scored by models/scoring.py), thresholds, importance, segments and plots."""
