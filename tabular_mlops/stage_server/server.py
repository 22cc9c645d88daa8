"""The stage server: an interpreter that has imported the pipeline's libraries once, and forks a
child for each stage that `python -m stages NAME` hands it.

A stage pays about 2 s to import pandas, scikit-learn, scipy and pandera in a fresh interpreter;
a forked child starts with them imported. The server imports third-party libraries only: each
child imports `tabular_mlops` and `stages` afresh from the client's import path, so an edited
stage or library module always runs as edited. The child takes on the client's working folder,
environment, umask, import path, argv, stdin, stdout and stderr, so what a stage writes and
prints does not depend on where it ran (tests/test_stage_server.py checks byte-identical outputs).

Started on demand by the first stage that finds none (that stage runs in its own interpreter
meanwhile); exits after IDLE_SECONDS unused, on SIGTERM (`tabular-mlops debug stage-server stop`), or
when a library it imported changes on disk (a pip install), so it never serves stale libraries.
"""
from __future__ import annotations

import atexit
import fcntl
import importlib
import os
import runpy
import signal
import socket
import sys
import threading
import time
import traceback

from tabular_mlops.stage_server.protocol import IDLE_SECONDS, ServerPlace, private_folder, receive_request, server_place

# What the stages import, heaviest first. Third-party only: our own modules must be imported by
# each child from the client's path.
LIBRARIES = (
    "sklearn.ensemble", "sklearn.linear_model", "sklearn.neural_network", "sklearn.svm", "sklearn.calibration",
    "sklearn.compose", "sklearn.dummy", "sklearn.impute", "sklearn.inspection", "sklearn.isotonic",
    "sklearn.metrics", "sklearn.model_selection", "sklearn.pipeline", "sklearn.preprocessing", "sklearn.tree",
    "scipy.stats", "pandas", "pyarrow.parquet", "pandera.pandas", "joblib", "threadpoolctl", "yaml", "dvclive",
    "tqdm", "pydantic", "fairlearn.metrics", "fairlearn.postprocessing", "fairlearn.reductions",
    "shap",  # evaluate's explanations, half a second with numba and llvmlite
)
OUR_PACKAGES = ("tabular_mlops", "stages")


def main() -> None:
    folder = private_folder()
    if folder is None:
        return
    place = server_place(folder)
    lock = open(place.lock, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server for this interpreter is starting or running
    for name in LIBRARIES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the stage that needs it will say so, as it would without a server
    place.pid.write_text(f"{os.getpid()}\n")
    serve(place, library_stamps())


def library_stamps() -> dict[str, int]:
    """The modification time of every imported third-party package's entry file."""
    stamps = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if "." not in name and path and "site-packages" in path:
            stamps[path] = os.stat(path).st_mtime_ns
    return stamps


def _libraries_changed(stamps: dict[str, int]) -> bool:
    try:
        return any(os.stat(path).st_mtime_ns != stamp for path, stamp in stamps.items())
    except OSError:
        return True


def serve(place: ServerPlace, stamps: dict[str, int]) -> None:
    place.socket.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(place.socket))
    listener.listen(64)
    listener.settimeout(IDLE_SECONDS)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished children
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    compiled = False
    try:
        while True:
            try:
                connection, _address = listener.accept()
            except socket.timeout:
                return
            if _libraries_changed(stamps):
                connection.close()  # the client runs its stage itself and starts a fresh server
                return
            if os.fork() == 0:
                try:
                    listener.close()
                    run_child(connection)
                except BaseException:  # noqa: BLE001 - the child must never return into the server's loop
                    traceback.print_exc()  # to the client's stderr once taken over, else the server's log
                finally:
                    os._exit(1)
            connection.close()
            if not compiled:  # while the first stage runs in its child, on the other core
                compiled = True
                compile_shap()
    finally:
        listener.close()
        place.socket.unlink(missing_ok=True)
        place.pid.unlink(missing_ok=True)


def compile_shap() -> None:
    """SHAP's exact and permutation explainers compile their numba code on first use, about 5 s
    in each process; compiled here once, every stage forked later starts with it (explain's, for
    an MLP or SVM). The code compiled is the same as a stage's own, so no result changes
    (tests/test_stage_server.py compares the explain stage's bytes with and without the server)."""
    try:
        import numpy as np
        import shap
    except ImportError:
        return
    rows = np.linspace(0.0, 1.0, 12).reshape(4, 3)
    masker = shap.maskers.Independent(rows, max_samples=len(rows))
    total = lambda values: values.sum(axis=1)  # noqa: E731 - any model: only the explainers' own code is compiled
    shap.PermutationExplainer(total, masker, seed=0)(rows[:1], max_evals=7, silent=True)
    shap.ExactExplainer(total, masker)(rows[:1], max_evals=8, silent=True)


def run_child(connection: socket.socket) -> None:
    """In the forked child: become the client's stage process, run the stage, report its exit code."""
    for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    connection.settimeout(None)
    request, descriptors = receive_request(connection)
    _take_over_streams(descriptors)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    sys.path[:] = request["path"]
    sys.argv = [request["module"], *request["arguments"]]
    for name in [name for name in sys.modules if name.split(".")[0] in OUR_PACKAGES]:
        del sys.modules[name]
    importlib.invalidate_caches()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # children must not share the server's global random state
    connection.sendall(f"pid {os.getpid()}\n".encode())
    finished = threading.Event()
    threading.Thread(target=_end_with_client, args=(connection, finished), daemon=True).start()
    code = _run_module(request["module"])
    code = _shut_down(code)
    finished.set()
    connection.sendall(f"exit {code}\n".encode())
    os._exit(code)


def _take_over_streams(descriptors: list[int]) -> None:
    for target, descriptor in zip((0, 1, 2), descriptors):
        os.dup2(descriptor, target)
        os.close(descriptor)
    # New text streams, so that buffering follows the client's terminal or pipe, as at start-up.
    sys.stdin = sys.__stdin__ = open(0, closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", buffering=1 if os.isatty(1) else -1, closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", buffering=1, errors="backslashreplace", closefd=False)


def _end_with_client(connection: socket.socket, finished: threading.Event) -> None:
    """The client was killed (SIGKILL: it could not forward a signal): end the stage as well."""
    try:
        while connection.recv(1024):
            pass
    except OSError:
        pass
    if not finished.is_set():
        os.kill(os.getpid(), signal.SIGTERM)


def _run_module(module: str) -> int:
    """What `python -m MODULE` would exit with."""
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    except SystemExit as exit_request:
        if exit_request.code is None:
            return 0
        if isinstance(exit_request.code, int):
            return exit_request.code
        print(exit_request.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        traceback.print_exc()
        return 128 + signal.SIGINT
    except BaseException:  # noqa: BLE001 - printed as the interpreter would, then exit 1
        traceback.print_exc()
        return 1


def _shut_down(code: int) -> int:
    """The interpreter's own exit steps: wait for non-daemon threads, run atexit, flush."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120  # as the interpreter does when it cannot flush stdout
    return code


if __name__ == "__main__":
    main()
