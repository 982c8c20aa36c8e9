"""Making and holding many objects at once: the rows of a bulk write, the records of a data frame."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while many objects without cycles are made. Each of its full
    passes walks every live object, the caller's million payloads included, and the objects made meanwhile
    set them off again and again: staging 1,000,000 products took 23 s of CPU with it, 15 s without; the
    data frame of their payloads 8.6 s and 5.0 s. Leaves it as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
