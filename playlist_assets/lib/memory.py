"""Handing freed memory back to the system (glibc's ``malloc_trim``).

glibc keeps freed blocks in its heap and arenas: after a load its temporaries stay resident
until something trims them (a year of fresh songs' recommender: 20-50 MiB of its resident
memory), and a long-running service trims after each swap.
"""

from __future__ import annotations

import contextlib
import ctypes


def trim_freed() -> None:
    """Hand freed memory back to the system: glibc keeps freed blocks in its arenas (elsewhere
    than glibc: nothing to do)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
