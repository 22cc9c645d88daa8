"""Imports run downwards: the commands and the service above the library, and no loops.

The packages of `tabular_mlops`, bottom to top (LAYERS below; a top-level module such as
errors.py counts as a package of its own). A package imports only from its own layer or below:

 0. basics: errors, files, progress, metrics (each metric's definition and direction),
    params_section (the base of every params section), stage_server (imports none of the library)
 1. families: each model family, its params section and its estimators
 2. config: params.yaml as typed sections; it gathers the families' sections and checks metric names
 3. data: tables, the data contract, validation, cleaning, the split
 4. features (the preprocessing) and engine (Dask partitions and the cluster)
 5. fairness, explanations, privacy: computations on values, groups and fitted pipelines
 6. models: the model pipeline, scoring and CV, the leaderboard, the search, the final fit
 7. evaluation, reporting, experiments, project, registry: what the pipeline reports and records;
    compiled: the fitted pipeline as an ONNX graph, and running it
 8. deployment: the bundle, batch scoring, the prediction log and the settings its users share
 9. monitoring, promotion: watching the deployed model, comparing a challenger with it
10. serving: the HTTP service, which only the `serve` command starts
11. the commands: cli.py, cli_texts.py, __main__.py; and stages/, what dvc.yaml runs

A command module (COMMAND_MODULES) parses a subcommand's arguments and runs it; only the CLI
imports one. It lives in the package whose work it drives (score_command.py in deployment/), so
its imports count for that package's layer too.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "tabular_mlops"

LAYERS: list[set[str]] = [
    {"errors", "files", "progress", "metrics", "params_section", "stage_server"},
    {"families"},
    {"config"},
    {"data"},
    {"features", "engine"},
    {"fairness", "explanations", "privacy"},
    {"models"},
    {"evaluation", "reporting", "experiments", "project", "registry", "compiled"},
    {"deployment"},
    {"monitoring", "promotion"},
    {"serving"},
    {"cli", "cli_texts", "__main__", "stages"},
]
# What only the CLI imports: the `tabular-mlops` entry points, and each module that adds a
# subcommand's arguments (add_arguments) and runs it (run(arguments)).
COMMAND_MODULES = {
    "tabular_mlops.__main__", "tabular_mlops.cli", "tabular_mlops.cli_texts",
    "tabular_mlops.deployment.score_command", "tabular_mlops.deployment.erase_command",
    "tabular_mlops.deployment.export_labels", "tabular_mlops.promotion.compare_command",
    "tabular_mlops.registry.commands", "tabular_mlops.serving.server", "tabular_mlops.experiments.sweep",
    "tabular_mlops.reporting.review", "tabular_mlops.project.init", "tabular_mlops.stage_server.control",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> tuple[dict[str, set[str]], dict[str, ast.Module]]:
    """module -> the project modules it imports, anywhere in it (top level or inside a function)."""
    paths = sorted([*(ROOT / PACKAGE).rglob("*.py"), *(ROOT / "stages").rglob("*.py")])
    trees = {module_name(path): ast.parse(path.read_text(encoding="utf-8")) for path in paths}
    graph = {}
    for module, tree in trees.items():
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{module}: a relative import; write it absolute"
                # `from package import module` imports the module; `from module import name`, the module
                names |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in trees else node.module for alias in node.names}
        graph[module] = {_known(name, trees) for name in names} - {None, module}
    return graph, trees


def _known(name: str, modules: dict) -> str | None:
    """The project module `name` is or lies in (None: another library)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def package_of(module: str) -> str | None:
    """tabular_mlops.models.search -> models; tabular_mlops.errors -> errors; stages.* -> stages; the root -> None."""
    parts = module.split(".")
    if parts[0] == "stages":
        return "stages"
    return parts[1] if len(parts) > 1 else None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One loop (first node repeated at the end) per strongly connected group of more than one node."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_loop_through(graph, group) for group in groups]


