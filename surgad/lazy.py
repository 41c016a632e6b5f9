"""An attribute worked out on first use and kept, for the per-SMS hot path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

_T = TypeVar("_T")


class once(Generic[_T]):  # noqa: N801 - used as a decorator, like cached_property
    """Work an attribute out on first use and keep it, as cached_property does.

    Without its lock: Python 3.11's cached_property takes one at every first
    use, which costs more than most of the values it guards here. Two threads
    racing on one instance both compute the value; both get an equal one.
    Works on frozen dataclasses too: the value goes straight into ``__dict__``.
    """

    def __init__(self, compute: Callable[[Any], _T]) -> None:
        self._compute = compute
        self._name = compute.__name__

    def __get__(self, instance: object, owner: type | None = None) -> _T:
        value = instance.__dict__[self._name] = self._compute(instance)
        return value
