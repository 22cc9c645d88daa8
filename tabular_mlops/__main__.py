"""`python -m tabular_mlops` is the `tabular-mlops` command."""
import sys

from tabular_mlops.cli import main

sys.exit(main())
