"""`python -m stages NAME [ARGUMENTS]` runs stage NAME as `python -m stages.NAME ARGUMENTS` would,
in a process forked from a warm stage server (tabular_mlops/stage_server) when one runs."""
import sys

from tabular_mlops.stage_server.client import run

sys.exit(run(sys.argv[1:]))
