"""The stage server: `python -m stages NAME` runs the stage in a child forked from a warm
interpreter, and the stage cannot tell the difference (argv, folder, environment, umask,
streams, exit code, signals, edited code, byte-identical outputs)."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tabular_mlops.stage_server.client import lock_held
from tabular_mlops.stage_server.control import running_servers, stop_servers
from tabular_mlops.stage_server.server import _libraries_changed, library_stamps
from tests.dvc_repo import environment

ROOT = Path(__file__).resolve().parents[1]
# Prints whether the heavy libraries were imported before the stage's first line ran.
PROBE = """\
import os, sys
print("warm" if "sklearn" in sys.modules else "cold", os.getpid(), flush=True)
print("argv", sys.argv[1:], "cwd", os.getcwd(), "env", os.environ.get("PROBE_VALUE"), "umask", oct(os.umask(0)))
print("to stderr", file=sys.stderr)
sys.exit(int(os.environ.get("PROBE_EXIT", "0")))
"""
CPU_PROBE = """\
import sys
from numpy._core._multiarray_umath import __cpu_features__
print("warm" if "sklearn" in sys.modules else "cold", __cpu_features__["X86_V3"])
"""
SLEEPER = """\
import os, time
print(os.getpid(), flush=True)
time.sleep(120)
"""


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """A private server folder (short: a socket path has at most 107 bytes) for this module."""
    folder = Path(tempfile.mkdtemp(prefix="stage-server-test-"))
    env = {**environment(), "XDG_RUNTIME_DIR": str(folder)}
    env.pop("TABULAR_MLOPS_STAGE_SERVER", None)
    yield env
    stop_servers(server_folder(env))
    shutil.rmtree(folder, ignore_errors=True)


def server_folder(env: dict[str, str]) -> Path:
    return Path(env["XDG_RUNTIME_DIR"]) / f"tabular-mlops-stage-server-{os.getuid()}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder whose stages/ holds the probe stages beside the real launcher."""
    stages = tmp_path / "stages"
    stages.mkdir()
    shutil.copy(ROOT / "stages/__init__.py", stages)
    shutil.copy(ROOT / "stages/__main__.py", stages)
    (stages / "probe.py").write_text(PROBE)
    (stages / "sleeper.py").write_text(SLEEPER)
    (stages / "cpu_probe.py").write_text(CPU_PROBE)
    return tmp_path


def run_stage(project: Path, env: dict[str, str], *arguments: str, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stages", *arguments], cwd=project, env={**env, **variables},
                          capture_output=True, text=True, timeout=120)