def _loop_through(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first node back to itself, inside the group."""
    start = min(group)
    paths = {target: [start, target] for target in graph[start] & group}
    while start not in paths:
        paths = {target: path + [target] for node, path in sorted(paths.items()) for target in sorted(graph[node] & group)}
    return paths[start]


def package_edges(graph: dict[str, set[str]]) -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> the module imports that make it."""
    edges = defaultdict(list)
    for module, imported in sorted(graph.items()):
        for target in sorted(imported):
            source_package, target_package = package_of(module), package_of(target)
            if None not in (source_package, target_package) and source_package != target_package:
                edges[(source_package, target_package)].append(f"{module} -> {target}")
    return edges


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found, _ = import_graph()
    # Not vacuous: the graph holds the whole package and edges known to exist.
    assert len(found) > 150 and "tabular_mlops.metrics" in found["tabular_mlops.config.params"]
    assert "tabular_mlops.deployment.artifact" in found["tabular_mlops.serving.sources"]
    return found


def test_the_checks_find_a_loop_and_name_the_packages():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    toy = {"tabular_mlops.data.rows": {"tabular_mlops.features.transformers"}, "tabular_mlops.features.transformers": {"tabular_mlops.data.dates"}}
    assert package_edges(toy) == {("data", "features"): ["tabular_mlops.data.rows -> tabular_mlops.features.transformers"],
                                  ("features", "data"): ["tabular_mlops.features.transformers -> tabular_mlops.data.dates"]}


def test_no_two_modules_import_each_other_even_through_others(graph):
    loops = cycles(graph)
    assert not loops, "module import loops: " + "; ".join(" -> ".join(loop) for loop in loops)


def test_no_two_packages_import_each_other_even_through_others(graph):
    edges = package_edges(graph)
    packages = defaultdict(set)
    for source, target in edges:
        packages[source].add(target)
    loops = cycles(packages)
    described = [" -> ".join(loop) + " (" + "; ".join(edges[(a, b)][0] for a, b in zip(loop, loop[1:])) + ")" for loop in loops]
    both_ways = [f"{a} <-> {b} ({edges[(a, b)][0]}; {edges[(b, a)][0]})" for a, b in sorted(edges) if a < b and (b, a) in edges]
    assert not loops, "package import loops: " + " | ".join(described) + (" | both ways: " + " | ".join(both_ways) if both_ways else "")


def test_every_package_imports_only_from_its_layer_or_below(graph):
    layer = {package: number for number, packages in enumerate(LAYERS) for package in packages}
    unplaced = sorted({package_of(module) for module in graph} - set(layer) - {None})
    assert not unplaced, f"put {unplaced} in a layer of LAYERS (and the docstring)"
    upward = [f"{edge} (layer {layer[source]} imports layer {layer[target]})"
              for (source, target), found in sorted(package_edges(graph).items()) if layer[target] > layer[source] for edge in found]
    assert not upward, "imports that climb: " + "; ".join(upward)


def test_only_serving_and_the_commands_import_the_service(graph):
    importers = [f"{module} -> {target}" for module, imported in sorted(graph.items()) for target in sorted(imported)
                 if package_of(target) == "serving" and package_of(module) != "serving" and module not in COMMAND_MODULES]
    assert not importers, "the library (or a stage) imports the service: " + "; ".join(importers)


def test_only_commands_import_a_command_module(graph):
    importers = [f"{module} -> {target}" for module, imported in sorted(graph.items()) for target in sorted(imported)
                 if target in COMMAND_MODULES and module not in COMMAND_MODULES]
    assert not importers, "a command module imported by a non-command: " + "; ".join(importers)


def test_command_modules_are_the_modules_that_parse_a_subcommands_arguments():
    _, trees = import_graph()
    parsing = {module for module, tree in trees.items() if module.startswith(PACKAGE) and any(
        isinstance(node, ast.FunctionDef) and any("argparse" in ast.unparse(argument.annotation)
                                                   for argument in node.args.args if argument.annotation is not None)
        for node in ast.walk(tree))}
    assert COMMAND_MODULES - set(trees) == set(), "COMMAND_MODULES names modules that do not exist"
    assert parsing - COMMAND_MODULES == set(), "these take argparse arguments: add them to COMMAND_MODULES"
