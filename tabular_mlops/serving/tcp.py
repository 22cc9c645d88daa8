"""uvicorn's Config with the listening socket made as TCP's.

uvicorn makes the socket its workers share without naming TCP as its protocol, so asyncio does
not turn off Nagle's algorithm on the connections they accept: with --workers 2 every answer
waited about 44 ms for the client's delayed ACK (Kludex/uvicorn#3149). A module of its own:
the workers are spawned, so the class must be importable by name.
"""
from __future__ import annotations

import socket

import uvicorn


class TcpConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        made = super().bind_socket()
        if made.family not in (socket.AF_INET, socket.AF_INET6):
            return made
        return socket.socket(made.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=made.detach())


def run(host: str, port: int, workers: int) -> None:
    """What uvicorn.run does for the scoring service, with TcpConfig."""
    from uvicorn.supervisors import Multiprocess

    config = TcpConfig("tabular_mlops.serving.app:create_app", factory=True, host=host, port=port, workers=workers,
                       timeout_graceful_shutdown=30, log_level="warning")
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config=config).run()
