"""SHAP's permutation explainer shuffles with numpy's global generator: seed it for one call only."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np

_GLOBAL_GENERATOR = threading.Lock()


@contextmanager
def seeded_global_numpy(seed: int) -> Iterator[None]:
    """numpy's global generator seeded with `seed` inside, restored after.

    Seeding before each row makes a row's explanation independent of what ran before it (other
    rows of the request, earlier requests), and restoring keeps anyone else's draws unchanged.
    The lock stops two threads of a service from interleaving their seeded draws, and from
    swapping warning filters at once (outputs.array_output).
    """
    with _GLOBAL_GENERATOR:
        state = np.random.get_state()
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)
