"""Per-object memoisation for immutable chips.

Chips are frozen but hold dicts, so they are not hashable; results derived from a chip (its
content hash, its per-action energies) are cached by object identity instead, and dropped when
the chip is garbage-collected. Repeated ``simulate`` calls on one chip then skip that work.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


def per_object(fn: Callable[[Any], R]) -> Callable[[Any], R]:
    cache: dict[int, tuple[weakref.ref[Any], R]] = {}

    @functools.wraps(fn)
    def wrapper(obj: Any) -> R:
        key = id(obj)
        hit = cache.get(key)
        if hit is not None and hit[0]() is obj:
            return hit[1]
        value = fn(obj)
        cache[key] = (weakref.ref(obj, lambda _r, k=key: cache.pop(k, None)), value)
        return value

    return wrapper
