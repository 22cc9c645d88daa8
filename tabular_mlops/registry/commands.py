"""`tabular-mlops register | versions | promote | rollback`: the model registry's commands.

Each runs from the project's root folder. Versions and stages are GTO's git tags (created with
GTO's API, read by versions.py); what a version is comes from its commit (trace.py); whether a
challenger may take a stage comes from the compare stage's metrics/compare.json (promotion.py).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tabular_mlops.errors import StageError, Verdict
from tabular_mlops.registry.fetch import model_artifact
from tabular_mlops.registry.git import head_commit, user_name
from tabular_mlops.registry.promotion import (COMPARISON, check_current, note, promotion_record, read_comparison,
                                              rollback_record, rollback_target)
from tabular_mlops.registry.trace import check_committed, check_compared, check_gates, test_metric, trace
from tabular_mlops.registry.versions import REPLACED, compose, next_version, read_registry

PARAMS = "params.yaml"
SWAP = ("curl -X POST -H \"X-API-Key: $TABULAR_MLOPS_API_KEY\" -H \"Content-Type: application/json\" "
        "-d '{{\"stage\": \"{stage}\"}}' http://127.0.0.1:8000/admin/swap")


def add_register_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", metavar="vX.Y.Z", help="the version to register, above the latest "
                        "(default: v1.0.0 for the first, then the next minor: v1.1.0, v1.2.0, ...)")


def add_versions_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the versions as JSON, for scripts")


def add_promote_arguments(parser: argparse.ArgumentParser) -> None:
    add_rollback_arguments(parser)
    parser.add_argument("--force", action="store_true", help="promote although the comparison says keep (needs --reason)")
    parser.add_argument("--reason", metavar="TEXT", help="why the promotion is forced; recorded in the registry with your git user.name")


def add_rollback_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", metavar="STAGE", help="the registry stage (default: promote.stage in params.yaml)")


def run_register(arguments: argparse.Namespace) -> int:
    repo = Path.cwd()
    artifact = model_artifact(repo)
    version, commit, created = register_head(repo, artifact, arguments.version)
    if created:
        print(f"registered {artifact}@{version} (commit {commit[:7]})")
        print("next: `git push --tags` shares it; `tabular-mlops versions` lists the registry")
    else:
        ignored = f"; --version {arguments.version} not applied" if arguments.version not in (None, version) else ""
        print(f"HEAD (commit {commit[:7]}) is already registered as {artifact}@{version}{ignored}")
    return 0


def register_head(repo: Path, artifact: str, requested: str | None) -> tuple[str, str, bool]:
    """(version, commit, whether it was registered now) of HEAD, registered unless it already is."""
    registry, commit = read_registry(repo, artifact), head_commit(repo)
    existing = registry.at_commit(commit)
    if existing is not None:
        return existing.version, commit, False
    check_committed(repo, commit)
    check_gates(repo, commit)
    version = next_version(registry, requested)
    record = trace(repo, commit)
    summary = f"register {artifact} {version}: commit {commit[:7]}, model {record['model_sha256'][:12]}"
    _gto("register", repo, artifact, ref=commit, version=version, message=compose(summary, record))
    return version, commit, True


def run_versions(arguments: argparse.Namespace) -> int:
    from tabular_mlops.config.params import load_params
    from tabular_mlops.metrics import PRIMARY_METRIC

    repo, params = Path.cwd(), load_params()
    metric = params.promote.metric or PRIMARY_METRIC[params.data.problem]
    artifact = model_artifact(repo)
    registry = read_registry(repo, artifact)
    rows = []
    for entry in registry.versions:
        table = entry.record.get("table")
        data = entry.record.get("data") or {}
        rows.append({"version": entry.version, "commit": entry.commit, "registered": entry.registered,
                     "stages": registry.stages_of(entry.version), "table": table, "data": data,
                     "model_sha256": entry.record.get("model_sha256"), "metric": metric,
                     "test": test_metric(repo, entry.commit, metric),
                     "notes": [text for event in registry.events if event.assigned and event.version == entry.version
                               and (text := note(event.record, event.stage))]})
    if arguments.json:
        print(json.dumps({"artifact": artifact, "versions": rows}, indent=2))
    elif not rows:
        print(f"no version of {artifact} is registered; `tabular-mlops register` registers HEAD")
    else:
        print(versions_table(rows, metric))
    return 0


def versions_table(rows: list[dict], metric: str) -> str:
    """One line per version, newest first; the data column is the md5 of data.path (+N added tables)."""
    def data(row: dict) -> str:
        md5 = row["data"].get(row["table"]) or next(iter(row["data"].values()), None)
        return "-" if md5 is None else md5[:8] + (f" +{len(row['data']) - 1}" if len(row["data"]) > 1 else "")

    header = ("version", "commit", "registered", "stages", "data md5", f"test {metric}", "notes")
    lines = [(row["version"], row["commit"][:7], row["registered"][:16].replace("T", " "), ", ".join(row["stages"]) or "-",
              data(row), "-" if row["test"] is None else f"{row['test']:.4f}", "; ".join(row["notes"]))
             for row in rows]
    widths = [max(len(line[column]) for line in [header, *lines]) for column in range(len(header) - 1)]
    return "\n".join(("  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[-1]).rstrip()
                     for line in [header, *lines])


def run_promote(arguments: argparse.Namespace) -> int:
    from tabular_mlops.config.params import load_params

    if arguments.force != bool(arguments.reason):
        raise StageError("--force needs --reason TEXT, which the registry records" if arguments.force
                         else "--reason goes with --force: it says why a promotion the comparison refused is forced")
    repo, params = Path.cwd(), load_params()
    stage, artifact = _stage(arguments.stage, params.promote.stage), model_artifact(repo)
    registry = read_registry(repo, artifact)
    check_committed(repo, head_commit(repo))
    check_compared(repo, head_commit(repo), COMPARISON)
    comparison, champion = read_comparison(COMPARISON), registry.current(stage)
    check_current(comparison, stage=stage, artifact=artifact, champion_now=champion, champion_param=params.promote.champion)
    forced = comparison.decision == "keep"
    if forced and not arguments.force:
        raise Verdict(f"{artifact}#{stage} stays at {champion or 'no version'}: the comparison says keep: "
                      f"{'; '.join(comparison.reasons) or 'no reason given'} (--force --reason TEXT overrides it)")
    version, commit, created = register_head(repo, artifact, None)
    if created:
        print(f"registered {artifact}@{version} (commit {commit[:7]})")
    if champion == version:
        print(f"{artifact}#{stage} already points at {version}")
        return 0
    if arguments.force and not forced:
        print("the comparison says promote: --force was not needed, and is not recorded")
    summary, record = promotion_record(comparison, version, champion, user_name(repo), arguments.reason if forced else None)
    tag = _assign(repo, artifact, stage, version, champion, compose(summary, record),
                  compose(f"{champion} leaves {stage}: {version} promoted", {"action": REPLACED, "to": version}))
    _after(repo, artifact, stage, champion, version, tag, "promote")
    return 0


def run_rollback(arguments: argparse.Namespace) -> int:
    from tabular_mlops.config.params import load_params

    repo, params = Path.cwd(), load_params()
    stage, artifact = _stage(arguments.stage, params.promote.stage), model_artifact(repo)
    current, previous = rollback_target(read_registry(repo, artifact), stage)
    summary, record = rollback_record(current, previous, user_name(repo))
    tag = _assign(repo, artifact, stage, previous, current, compose(summary, record),
                  compose(f"{current} leaves {stage}: rolled back to {previous}", {**record}))
    _after(repo, artifact, stage, current, previous, tag, "rollback")
    return 0


def _stage(given: str | None, default: str) -> str:
    from pydantic import ValidationError

    from tabular_mlops.config.params import PromoteParams

    if given is None:
        return default
    try:
        return PromoteParams(stage=given).stage
    except ValidationError:
        raise StageError(f"--stage must be a stage name such as 'prod' (lower-case letters, digits, '-'); got {given!r}") from None


def _assign(repo: Path, artifact: str, stage: str, version: str, leaving: str | None, message: str, leaving_message: str) -> str:
    """Point `stage` at `version`, then unassign the version that leaves it, so GTO's own
    `gto show` and `gto which` also see one version at the stage. The assignment's tag name."""
    _after_its_last_unassignment(repo, artifact, stage, version)
    assignment = _gto("assign", repo, artifact, stage, version=version, message=message, force=True)
    if leaving is not None:
        _gto("unassign", repo, artifact, stage=stage, version=leaving, message=leaving_message, force=True)
    return assignment.tag


