"""`tabular-mlops debug stage-server status|stop`: the stage servers this user runs, and stopping them."""
from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path

from tabular_mlops.stage_server.protocol import IDLE_SECONDS, SWITCH, private_folder


def running_servers(folder: Path) -> dict[Path, int]:
    """{socket: pid} of the servers whose pid file names a live process."""
    servers = {}
    for pid_file in sorted(folder.glob("*.pid")):
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            continue
        servers[pid_file.with_suffix(".sock")] = pid
    return servers


def stop_servers(folder: Path, wait_seconds: float = 10) -> list[int]:
    """SIGTERM every server (stages already running finish); returns the pids that were asked."""
    servers = running_servers(folder)
    for pid in servers.values():
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline and any(socket.with_suffix(".pid").exists() for socket in servers):
        time.sleep(0.05)
    return list(servers.values())


def run(arguments: argparse.Namespace) -> int:
    folder = private_folder()
    if folder is None:
        print("no stage server: no private folder for its socket")
        return 0
    if arguments.action == "stop":
        stopped = stop_servers(folder)
        print(f"stopped {len(stopped)} stage server(s)")
        return 0
    servers = running_servers(folder)
    for socket, pid in servers.items():
        print(f"pid {pid}  {socket}")
    switch = "off" if os.environ.get(SWITCH) == "0" else "on"
    print(f"{len(servers)} stage server(s) running; {SWITCH}={switch}; each exits after {IDLE_SECONDS} s unused")
    return 0