def wait_for_server(env: dict[str, str]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        servers = running_servers(server_folder(env)) if server_folder(env).exists() else {}
        if servers and all(socket.exists() for socket in servers):
            return next(iter(servers.values()))
        time.sleep(0.1)
    raise AssertionError(f"no stage server started; its log: {list(server_folder(env).glob('*.log'))}")


@pytest.fixture
def warm(project: Path, server_env: dict[str, str]) -> dict[str, str]:
    """server_env with a server running (the first stage that found none started it)."""
    if not running_servers(server_folder(server_env)) if server_folder(server_env).exists() else True:
        assert run_stage(project, server_env, "probe").returncode == 0
    wait_for_server(server_env)
    return server_env


@pytest.mark.slow
def test_the_first_stage_runs_in_its_own_interpreter_and_starts_a_server_for_the_next(project: Path, server_env: dict[str, str]) -> None:
    stop_servers(server_folder(server_env)) if server_folder(server_env).exists() else None
    first = run_stage(project, server_env, "probe")
    assert first.returncode == 0 and first.stdout.startswith("cold"), first.stdout + first.stderr
    server = wait_for_server(server_env)
    second = run_stage(project, server_env, "probe")
    assert second.returncode == 0 and second.stdout.startswith("warm"), second.stdout + second.stderr
    stage_pid = int(second.stdout.split()[1])
    assert stage_pid != server and stage_pid != os.getpid()


@pytest.mark.slow
def test_a_stage_that_finds_the_server_still_starting_waits_and_runs_warm(project: Path, server_env: dict[str, str]) -> None:
    stop_servers(server_folder(server_env)) if server_folder(server_env).exists() else None
    first = subprocess.Popen([sys.executable, "-m", "stages", "sleeper"], cwd=project, env=server_env,
                             stdout=subprocess.PIPE, text=True)  # runs cold and starts a server
    try:
        first.stdout.readline()
        # The server takes its lock first, then imports for seconds: this stage starts in between.
        deadline = time.monotonic() + 30
        while not any(map(lock_held, server_folder(server_env).glob("*.lock"))) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not list(server_folder(server_env).glob("*.sock")), "the server listened before this stage started"
        second = run_stage(project, server_env, "probe")
        assert second.returncode == 0 and second.stdout.startswith("warm"), second.stdout + second.stderr
    finally:
        first.kill()
        first.wait()


@pytest.mark.slow
def test_the_stage_gets_the_clients_arguments_folder_environment_umask_streams_and_exit_code(project: Path, warm: dict[str, str]) -> None:
    previous = os.umask(0o027)
    try:
        result = run_stage(project, warm, "probe", "--flag", "two words", PROBE_VALUE="from the client", PROBE_EXIT="3")
    finally:
        os.umask(previous)
    assert result.stdout.startswith("warm"), result.stdout + result.stderr
    assert result.returncode == 3
    assert f"argv ['--flag', 'two words'] cwd {project} env from the client umask 0o27" in result.stdout
    assert result.stderr == "to stderr\n"


@pytest.mark.slow
def test_an_edited_stage_runs_as_edited(project: Path, warm: dict[str, str]) -> None:
    assert run_stage(project, warm, "probe").stdout.startswith("warm")
    (project / "stages/probe.py").write_text(PROBE.replace('"warm"', '"edited"'))
    assert run_stage(project, warm, "probe").stdout.startswith("edited")


@pytest.mark.slow
@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGKILL])
def test_a_stopped_client_stops_its_stage(project: Path, warm: dict[str, str], signal_number: int) -> None:
    """SIGTERM is forwarded to the stage; after SIGKILL, which cannot be, the stage notices the client is gone."""
    client = subprocess.Popen([sys.executable, "-m", "stages", "sleeper"], cwd=project, env=warm,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stage = int(client.stdout.readline())
    assert stage != client.pid  # it runs on the server
    client.send_signal(signal_number)
    _out, err = client.communicate(timeout=30)
    assert client.returncode != 0
    if signal_number == signal.SIGTERM:
        assert "ended without an exit status" in err
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(stage):
        time.sleep(0.05)
    assert not _alive(stage)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


@pytest.mark.slow
def test_a_client_that_loads_libraries_differently_gets_a_server_of_its_own(project: Path, warm: dict[str, str]) -> None:
    """tests/test_reproducibility.py simulates another CPU with such variables: a server started
    without them must not run its stages."""
    from numpy._core._multiarray_umath import __cpu_features__

    other_cpu = {"NPY_DISABLE_CPU_FEATURES": "X86_V3"}
    assert run_stage(project, warm, "cpu_probe").stdout == f"warm {__cpu_features__['X86_V3']}\n"
    assert run_stage(project, warm, "cpu_probe", **other_cpu).stdout == "cold False\n"
    deadline = time.monotonic() + 60
    while len(running_servers(server_folder(warm))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # its socket appears after its imports
    assert run_stage(project, warm, "cpu_probe", **other_cpu).stdout == "warm False\n"
    assert run_stage(project, warm, "cpu_probe").stdout == f"warm {__cpu_features__['X86_V3']}\n"


@pytest.mark.slow
def test_a_bad_stage_name_is_a_usage_error(project: Path, warm: dict[str, str]) -> None:
    for arguments in ([], ["../probe"], ["no-such-stage"]):
        result = run_stage(project, warm, *arguments)
        assert result.returncode == 2 and result.stderr.startswith("usage: python -m stages NAME"), result.stderr


@pytest.mark.slow
def test_the_off_switch_runs_every_stage_in_its_own_interpreter(project: Path, warm: dict[str, str]) -> None:
    result = run_stage(project, warm, "probe", TABULAR_MLOPS_STAGE_SERVER="0")
    assert result.returncode == 0 and result.stdout.startswith("cold")


@pytest.mark.slow
def test_stop_ends_the_server_and_the_next_stage_starts_a_new_one(project: Path, warm: dict[str, str]) -> None:
    old = wait_for_server(warm)
    stopped = subprocess.run([sys.executable, "-m", "tabular_mlops", "debug", "stage-server", "stop"], env=warm,
                             capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0 and stopped.stdout.startswith("stopped ") and stopped.stdout != "stopped 0 stage server(s)\n"
    assert running_servers(server_folder(warm)) == {}
    assert run_stage(project, warm, "probe").stdout.startswith("cold")
    assert wait_for_server(warm) != old


def test_a_changed_library_on_disk_counts_as_stale() -> None:
    import sklearn  # noqa: F401 - a library the server imports

    stamps = library_stamps()
    assert any("site-packages/sklearn" in path for path in stamps)
    assert not _libraries_changed(stamps)
    path = next(iter(stamps))
    assert _libraries_changed({**stamps, path: stamps[path] - 1})


def digests(repo: Path, paths: list[str]) -> dict[str, str]:
    files = [file for path in paths for file in sorted((repo / path).rglob("*") if (repo / path).is_dir() else [repo / path])]
    return {str(file.relative_to(repo)): hashlib.sha256(file.read_bytes()).hexdigest() for file in files if file.is_file()}


@pytest.mark.slow
def test_real_stages_write_the_same_bytes_on_the_server_as_in_their_own_interpreter(small_repo_copy: Path, server_env: dict[str, str]) -> None:
    stages = [("featurize", ["data/features", "models/preprocessor.joblib"]),
              ("train", ["models/model.joblib", "models/model.json", "models/search.json"]),
              ("evaluate", ["metrics/evaluate"]), ("explain", ["metrics/explain"]), ("fairness", ["metrics/fairness"])]
    outputs = [path for _stage, paths in stages for path in paths]
    written = {}
    for switch in ("1", "0"):
        if switch == "1":
            run_stage(small_repo_copy, server_env, "gate")  # starts a server if none runs
            wait_for_server(server_env)
        for stage, _paths in stages:
            result = run_stage(small_repo_copy, server_env, stage, TABULAR_MLOPS_STAGE_SERVER=switch)
            assert result.returncode == 0, result.stderr
        written[switch] = digests(small_repo_copy, outputs)
    assert written["1"] == written["0"]
    assert len(written["1"]) >= 8
