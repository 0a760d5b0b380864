"""Values remembered per array (or layer) while it lives.

The number systems convert a weight once, the float64 path plans a layer
once, the factored pass analyses a weight's blocks once: each is a pure
function of an object that is never changed in place (a model keeps
read-only copies of its weights, :func:`~transformer_proofs.constructions.engine.frozen_weight`;
a mutant is a new array).  They are remembered under the object's ``id``
with a weak reference to it, so an entry goes when its object goes and a
new object that reuses the ``id`` is never given the old value.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Hashable, TypeVar

T = TypeVar("T")


def remembered(cache: dict[Any, Any], obj: Any, key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, remembered in ``cache`` under (id(obj), key) while ``obj``
    lives; an object that cannot be weakly referenced (a list) is not
    remembered: ``make()`` runs every time."""
    slot = (id(obj), key)
    hit = cache.get(slot)
    if hit is not None and hit[0]() is obj:
        return hit[1]
    value = make()
    try:
        # the callback holds the dict itself: it may run at interpreter exit, after module globals are gone
        cache[slot] = (weakref.ref(obj, lambda _, cache=cache: cache.pop(slot, None)), value)
    except TypeError:
        pass
    return value
