"""tabular-mlops pipeline stages: one module per DVC stage, shared helpers beside them."""
