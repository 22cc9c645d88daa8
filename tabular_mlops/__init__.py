"""tabular-mlops: the library behind the DVC stages and the `tabular-mlops` command."""
