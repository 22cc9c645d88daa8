"""Reading the registry: the versions of the model artifact and which version each stage points at.

GTO writes the tags (`model@v1.2.0` registers a version, `model#prod#7` assigns a
stage, `model#prod!#8` unassigns one); they are read here with one `git for-each-ref` and
GTO's own tag-name parser. Assignments are ordered by the tag's counter, which GTO increments for
every assignment and unassignment, rather than by the tag's date: git dates tags to the second,
and a promotion followed by a rollback can fall in the same second.

Each tag's message is a summary line, then a JSON record (`compose`), so every version can be
traced to its commit, data, model and test metrics, and every assignment says why it was made.

Stage history is a stack: a promotion pushes its version, a rollback pops the current one. So
two rollbacks go back two promotions (v1.2.0 -> v1.1.0 -> v1.0.0), a rollback never undoes the
rollback before it, and with one version left there is nothing to roll back to.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tabular_mlops.config.params import VERSION  # the registry's versions: v<major>.<minor>.<patch>
from tabular_mlops.registry.git import git

ROLLBACK, REPLACED = "rollback", "replaced"  # the `action` of assignment records that rollback and promote write


@dataclass(frozen=True)
class Registered:
    """One registered version (an `<artifact>@vX.Y.Z` tag)."""

    version: str
    commit: str
    registered: str  # the tag's date, ISO 8601
    author: str
    record: dict  # the JSON record of the tag's message: commit, data, model_sha256, metrics ({} for other tags)


@dataclass(frozen=True)
class StageEvent:
    """One assignment (or unassignment) of a stage to a version (an `<artifact>#prod#N` tag)."""

    counter: int
    stage: str
    version: str | None  # None: the tag's commit is not a registered version
    assigned: bool  # False: an unassignment (`#prod!#N`)
    date: str
    author: str
    summary: str  # the message's first line
    record: dict


@dataclass
class Registry:
    artifact: str
    versions: list[Registered] = field(default_factory=list)  # newest (highest) version first
    events: list[StageEvent] = field(default_factory=list)  # by counter, oldest first

    def latest(self) -> Registered | None:
        return self.versions[0] if self.versions else None

    def named(self, version: str) -> Registered | None:
        return next((entry for entry in self.versions if entry.version == version), None)

    def at_commit(self, commit: str) -> Registered | None:
        return next((entry for entry in self.versions if entry.commit == commit), None)

    def stages(self) -> list[str]:
        return sorted({event.stage for event in self.events})

    def history(self, stage: str) -> list[str]:
        """The stage's versions as a stack: promotions pushed, rollbacks popped; the last is current.

        An unassignment made by hand (`gto unassign`) takes that version off the stack; the ones
        promote and rollback write beside their assignment (records `replaced`, `rollback`) do not.
        """
        stack: list[str] = []
        for event in self.events:
            if event.stage != stage or event.version is None:
                continue
            action = event.record.get("action")
            if not event.assigned:
                if action not in (REPLACED, ROLLBACK):
                    stack = [version for version in stack if version != event.version]
            elif action == ROLLBACK and len(stack) >= 2 and stack[-2] == event.version:
                stack.pop()
            elif not stack or stack[-1] != event.version:
                stack.append(event.version)
        return stack

    def current(self, stage: str) -> str | None:
        """The version the stage points at now, or None."""
        history = self.history(stage)
        return history[-1] if history else None

    def stages_of(self, version: str) -> list[str]:
        """The stages pointing at `version` now."""
        return [stage for stage in self.stages() if self.current(stage) == version]


def read_registry(repo: str | Path, artifact: str) -> Registry:
    """Every version of `artifact` and every assignment of its stages, from the repository's tags."""
    from gto.tag import parse_name  # GTO's parser of its tag names: {} for any other tag

    form = "%(refname:strip=2)%00%(objecttype)%00%(*objectname)%00%(taggerdate:iso-strict)%00%(taggername)%00%(contents)%1e"
    listed = git(repo, "for-each-ref", "refs/tags", f"--format={form}").decode("utf-8", errors="replace")
    registry, assignments = Registry(artifact), []
    for entry in listed.split("\x1e"):
        fields = entry.lstrip("\n").split("\x00")
        if len(fields) != 6 or fields[1] != "tag":  # GTO's tags are annotated; a lightweight tag is not GTO's
            continue
        name, _, commit, date, author, message = fields
        parsed = parse_name(name, raise_on_fail=False) if name else {}
        if parsed.get("name") != artifact:
            continue
        action = str(getattr(parsed.get("action"), "value", parsed.get("action")))
        if action == "register" and VERSION.fullmatch(parsed.get("version", "")):
            registry.versions.append(Registered(parsed["version"], commit, date, author, record_of(message)))
        elif action in ("assign", "unassign") and "counter" in parsed:
            assignments.append((parsed["counter"], parsed["stage"], commit, action == "assign", date, author, message))
    registry.versions.sort(key=lambda entry: version_key(entry.version), reverse=True)
    version_of = {entry.commit: entry.version for entry in registry.versions}
    registry.events = [StageEvent(counter, stage, version_of.get(commit), assigned, date, author,
                                  message.split("\n", 1)[0].strip(), record_of(message))
                       for counter, stage, commit, assigned, date, author, message in sorted(assignments)]
    return registry


def version_key(version: str) -> tuple[int, int, int]:
    major, minor, patch = VERSION.fullmatch(version).groups()
    return int(major), int(minor), int(patch)


def next_version(registry: Registry, requested: str | None) -> str:
    """`requested` when it is a version above the latest; by default v1.0.0 first, then the next minor."""
    from tabular_mlops.errors import StageError

    latest = registry.latest()
    if requested is None:
        if latest is None:
            return "v1.0.0"
        major, minor, _ = version_key(latest.version)
        return f"v{major}.{minor + 1}.0"
    if not VERSION.fullmatch(requested):
        raise StageError(f"--version must be a version such as v1.2.0 (v<major>.<minor>.<patch>); got {requested!r}")
    if latest is not None and version_key(requested) <= version_key(latest.version):
        raise StageError(f"--version {requested} must be greater than the latest registered version, "
                         f"{registry.artifact}@{latest.version}")
    return requested


def compose(summary: str, record: dict) -> str:
    """A tag message: a summary line for `git tag -n` and `gto show`, then the JSON record."""
    return f"{summary}\n\n{json.dumps(record, indent=2, sort_keys=True)}\n"


def record_of(message: str) -> dict:
    """The JSON record of a message `compose` wrote; {} for any other message."""
    _, _, body = message.partition("\n\n")
    try:
        record = json.loads(body)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}
