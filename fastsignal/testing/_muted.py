"""``muted()``: signals whose sends call no receiver while it is active.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import functools
import inspect
import sys
import unittest
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from types import TracebackType
from typing import Any, TypeVar, cast

from .._common import signal_name
from ._interception import (
    _add,
    _check_interceptable,
    _describe_value,
    _is_coroutine_function,
    _Mute,
    _remove,
    _sender_for,
)

_F = TypeVar("_F", bound=Callable[..., Any])


class MutedSignals:
    """Signals muted while active; what ``muted()`` returns.

    A context manager (``with muted(post_save): ...``) and a decorator of sync
    and async functions (each call of the decorated function mutes while it
    runs). ``start()`` and ``stop()`` do the same by hand; both do nothing when
    already done, so an object that is active already (from the
    ``mute_signals`` fixture) can still be used in a ``with`` statement, which
    stops it at the end. ``active`` tells whether it is active.

    While active, a send of a muted signal (from ``sender``, if one was given)
    calls no receiver and returns ``[]``, as if none were connected: ``send``,
    ``send_robust``, ``asend`` and ``asend_robust`` alike, receivers connected
    with ``on_commit=True`` included (they are not scheduled). ``has_listeners``
    returns ``False`` for the muted scope, as it would with no receivers: for
    every sender, or for ``sender`` only (``has_listeners()`` with no sender asks
    about sends from ``None``, which a sender-specific mute does not cover).
    Django relies on this: a muted ``pre_delete``/``post_delete`` lets the
    deletion collector take its fast path, which sends nothing.
    """

    def __init__(self, *signals: Any, sender: Any = None) -> None:
        """Mute each of ``signals`` (for sends from ``sender`` only, when given)."""
        if not signals:
            raise TypeError("muted() needs at least one signal")
        unique: list[Any] = []
        for signal in signals:
            _check_interceptable(signal)
            if not any(signal is seen for seen in unique):
                unique.append(signal)
        self.signals: tuple[Any, ...] = tuple(unique)
        self.sender = sender
        self._mutes: list[tuple[Any, _Mute]] = []

    @property
    def active(self) -> bool:
        """Whether the signals are muted by this object right now."""
        return bool(self._mutes)

    def start(self) -> None:
        """Mute the signals now (nothing happens if this object is active already)."""
        if self._mutes:
            return
        mutes: list[tuple[Any, _Mute]] = []
        try:
            for signal in self.signals:
                mute = _Mute(_sender_for(signal, self.sender, "muted"))
                _add(signal, mute)
                mutes.append((signal, mute))
        except BaseException:
            for signal, mute in reversed(mutes):
                _remove(signal, mute)
            raise
        self._mutes = mutes

    def stop(self) -> None:
        """Unmute the signals (nothing happens if this object is not active)."""
        mutes, self._mutes = self._mutes, []
        for signal, mute in reversed(mutes):
            _remove(signal, mute)

    def __enter__(self) -> MutedSignals:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _copy(self) -> MutedSignals:
        return MutedSignals(*self.signals, sender=self.sender)

    def __call__(self, func: _F) -> _F:
        """Decorate ``func`` so that the signals are muted while it runs.

        Each call uses its own mute, so recursive and concurrent calls (async
        tasks) are muted until the last of them returns. A coroutine function
        stays one, muted from its first step until it returns.

        Classes, as Django's ``override_settings`` and factory_boy's
        ``mute_signals`` decorate them: a ``unittest.TestCase`` (Django's test
        cases included) is muted from the start of its ``setUpClass`` until its
        class clean-ups, so every test and the class-level set-up
        (``setUpTestData``) run muted; a factory_boy factory is muted while it
        generates objects. Any other class is a ``TypeError``: decorate its
        methods instead.
        """
        if isinstance(func, type):
            return cast("_F", self._decorate_class(func))
        if inspect.isgeneratorfunction(func):
            generator_func = cast("Callable[..., Generator[Any, Any, Any]]", func)

            @functools.wraps(func)
            def generator_wrapper(*args: Any, **kwargs: Any) -> Any:
                # Muted for as long as the generator runs, suspended or not
                # (a pytest yield fixture mutes the test it serves).
                with self._copy():
                    return (yield from generator_func(*args, **kwargs))

            return cast("_F", generator_wrapper)
        if inspect.isasyncgenfunction(func):
            async_generator_func = cast("Callable[..., AsyncGenerator[Any, Any]]", func)

            @functools.wraps(func)
            async def async_generator_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._copy():
                    async for item in async_generator_func(*args, **kwargs):
                        yield item

            return cast("_F", async_generator_wrapper)
        if _is_coroutine_function(func):
            async_func = cast("Callable[..., Coroutine[Any, Any, Any]]", func)

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._copy():
                    return await async_func(*args, **kwargs)

            return cast("_F", async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._copy():
                return func(*args, **kwargs)

        return cast("_F", wrapper)

    def _decorate_class(self, cls: type) -> type:
        if issubclass(cls, unittest.TestCase):
            return self._decorate_test_case(cls)
        factory_base = sys.modules.get("factory.base")
        metaclass = getattr(factory_base, "FactoryMetaClass", None)
        if metaclass is not None and isinstance(cls, metaclass):
            return self._decorate_factory(cls)
        raise TypeError(
            f"muted() cannot decorate the class {cls.__module__}.{cls.__qualname__}: "
            "only unittest.TestCase subclasses (Django's test cases included) and "
            "factory_boy factories; decorate its methods, or use muted() as a context manager"
        )

    def _decorate_test_case(self, cls: type[unittest.TestCase]) -> type[unittest.TestCase]:
        own = cls.__dict__.get("setUpClass")
        copy = self._copy

        def setUpClass(klass: type[unittest.TestCase]) -> None:
            mute = copy()
            mute.start()
            # Class clean-ups run after tearDownClass, and also when setUpClass fails.
            klass.addClassCleanup(mute.stop)
            if own is not None:
                own.__get__(None, klass)()
            else:
                super(cls, klass).setUpClass()  # type: ignore[misc]  # cls is a TestCase

        setUpClass.__qualname__ = f"{cls.__qualname__}.setUpClass"
        cls.setUpClass = classmethod(setUpClass)  # type: ignore[assignment,method-assign]
        return cls

    def _decorate_factory(self, cls: type) -> type:
        # As factory_boy's own mute_signals: every object a factory builds goes
        # through its _generate classmethod.
        generate = cls._generate.__func__  # type: ignore[attr-defined]  # factory_boy's
        copy = self._copy

        @functools.wraps(generate)
        def _generate(klass: type, *args: Any, **kwargs: Any) -> Any:
            with copy():
                return generate(klass, *args, **kwargs)

        cls._generate = classmethod(_generate)  # type: ignore[attr-defined]
        return cls

    def __repr__(self) -> str:
        names = ", ".join(signal_name(signal) for signal in self.signals)
        scope = "" if self.sender is None else f", sender={_describe_value(self.sender)}"
        state = "active" if self.active else "inactive"
        return f"<MutedSignals {names}{scope} ({state})>"


def muted(*signals: Any, sender: Any = None) -> MutedSignals:
    """Mute ``signals`` while a ``with`` block or a decorated function runs.

    ::

        with muted(post_save, pre_save):
            user.save()              # no receiver of post_save or pre_save runs

        with muted(post_save, sender=User):
            user.save()              # post_save's receivers do not run for User
            group.save()             # ... but do for Group

        @muted(post_save)
        async def test_something(): ...

    ``signals`` are ``fastsignal`` or Django signals. A muted send returns
    ``[]`` and ``has_listeners`` returns ``False`` for the muted scope (see
    ``MutedSignals``). Everything is restored afterwards, also when the block
    raises; receivers connected meanwhile stay connected, receivers
    disconnected meanwhile stay disconnected. Muting applies to every thread
    and task that sends the signal meanwhile.
    """
    return MutedSignals(*signals, sender=sender)
