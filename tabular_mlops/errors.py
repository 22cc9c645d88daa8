"""One exception type for expected failures, and the wrapper that turns it into one line."""
from __future__ import annotations

import os
import sys
from typing import Callable, NoReturn

EXIT_EXPECTED_FAILURE = 2


class StageError(Exception):
    """A failure the user can fix: bad data, bad params, a missing file.

    The message names the place (file, column, key), what was expected and what was found.
    """


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's main() on one BLAS and one OpenMP thread; an expected failure prints one
    line on stderr and exits 2.

    Unexpected exceptions keep their traceback: they are bugs, not user errors.
    """
    from threadpoolctl import threadpool_limits  # here, so that importing errors stays cheap

    # OpenBLAS hands each thread a block of a matrix product, and the last bits of the result
    # depend on how many threads there are (by default, as many as cores): one thread, so a
    # model does not change with the machine's core count. The variables reach libraries that
    # load later; threadpool_limits the ones already loaded.
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    with threadpool_limits(limits=1):
        try:
            main()
        except StageError as error:
            _fail(str(error))


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(EXIT_EXPECTED_FAILURE)
