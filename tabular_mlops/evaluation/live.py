"""Plots through dvclive, outside an experiment: each evaluation stage writes its own plot folder
and the dvc.yaml that declares its plots (DVC reads every dvc.yaml in the repository)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from dvclive import Live

from tabular_mlops.evaluation.diagnostics import round_plot_files


class _PipelineLive(Live):
    """dvclive's Live without its look at the DVC repository.

    Live opens the repository (Live._init_dvc) to warn about a stage that outputs its dvc.yaml
    and to find an experiment to save into. The stages have neither: save_dvc_exp is off and
    their dvc.yaml is committed to git. The look costs about 0.9 s a run, a quarter of a small stage.
    What is left is what dvclive does outside a Git repository: name the dvc.yaml it writes.
    dvclive is pinned; tests/test_evaluate.py checks that the files are those Live writes.
    """

    def _init_dvc(self) -> None:
        self._dvc_file = self._init_dvc_file()


def write_plots(directory: str | Path, plots_declared: str | Path, log: Callable[[Live], None]) -> None:
    """`log(live)` logs the plots; then the plot data is rounded like the metrics. No metric goes
    through dvclive: its dvc.yaml would declare the folder's metrics.json a DVC metric, and
    `dvc metrics show` lists the headline figures only (reporting/headline.py). So the empty
    metrics.json dvclive leaves is removed (evaluate writes its own there)."""
    with _PipelineLive(str(directory), dvcyaml=str(plots_declared), save_dvc_exp=False, report=None) as live:
        log(live)
    (Path(directory) / "metrics.json").unlink(missing_ok=True)
    round_plot_files(Path(directory) / "plots")
