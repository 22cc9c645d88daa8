"""The DVC stages: one short module per stage in dvc.yaml. Nothing imports them; the code they
call lives in the `tabular_mlops` library."""
