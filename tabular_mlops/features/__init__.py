"""Preprocessing: the fitted transformers at the head of every model pipeline."""
