"""Where a stage server listens (one per interpreter and server code, in a folder only this user
can use), and how a request reaches it.

Standard library only: `python -m stages NAME` imports this before it knows whether a server runs.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

SWITCH = "TABULAR_MLOPS_STAGE_SERVER"  # "0" runs every stage in a fresh interpreter
SERVER_CODE = (Path(__file__).with_name("server.py"), Path(__file__))
IDLE_SECONDS = 600  # a server no stage has used for this long exits
# Variables that change how the libraries load (CPU kernels, thread pools, allocator, the import
# path): a client whose values differ from a server's gets a server of its own, started with them.
LOAD_TIME_PREFIXES = ("PYTHON", "LD_", "GLIBC_", "MALLOC_", "NPY_", "NUMPY_", "OPENBLAS_", "GOTO", "OMP_", "KMP_",
                      "MKL_", "BLIS_", "VECLIB_", "SCIPY_", "SKLEARN_", "JOBLIB_", "PANDAS_", "ARROW_")


@dataclass(frozen=True)
class ServerPlace:
    socket: Path
    lock: Path  # held by the running server for its whole life
    pid: Path
    log: Path


def enabled() -> bool:
    return os.environ.get(SWITCH, "1") != "0" and hasattr(os, "fork") and hasattr(os, "getuid")


def private_folder() -> Path | None:
    """A folder that only this user can enter, or None when it cannot be made so.

    Whoever can connect to the socket can run code as this user: never share it."""
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"
    folder = Path(base) / f"tabular-mlops-stage-server-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        status = folder.lstat()
    except OSError:
        return None
    if not folder.is_dir() or folder.is_symlink() or status.st_uid != os.getuid() or status.st_mode & 0o077:
        return None
    return folder


def server_place(folder: Path) -> ServerPlace:
    """One server per interpreter, server code and library-loading environment."""
    identity = hashlib.sha256()
    loading = sorted((name, value) for name, value in os.environ.items() if name.startswith(LOAD_TIME_PREFIXES))
    for part in (os.path.realpath(sys.executable), sys.version, json.dumps(loading)):
        identity.update(part.encode() + b"\0")
    for code in SERVER_CODE:
        identity.update(code.read_bytes())
    key = identity.hexdigest()[:16]
    return ServerPlace(*(folder / f"{key}.{suffix}" for suffix in ("sock", "lock", "pid", "log")))


# A request is a length-prefixed JSON header sent together with the client's stdin, stdout and
# stderr (SCM_RIGHTS), so the stage writes where `python -m stages.NAME` would have written.
# The server answers two lines: b"pid N" when the stage starts, b"exit CODE" when it has ended.
_LENGTH = struct.Struct("!I")


def send_request(connection: socket.socket, request: dict, descriptors: list[int]) -> None:
    header = json.dumps(request).encode()
    message = _LENGTH.pack(len(header)) + header
    sent = socket.send_fds(connection, [message], descriptors)
    connection.sendall(message[sent:])


def receive_request(connection: socket.socket) -> tuple[dict, list[int]]:
    data, descriptors, _flags, _address = socket.recv_fds(connection, 1 << 16, 3)
    while len(data) < _LENGTH.size:
        data += _receive_some(connection)
    (length,) = _LENGTH.unpack_from(data)
    while len(data) < _LENGTH.size + length:
        data += _receive_some(connection)
    return json.loads(data[_LENGTH.size:]), list(descriptors)


def _receive_some(connection: socket.socket) -> bytes:
    chunk = connection.recv(1 << 16)
    if not chunk:
        raise ConnectionError("the client closed the connection in the middle of a request")
    return chunk
