"""The scoring service: `tabular-mlops serve`, its request schema and its prediction log."""
