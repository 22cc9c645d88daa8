"""One exception type for expected failures, and the wrapper that turns it into one line."""
from __future__ import annotations

import sys
from typing import Callable, NoReturn

EXIT_EXPECTED_FAILURE = 2


class StageError(Exception):
    """A failure the user can fix: bad data, bad params, a missing file.

    The message names the place (file, column, key), what was expected and what was found.
    """


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's main(); an expected failure prints one line on stderr and exits 2.

    Unexpected exceptions keep their traceback: they are bugs, not user errors.
    """
    try:
        main()
    except StageError as error:
        _fail(str(error))


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(EXIT_EXPECTED_FAILURE)
