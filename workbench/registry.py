"""A tiny named registry, one per extension point (datasets, backbones, tasks, weightings)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class RegistryError(ValueError):
    """A name registered twice in one registry (two extensions, or an extension and a
    built-in); the message names both modules."""


def _registering_module() -> str:
    """The module that registered: the first caller outside this file and outside helpers
    named ``register...`` / ``_register...`` (``register_image_source``, the backbones'
    ``_register``), which register on their caller's behalf."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_name
        if frame.f_globals.get("__name__") != __name__ and not name.startswith(("register", "_register")):
            return frame.f_globals.get("__name__", "?")
        frame = frame.f_back
    return "?"


class Registry(Generic[T]):
    """Maps names to objects; refuses duplicates and names the choices on a miss."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}
        self._modules: dict[str, str] = {}  # name -> the module that registered it

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REG.register("name")`` adds the decorated object under ``name``."""

        def add(obj: T) -> T:
            module = _registering_module()
            if name in self._items:
                raise RegistryError(
                    f"{self.what} {name!r} is registered twice: by {self._modules[name]} and again by "
                    f"{module}; rename one of them"
                )
            self._items[name] = obj
            self._modules[name] = module
            return obj

        return add

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(
                f"unknown {self.what} {name!r}; choose one of: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items
