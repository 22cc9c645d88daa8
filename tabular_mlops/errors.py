"""The two ways a command ends short of success, and the wrapper that turns each into one line.

    0  success
    1  a verdict the user asked for: a gate failed, drift was found, too many rows were rejected,
       a review found a regression, an experiment failed (`Verdict`)
    2  bad usage or input: a missing file, a wrong param, a bad flag (`StageError`)

Like `diff` and `pytest`: a script can tell "the answer is no" from "the question was wrong".
"""
from __future__ import annotations

import os
import sys
from typing import Callable

EXIT_VERDICT = 1
EXIT_EXPECTED_FAILURE = 2


class StageError(Exception):
    """A failure the user can fix: bad data, bad params, a missing file.

    The message names the place (file, column, key), what was expected and what was found.
    """


class Verdict(Exception):
    """The check the user asked for says no: a failed gate, detected drift, too many rejects.

    Raised after every output is written, so the numbers behind the verdict stay readable. The
    message says what failed; it is printed as `verdict: gate failed (1 of 3): ...`, so a log
    tells a verdict from an `error:` at a glance (`tabular-mlops sweep` quotes both).
    """


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's main() on one BLAS and one OpenMP thread; a verdict prints one `verdict:`
    line on stderr and exits 1, an expected failure one `error:` line and exits 2.

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
        except (StageError, Verdict) as error:
            sys.exit(exit_code_of(error))


def exit_code_of(error: StageError | Verdict) -> int:
    """Print `error`'s one line on stderr; the exit code it calls for."""
    if isinstance(error, Verdict):
        print(f"verdict: {error}", file=sys.stderr)
        return EXIT_VERDICT
    print(f"error: {error}", file=sys.stderr)
    return EXIT_EXPECTED_FAILURE


def whole_number(text: object, where: str, minimum: int, maximum: int | None = None) -> int:
    """A whole number a user gave (a flag, an environment variable; `10_000_000` too), or a
    StageError naming `where` it came from, the bounds and the value given."""
    try:
        number = int(str(text))
    except ValueError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise StageError(f"{where} must be a whole number {bound}; got {str(text)!r}")
    return number
