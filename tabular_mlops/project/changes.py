"""What `tabular-mlops init` changes, worked out in full before any file is touched.

`plan` reads the table and the project and refuses whatever the user must fix (a missing
table, a target that is not a column or has one class, a flag that does not fit); `apply`
then only writes, copies and deletes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tabular_mlops.config.params import DataParams, load_params
from tabular_mlops.data.contract import draft
from tabular_mlops.data.tables import read_table
from tabular_mlops.errors import StageError
from tabular_mlops.project.ci import CHECKS, WORKFLOW, project_ci, project_workflow
from tabular_mlops.project.repository import Request, artifact_name, copy_table, dvc_add
from tabular_mlops.project.readme import next_steps, project_readme
from tabular_mlops.project.target import TargetChoice, choose
from tabular_mlops.project.yaml_text import set_block_values, set_first_entry


@dataclass(frozen=True)
class Changes:
    request: Request
    name: str
    artifact: str
    data: DataParams
    choice: TargetChoice
    shape: tuple[int, int]
    params_text: str
    dvc_text: str
    contract_text: str
    decisions: list[str]  # a line per suggested personal or protected column
    removed: list[str]  # existing files, the example's and the example's pipeline outputs
    workflow_text: str  # the pull-request workflow, checking the project instead of the template's tests

    def apply(self, root: Path, large_bytes: int) -> list[str]:
        for name in self.removed:
            (root / name).unlink()
        table = root / self.data.path
        copy_table(self.request.table, table)
        large = table.stat().st_size > large_bytes
        if large:
            dvc_add(root, self.data.path)
        for name, text in (("params.yaml", self.params_text), ("dvc.yaml", self.dvc_text),
                           (self.data.contract, self.contract_text), ("README.md", project_readme(self)),
                           (".ci/run", project_ci(self.data.path if large else None)), (WORKFLOW, self.workflow_text)):
            (root / name).write_text(text, encoding="utf-8")
        return self.summary(large, table.stat().st_size, large_bytes)

    def summary(self, large: bool, size: int, large_bytes: int) -> list[str]:
        rows, columns = self.shape
        kept = (f"added to DVC ({self.data.path}.dvc goes to git; the table is gitignored)" if large
                else f"for git (a table over {_size(large_bytes)} goes to DVC instead)")
        metrics = [name for name in self.removed if name.startswith("metrics/")]
        template = [name for name in self.removed if name.startswith(("tests/", "benchmarks/"))]
        removed = [name for name in self.removed if name not in metrics and name not in template]
        lines = [f"init: project '{self.name}' from {self.request.table} ({rows} rows, {columns} columns), target '{self.data.target}'",
                 *[f"  {reason}" for reason in self.choice.reasons],
                 f"  {self.data.path}: copied ({_size(size)}), {kept}",
                 "  params.yaml: the data: block set for this table, with drop_columns [] and segment_column null;"
                 " every other setting and comment kept",
                 f"  {self.data.contract}: drafted, {columns} columns"
                 + (f"; {len(self.decisions)} suggested personal or protected, yours to decide:" if self.decisions else ""),
                 *[f"    {line}" for line in self.decisions],
                 f"  dvc.yaml: the model artifact is '{self.artifact}' ({self.choice.output})",
                 f"  README.md: written for '{self.name}'",
                 f"  removed the bundled example: {', '.join(removed)}"
                 + (f" and {len(metrics)} files under metrics/ (dvc repro writes yours)" if metrics else ""),
                 *([f"  removed the template's own tests and benchmarks ({len(template)} files under tests/ and benchmarks/),"
                    " which run on the bundled example"] if template else []),
                 f"  .ci/run and {WORKFLOW}: check that `{CHECKS[0]}` passes the gates and gives the committed"
                 " dvc.lock files and metrics/ byte for byte"]
        return lines + next_steps(self)


def _size(count: int) -> str:
    return f"{count / 1024 ** 2:.0f} MB" if count >= 1024 ** 2 else f"{count / 1024:.0f} kB"


def plan(request: Request, root: Path, example: list[str]) -> Changes:
    """`example`: the files to remove (repository.example_files)."""
    table = read_table(request.table)
    choice = choose(table, request.target, str(request.table), request.task, request.positive_class)
    name = request.name or request.table.stem
    artifact = artifact_name(name)
    params = load_params(root / "params.yaml")
    values = {"path": f"data/raw/{request.table.name}", "target": request.target, "task": choice.task,
              "positive_class": choice.positive_class, "drop_columns": [], "segment_column": None}
    data = DataParams(**{**params.data.model_dump(), **values})
    _, contract_text, decisions = draft(table, data)
    params_text = set_block_values((root / "params.yaml").read_text(encoding="utf-8"), "data", values, "params.yaml")
    dvc_text = set_first_entry((root / "dvc.yaml").read_text(encoding="utf-8"), "artifacts", artifact,
                               {"desc": f"{name}: the gated scoring pipeline (raw input columns to {choice.output}) with its manifest",
                                "labels": [choice.task, "scikit-learn"]}, "dvc.yaml")
    _check_parsed(params_text, "params.yaml", lambda parsed: {key: parsed["data"][key] for key in values} == values)
    _check_parsed(dvc_text, "dvc.yaml", lambda parsed: artifact in parsed["artifacts"])
    removed = [path for path in example if path != data.path]  # the user's table may be given in the example's place
    workflow_text = project_workflow((root / WORKFLOW).read_text(encoding="utf-8"))
    return Changes(request, name, artifact, data, choice, table.shape, params_text, dvc_text, contract_text, decisions, removed,
                   workflow_text)


def _check_parsed(text: str, name: str, holds) -> None:
    """The text edits keep the layout; parsing the result checks they said what was meant."""
    if not holds(yaml.safe_load(text)):
        raise StageError(f"{name}: could not be edited as text (is its layout changed?); edit it by hand")
