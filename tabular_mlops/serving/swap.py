"""Swapping the served model without downtime: `POST /admin/swap`, SIGHUP, and the other workers.

A swap fetches, verifies and warms the new bundle in a thread (sources.load), while requests
keep being answered by the old one; then one assignment (`state["served"]`) switches. A request
reads the reference once, so one in flight finishes with the model it started with. A bundle
that cannot be served leaves the old one serving: one error line in the log, an error answer to
the admin call.

With several uvicorn workers the admin call reaches one of them. That worker swaps, and only
then writes the source to a small file that every worker polls about once a second
(`serve` makes it, in a temporary folder of its own): each loads it in the background the same
way. A refused bundle is never written there.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from dataclasses import replace
from pathlib import Path

from tabular_mlops.errors import StageError
from tabular_mlops.files import write_text
from tabular_mlops.serving.sources import Served, Source, load, same_requests

logger = logging.getLogger("tabular_mlops.serving")
POLL_SECONDS = 1.0


class SwapInProgress(Exception):
    pass


class Swapper:
    def __init__(self, state: dict, started: Source, swap_file: str | None, swaps) -> None:
        self.state, self.started, self.swaps = state, started, swaps
        self.swap_file = None if swap_file is None else Path(swap_file)
        self._busy = False
        self._applied = self._token_in_file()  # what the file held when this worker started is not news

    async def swap(self, source: Source, announce: bool = True) -> Served:
        """Load `source` off the event loop, then switch to it. StageError (logged in one line) when it cannot be served."""
        if self._busy:
            raise SwapInProgress()
        self._busy = True
        try:
            served = await asyncio.to_thread(self._prepared, source)
        except Exception as error:
            self.swaps.labels("refused").inc()
            current = self.state["served"].bundle.version if "served" in self.state else "no model"
            message = str(error) if isinstance(error, StageError) else f"{type(error).__name__}: {error}"
            logger.error("swap to %s refused; %s keeps serving: %s", source.describe(), current, message.splitlines()[0])
            raise StageError(message.splitlines()[0]) from None
        finally:
            self._busy = False
        previous = self.state["served"].bundle.version
        self.state["served"] = served  # the switch: one reference
        self.swaps.labels("done").inc()
        logger.warning("swapped: model %s now serves (from %s); %s did", served.bundle.version, source.describe(), previous)
        if announce and self.swap_file is not None:
            self._applied = uuid.uuid4().hex
            write_text(self.swap_file, json.dumps({"token": self._applied, "source": source.to_dict()}))
        return served

    async def reload(self) -> None:
        """SIGHUP: what serve was started with, resolved again (a stage: the version it points at now)."""
        try:
            await self.swap(self.started, announce=False)
        except SwapInProgress:
            logger.warning("SIGHUP ignored: a swap is in progress")
        except StageError:
            pass  # logged by swap

    async def poll(self) -> None:
        """Follow the swaps other workers made (only with several workers)."""
        while self.swap_file is not None:
            await asyncio.sleep(POLL_SECONDS)
            token = self._token_in_file()
            if token is None or token == self._applied or self._busy:
                continue
            self._applied = token
            try:
                source = Source(**json.loads(self.swap_file.read_text(encoding="utf-8"))["source"])
                await self.swap(source, announce=False)
            except (StageError, SwapInProgress, OSError, ValueError, TypeError, KeyError):
                pass  # StageError logged by swap; the others: a file being replaced, read next time

    def _prepared(self, source: Source) -> Served:
        served = load(replace(source, runtime=self.started.runtime))  # a swap keeps serve's --runtime
        same_requests(self.state["served"].bundle, served.bundle)
        bundle = served.bundle
        self.state["log"].register_model(bundle.version, bundle.manifest["model"]["target"], bundle.manifest["contract"])
        return served

    def _token_in_file(self) -> str | None:
        if self.swap_file is None or not self.swap_file.is_file():
            return None
        try:
            return json.loads(self.swap_file.read_text(encoding="utf-8"))["token"]
        except (OSError, ValueError, KeyError, TypeError):
            return None


def hangup_handler(loop: asyncio.AbstractEventLoop, swapper: Swapper) -> None:
    """SIGHUP reloads; uvicorn handles SIGINT and SIGTERM, not SIGHUP, so this one is ours."""
    import signal

    if os.name == "posix":
        try:
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(swapper.reload()))
        except (ValueError, RuntimeError):
            pass  # not the main thread (an app run in-process, e.g. by a test client): no signals to catch


def remove_hangup_handler(loop: asyncio.AbstractEventLoop) -> None:
    import signal

    if os.name == "posix":
        loop.remove_signal_handler(signal.SIGHUP)
