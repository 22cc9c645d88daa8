"""`python -m stages NAME [ARGS]`: run `stages.NAME` on the stage server, or here when there is none.

Standard library only, so that handing a stage to the server costs milliseconds. When no
server answers, the stage runs in this interpreter (as `python -m stages.NAME` would) and a
server is started in the background for the stages that follow. When a server is still
starting (it holds its lock but does not listen yet), the stage waits for it: the server began
importing the libraries first, so it is ready before this interpreter could import them.
"""
from __future__ import annotations

import fcntl
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tabular_mlops.stage_server.protocol import ServerPlace, enabled, private_folder, send_request, server_place

USAGE = "usage: python -m stages NAME [ARGUMENTS]  (NAME: a module in stages/, e.g. validate)"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
STARTING_WAIT_SECONDS = 20  # longer than a server's imports take on a busy machine
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # passed on to the stage running on the server


def run(arguments: list[str]) -> int:
    if not arguments or not arguments[0].isidentifier():
        print(USAGE, file=sys.stderr)
        return 2
    module = f"stages.{arguments[0]}"
    folder = private_folder() if enabled() else None
    if folder is not None:
        place = server_place(folder)
        code = run_on_server(place, module, arguments[1:])
        if code is None:
            code = run_once_started(place, module, arguments[1:])
        if code is not None:
            return code
        start_server(place)
    sys.argv = [module, *arguments[1:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    return 0


def run_on_server(place: ServerPlace, module: str, arguments: list[str]) -> int | None:
    """The stage's exit code, or None when no server took the stage (nothing has run then)."""
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(str(place.socket))
    except OSError:
        return None
    with connection:
        umask = os.umask(0)
        os.umask(umask)
        request = {"module": module, "arguments": arguments, "cwd": os.getcwd(), "env": dict(os.environ),
                   "path": sys.path, "umask": umask}
        # Handlers first: the stage may write (and be signalled) before its pid reaches this process.
        # A signal that arrives before then waits in `held` and is passed on as soon as it does.
        stage, held = None, []
        previous = {number: signal.getsignal(number) for number in FORWARDED}
        for number in FORWARDED:
            signal.signal(number, lambda received, _frame: os.kill(stage, received) if stage else held.append(received))
        try:
            send_request(connection, request, _standard_streams())
            replies = connection.makefile("rb")
            started = replies.readline().split()
        except OSError:
            started = []
        if started[:1] != [b"pid"]:  # no server took it (or it is exiting: idle, stopped, stale libraries)
            for number, handler in previous.items():
                signal.signal(number, handler)
            for received in held:  # what was meant for the stage is this process's own again
                os.kill(os.getpid(), received)
            return None
        stage = int(started[1])
        for received in held:
            os.kill(stage, received)
        ended = replies.readline().split()
    if ended[:1] == [b"exit"]:
        return int(ended[1])
    print(f"error: the stage process {stage} ended without an exit status (killed by a signal?)", file=sys.stderr)
    return 1


def run_once_started(place: ServerPlace, module: str, arguments: list[str]) -> int | None:
    """Wait for a server that is starting; None when none is (or it did not start in time)."""
    deadline = time.monotonic() + STARTING_WAIT_SECONDS
    while lock_held(place.lock) and time.monotonic() < deadline:
        time.sleep(0.02)
        code = run_on_server(place, module, arguments)
        if code is not None:
            return code
    return None


def lock_held(path: Path) -> bool:
    """Whether a server holds the lock file at `path` (it takes it before importing anything)."""
    try:
        with open(path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when the file closes
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def _standard_streams() -> list[int]:
    streams = []
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            descriptor = os.open(os.devnull, os.O_RDWR)
        streams.append(descriptor)
    return streams


def start_server(place: ServerPlace) -> None:
    """In the background; it gives up at once if another client started one first."""
    with open(place.log, "ab") as log:
        subprocess.Popen([sys.executable, "-m", "tabular_mlops.stage_server.server"], cwd=PACKAGE_ROOT,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