def _after_its_last_unassignment(repo: Path, artifact: str, stage: str, version: str) -> None:
    """Wait, if need be, for the second after `version` last left `stage`: GTO orders a version's
    assignments and unassignments by their tags' dates, which git keeps to the second, so an
    assignment in the same second as the unassignment before it would read as unassigned."""
    import time
    from datetime import datetime, timedelta, timezone

    dates = [event.date for event in read_registry(repo, artifact).events
             if event.stage == stage and event.version == version and not event.assigned]
    if dates:
        ready = max(datetime.fromisoformat(date) for date in dates) + timedelta(seconds=1)
        time.sleep(max(0.0, (ready - datetime.now(timezone.utc)).total_seconds()))


def _after(repo: Path, artifact: str, stage: str, before: str | None, after: str, tag: str, verb: str) -> None:
    set_champion(repo / PARAMS, after)
    print(f"{artifact}#{stage}: {before or 'no version'} -> {after} (tag {tag})")
    print(f"{PARAMS}: promote.champion: {after}")
    print("next steps:")
    print(f"  git commit {PARAMS} -m \"{verb}: {artifact} {after} at {stage}\"   # the compare stage's champion changed")
    print("  git push --tags   # share the registry's tags")
    print(f"  reload a running service: {SWAP.format(stage=stage)}")


def set_champion(path: Path, version: str) -> None:
    """Set promote.champion in params.yaml as a text edit, so its comments and layout stay."""
    import yaml

    from tabular_mlops.files import write_text
    from tabular_mlops.project.yaml_text import set_block_values

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StageError(f"{path}: cannot read it ({error.strerror})") from None
    edited = set_block_values(text, "promote", {"champion": version}, str(path))
    if ((yaml.safe_load(edited) or {}).get("promote") or {}).get("champion") != version:
        raise StageError(f"{path}: could not set promote.champion: {version}; set it by hand")
    write_text(path, edited)


def _gto(action: str, repo: Path, *arguments, **options):
    from gto import api
    from gto.exceptions import GTOException

    try:
        return getattr(api, action)(str(repo), *arguments, **options)
    except GTOException as error:
        raise StageError(f"gto {action}: {' '.join(str(error).split())}") from None

