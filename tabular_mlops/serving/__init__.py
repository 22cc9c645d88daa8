"""The scoring service: `tabular-mlops serve`, its request schema, telemetry, shadow scoring and swaps."""
