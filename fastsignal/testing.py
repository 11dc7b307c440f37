"""Helpers for tests: mute signals, connect a receiver for a block, capture sends.

``muted(*signals, sender=None)``
    No receiver of these signals runs while it is active (for every sender, or
    only for sends from ``sender``). A context manager, and a decorator of sync
    and async functions.
``connected(signal, receiver, **connect_kwargs)``
    ``receiver`` connected for the duration of a ``with`` block.
``capture(signal, sender=None)``
    Records every send of ``signal`` without changing it, with assertion helpers
    (``assert_sent``, ``assert_sent_once``, ``assert_not_sent``).

All three work on ``fastsignal.Signal`` (either engine) and on Django's own
``django.dispatch.Signal`` instances (``post_save`` and the rest), whether or not
``fastsignal.django.install()`` is in effect. The pytest plugin
(``fastsignal.pytest_plugin``) offers ``muted`` and ``capture`` as the fixtures
``mute_signals`` and ``capture_signal``.

How it works
============

``muted`` and ``capture`` intercept a signal at the instance level. Python finds
an attribute in an instance's ``__dict__`` before a non-data descriptor of its
class, and ``send``, ``send_robust``, ``asend``, ``asend_robust`` and
``has_listeners`` are non-data descriptors on every signal class: plain
functions, or the compiled engine's function objects, which define ``__get__``
but neither ``__set__`` nor ``__delete__`` (this is checked before anything is
changed). While a helper is active on a signal, each of those names is set on
that one instance to a wrapper; callers, Django's model code included, look the
method up on the instance on every send and get the wrapper.

- **One interception per signal.** Every helper active on a signal registers with
  the same interception object (a mute for all senders or for one sender, a
  capture). The first helper to start installs the wrappers; each call of a
  wrapper consults the helpers registered at that moment; the last helper to stop
  removes the wrappers. Helpers may stop in any order (nested, overlapping,
  interleaved): the wrappers stay exactly as long as one helper is active, and
  are never stacked on each other.
- **Exact restore.** A wrapper calls what it shadows: an instance attribute set
  before the first helper started (kept, and put back when the last one stops),
  or else the class's method, looked up again on each call, so that
  ``fastsignal.django.install()`` or ``uninstall()`` during a block takes effect.
  When the last helper stops, an attribute that was not on the instance is
  deleted again. If other code replaced one of the wrappers in the meantime
  (``unittest.mock.patch.object(signal, "send")``) and has not put it back by
  then, its replacement is left alone; should it later put the wrapper back, the
  wrapper passes every call straight through.
- **Receivers are never touched.** Muting does not reassign
  ``signal.receivers`` (the trick test factories use); a muted send returns
  ``[]`` without calling the signal's method. Receivers connected during the
  block stay connected afterwards; receivers disconnected during it stay
  disconnected.
- **Nothing global.** No class is patched and nothing is installed for signals
  no helper is active on: their sends cost exactly what they cost without this
  module.

Consequences worth knowing:

- Muting and capturing apply to the signal object, so to every thread and every
  asyncio task that sends it while the helper is active, not only to the code
  inside the ``with`` block.
- A bound method taken before the helper started (``send = signal.send``)
  bypasses it.
- ``Signal.send_on_commit`` sends when the transaction commits; that send is
  muted or captured if a helper is active then.
- The wrappers recognise the sender in the arguments of ``send(sender,
  **named)`` and ``has_listeners(sender=None)`` (positional or keyword). A call
  that does not fit (no sender, or extra positional arguments) goes straight to
  the wrapped method, which raises the same ``TypeError`` as without a helper.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import functools
import inspect
import reprlib
import sys
import threading
import unittest
import weakref
from collections.abc import (
    AsyncGenerator,
    Callable,
    Coroutine,
    Generator,
    Hashable,
    Iterator,
    Sequence,
)
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Literal, TypeVar, cast, overload

from ._common import make_id, signal_name

__all__ = [
    "CapturedSend",
    "MutedSignals",
    "SignalCapture",
    "active_signals",
    "capture",
    "connected",
    "muted",
]

_F = TypeVar("_F", bound=Callable[..., Any])
_R = TypeVar("_R", bound=Callable[..., Any])

#: The name of a send method, as ``CapturedSend.method`` holds it.
SendMethod = Literal["send", "send_robust", "asend", "asend_robust"]
_SYNC_METHODS: tuple[SendMethod, ...] = ("send", "send_robust")
_ASYNC_METHODS: tuple[SendMethod, ...] = ("asend", "asend_robust")
_INTERCEPTED = (*_SYNC_METHODS, *_ASYNC_METHODS, "has_listeners")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


# -- the interception of one signal ----------------------------------------------------


def _is_coroutine_function(func: object) -> bool:
    """``inspect.iscoroutinefunction``, honouring asgiref's ``markcoroutinefunction``."""
    if inspect.iscoroutinefunction(func):
        return True
    try:
        from asgiref.sync import iscoroutinefunction
    except ImportError:
        return False
    return iscoroutinefunction(func)


def _class_attribute(cls: type, name: str) -> Any:
    """``name`` as the class defines it (the raw descriptor), or ``_MISSING``."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return _MISSING


def _check_interceptable(signal: object) -> None:
    """Raise ``TypeError`` unless instance attributes can shadow ``signal``'s send methods."""
    cls = type(signal)
    if _class_attribute(cls, "send") is _MISSING:
        raise TypeError(f"expected a signal (an object with a send() method), got {signal!r}")
    if not isinstance(getattr(signal, "__dict__", None), dict):
        raise TypeError(
            f"cannot intercept {signal!r}: its class {cls.__qualname__} gives instances "
            "no __dict__ to hold the wrappers"
        )
    for name in _INTERCEPTED:
        attribute = _class_attribute(cls, name)
        kind = type(attribute)
        if attribute is not _MISSING and (hasattr(kind, "__set__") or hasattr(kind, "__delete__")):
            raise TypeError(
                f"cannot intercept {signal!r}: {cls.__qualname__}.{name} is a data "
                f"descriptor ({kind.__qualname__}), which an instance attribute cannot shadow"
            )


def _split_send(args: tuple[Any, ...], named: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
    """``(sender, named)`` of a call ``send(sender, **named)``, or ``None`` if it does not fit."""
    if len(args) == 1:
        if "sender" in named:
            return None
        return args[0], named
    if not args and "sender" in named:
        named = dict(named)
        return named.pop("sender"), named
    return None


def _split_has_listeners(args: tuple[Any, ...], named: dict[str, Any]) -> tuple[Any] | None:
    """``(sender,)`` of ``has_listeners(sender=None)``, or ``None`` if the call does not fit."""
    if not named:
        if not args:
            return (None,)
        if len(args) == 1:
            return (args[0],)
    elif not args and len(named) == 1 and "sender" in named:
        return (named["sender"],)
    return None


def _lazy_model(signal: Any, sender: Any, apps: Any = None) -> Any:
    """The model named by a model signal's lazy ``"app_label.Model"`` sender, as
    ``connect`` resolves it; ``sender`` itself for any other signal or sender.

    Raises ``LookupError`` (or Django's ``AppRegistryNotReady``) when the model
    cannot be found.
    """
    if not isinstance(sender, str) or not hasattr(signal, "_lazy_method"):
        return sender
    if apps is None:
        from django.apps import apps
    return apps.get_model(sender)


def _sender_for(signal: Any, sender: Any, helper: str) -> Any:
    """``sender`` for a helper's scope on ``signal``: a lazy model sender resolved."""
    try:
        return _lazy_model(signal, sender)
    except ValueError as err:  # Django's get_model() on a string without one dot
        problem: Exception = err
        reason = "it is not of the form 'app_label.ModelName'"
    except LookupError as err:
        problem = err
        reason = str(err)
    raise LookupError(
        f"{helper}(..., sender={sender!r}): a string sender of the model signal "
        f"{signal_name(signal)} names a model, and {reason}"
    ) from problem


class _Mute:
    """One signal muted by a ``MutedSignals``: for every sender, or for one."""

    __slots__ = ("sender", "sender_key")

    def __init__(self, sender: Any) -> None:
        self.sender = sender  # kept alive, so that its id() stays its own
        self.sender_key: Hashable | None = None if sender is None else make_id(sender)


class _Interception:
    """The wrappers set on one signal instance, and the helpers they serve."""

    def __init__(self, signal: Any) -> None:
        self.signal = signal
        self.mutes: tuple[_Mute, ...] = ()
        self.captures: tuple[SignalCapture, ...] = ()
        #: name -> the instance attribute the wrapper shadows, or _MISSING
        self.previous: dict[str, Any] = {}
        #: name -> the wrapper set on the instance
        self.wrappers: dict[str, Callable[..., Any]] = {}

    # -- install / uninstall (under _lock) ---------------------------------------------

    def install(self) -> None:
        _check_interceptable(self.signal)
        cls = type(self.signal)
        state: dict[str, Any] = self.signal.__dict__
        wrappers: dict[str, Callable[..., Any]] = {}
        for name in _INTERCEPTED:
            original = _class_attribute(cls, name)
            if original is _MISSING:
                continue  # a signal class without this method: nothing to shadow
            if name in _SYNC_METHODS:
                wrapper = self._sync_wrapper(name)
            elif name in _ASYNC_METHODS:
                wrapper = self._async_wrapper(name)
            else:
                wrapper = self._has_listeners_wrapper()
            for attr in ("__name__", "__qualname__", "__doc__"):
                try:
                    setattr(wrapper, attr, getattr(original, attr))
                except (AttributeError, TypeError):
                    pass
            wrappers[name] = wrapper
        try:
            for name, wrapper in wrappers.items():
                self.previous[name] = state.get(name, _MISSING)
                self.wrappers[name] = wrapper
                setattr(self.signal, name, wrapper)
                if getattr(self.signal, name) is not wrapper:  # a __getattribute__ of its own
                    raise TypeError(f"cannot intercept {self.signal!r}: {name} is not shadowed")
        except BaseException:
            self.uninstall()
            raise

    def uninstall(self) -> None:
        """Take the wrappers off the instance, putting back what each one shadowed.

        ``previous`` is kept: a wrapper that other code puts back later passes
        calls through to it.
        """
        state: dict[str, Any] = self.signal.__dict__
        for name, wrapper in self.wrappers.items():
            if state.get(name) is not wrapper:
                continue  # replaced by other code since: leave its replacement alone
            previous = self.previous[name]
            if previous is _MISSING:
                delattr(self.signal, name)
            else:
                setattr(self.signal, name, previous)

    # -- calls --------------------------------------------------------------------------

    def inner(self, name: str) -> Callable[..., Any]:
        """What the wrapper for ``name`` shadows, bound to the signal."""
        previous = self.previous.get(name, _MISSING)
        if previous is not _MISSING:
            return cast("Callable[..., Any]", previous)
        cls = type(self.signal)
        attribute = _class_attribute(cls, name)
        getter = getattr(type(attribute), "__get__", None)
        if getter is None:
            return cast("Callable[..., Any]", attribute)
        return cast("Callable[..., Any]", getter(attribute, self.signal, cls))

    def is_muted(self, sender: Any) -> bool:
        """Whether a mute registered now covers sends from ``sender``."""
        key: Any = _MISSING
        for mute in self.mutes:
            if mute.sender_key is None:
                return True
            if key is _MISSING:
                key = make_id(sender)
            if mute.sender_key == key:
                return True
        return False

    def begin(
        self, method: SendMethod, sender: Any, named: dict[str, Any]
    ) -> tuple[bool, list[CapturedSend]]:
        """Whether a send from ``sender`` is muted, and the records started for it."""
        muted = self.is_muted(sender)
        records = []
        key: Any = _MISSING
        for capture in self.captures:
            if capture._sender_key is not None:
                if key is _MISSING:
                    key = make_id(sender)
                if capture._sender_key != key:
                    continue
            records.append(capture._begin(method, sender, named, muted))
        return muted, records

    def _sync_wrapper(self, method: SendMethod) -> Callable[..., Any]:
        def wrapper(*args: Any, **named: Any) -> Any:
            inner = self.inner(method)
            call = _split_send(args, named)
            if call is None:
                return inner(*args, **named)
            muted, records = self.begin(method, *call)
            if muted:
                responses: Any = []
            else:
                try:
                    responses = inner(*args, **named)
                except BaseException as exc:
                    for record in records:
                        record.exception = exc
                    raise
            for record in records:
                record.responses = list(responses)
            return responses

        return wrapper

    def _async_wrapper(self, method: SendMethod) -> Callable[..., Any]:
        async def wrapper(*args: Any, **named: Any) -> Any:
            inner = self.inner(method)
            call = _split_send(args, named)
            if call is None:
                return await inner(*args, **named)
            muted, records = self.begin(method, *call)
            if muted:
                responses: Any = []
            else:
                try:
                    responses = await inner(*args, **named)
                except BaseException as exc:
                    for record in records:
                        record.exception = exc
                    raise
            for record in records:
                record.responses = list(responses)
            return responses

        return wrapper

    def _has_listeners_wrapper(self) -> Callable[..., Any]:
        def has_listeners(*args: Any, **named: Any) -> Any:
            inner = self.inner("has_listeners")
            call = _split_has_listeners(args, named)
            if call is not None and self.is_muted(call[0]):
                return False
            return inner(*args, **named)

        return has_listeners


#: id(signal) -> its interception, while a helper is active on it (the
#: interception holds the signal, so the id stays its own).
_interceptions: dict[int, _Interception] = {}
_lock = threading.Lock()


def _add(signal: Any, layer: _Mute | SignalCapture) -> None:
    with _lock:
        interception = _interceptions.get(id(signal))
        if interception is None:
            interception = _Interception(signal)
            interception.install()
            _interceptions[id(signal)] = interception
        if isinstance(layer, _Mute):
            interception.mutes = (*interception.mutes, layer)
        else:
            interception.captures = (*interception.captures, layer)


def _remove(signal: Any, layer: _Mute | SignalCapture) -> None:
    with _lock:
        interception = _interceptions.get(id(signal))
        if interception is None:
            return
        if isinstance(layer, _Mute):
            interception.mutes = tuple(m for m in interception.mutes if m is not layer)
        else:
            interception.captures = tuple(c for c in interception.captures if c is not layer)
        if not interception.mutes and not interception.captures:
            del _interceptions[id(signal)]
            interception.uninstall()


def active_signals() -> list[Any]:
    """The signals that a ``muted`` or ``capture`` helper is active on right now."""
    with _lock:
        return [interception.signal for interception in _interceptions.values()]


# -- muted ------------------------------------------------------------------------------


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


# -- connected --------------------------------------------------------------------------


def _is_connected(
    signal: Any, receiver: object, sender: Any, dispatch_uid: Any, apps: Any = None
) -> bool | None:
    """Whether ``receiver`` (or ``dispatch_uid``) is connected for ``sender`` already;
    ``None`` when that cannot be known (a lazy model sender not loaded yet)."""
    try:
        sender = _lazy_model(signal, sender, apps)
    except (LookupError, ValueError):
        return None  # a model signal's lazy "app_label.Model" sender, not loaded yet
    key = (dispatch_uid if dispatch_uid else make_id(receiver), make_id(sender))
    for item in list(getattr(signal, "receivers", ())):
        if item[0] != key:
            continue
        target = item[1]
        if isinstance(target, weakref.ReferenceType) and target() is None:
            continue
        return True
    return False


@contextmanager
def connected(signal: Any, receiver: _R, **connect_kwargs: Any) -> Iterator[_R]:
    """Connect ``receiver`` to ``signal`` for the duration of a ``with`` block.

    ::

        with connected(post_save, on_save, sender=User) as handler:
            ...

    ``connect_kwargs`` go to ``signal.connect`` (``sender``, ``weak``,
    ``dispatch_uid``, ``on_commit``, a model signal's ``apps``). Yields
    ``receiver``, which is disconnected afterwards, also when the block raises,
    with the same ``sender`` and ``dispatch_uid``. A receiver that was
    connected already (for that sender, or under that ``dispatch_uid``) stays
    connected afterwards. A weakly connected receiver stays alive for the block:
    ``connected`` holds it.
    """
    sender = connect_kwargs.get("sender")
    dispatch_uid = connect_kwargs.get("dispatch_uid")
    disconnect_kwargs: dict[str, Any] = {"sender": sender, "dispatch_uid": dispatch_uid}
    if "apps" in connect_kwargs:
        disconnect_kwargs["apps"] = connect_kwargs["apps"]
    already = _is_connected(signal, receiver, sender, dispatch_uid, connect_kwargs.get("apps"))
    signal.connect(receiver, **connect_kwargs)
    try:
        yield receiver
    finally:
        if not already:
            signal.disconnect(receiver, **disconnect_kwargs)


# -- capture ----------------------------------------------------------------------------

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 8


def _describe_value(value: object) -> str:
    """A short repr; a broken ``__repr__`` gives ``<Class instance at 0x...>``."""
    return _repr.repr(value)


def _same(expected: object, actual: object) -> bool:
    if expected is actual:
        return True
    try:
        return bool(expected == actual)
    except Exception:
        return False


class CapturedSend:
    """One send recorded by a ``SignalCapture``.

    ``signal``
        the signal sent.
    ``sender``
        the sender.
    ``kwargs``
        the named arguments (a copy, without ``sender``).
    ``method``
        ``"send"``, ``"send_robust"``, ``"asend"`` or ``"asend_robust"``.
    ``responses``
        ``[(receiver, response), ...]`` as the send returned it (a copy);
        ``None`` if the send raised or is still running.
    ``exception``
        what the send raised, or ``None``.
    ``muted``
        whether a ``muted`` helper kept the receivers from running (the send
        returned ``[]``).
    """

    __slots__ = ("exception", "kwargs", "method", "muted", "responses", "sender", "signal")

    def __init__(
        self,
        signal: Any,
        sender: Any,
        kwargs: dict[str, Any],
        method: SendMethod,
        muted: bool = False,
    ) -> None:
        self.signal = signal
        self.sender = sender
        self.kwargs = kwargs
        self.method: SendMethod = method
        self.muted = muted
        self.responses: list[tuple[Any, Any]] | None = None
        self.exception: BaseException | None = None

    def matches(self, sender: Any = _MISSING, **kwargs: Any) -> bool:
        """Whether this send was from ``sender`` (if given) with ``kwargs`` among its arguments.

        Values compare with ``==``, so ``unittest.mock.ANY`` matches anything.
        """
        if sender is not _MISSING and not _same(sender, self.sender):
            return False
        for name, expected in kwargs.items():
            actual = self.kwargs.get(name, _MISSING)
            if actual is _MISSING or not _same(expected, actual):
                return False
        return True

    def describe(self) -> str:
        """The send as a call: ``send(sender=<class 'User'>, created=True)``."""
        arguments = [f"sender={_describe_value(self.sender)}"]
        arguments += [f"{name}={_describe_value(value)}" for name, value in self.kwargs.items()]
        return f"{self.method}({', '.join(arguments)})"

    def __repr__(self) -> str:
        if self.exception is not None:
            outcome = f"raised {self.exception!r}"
        elif self.responses is None:
            outcome = "running"
        elif self.muted:
            outcome = "muted"
        else:
            count = len(self.responses)
            outcome = f"{count} response{'' if count == 1 else 's'}"
        return f"<CapturedSend {self.describe()}: {outcome}>"


class SignalCapture(Sequence[CapturedSend]):
    """The sends of one signal recorded while active; what ``capture()`` returns.

    A sequence of ``CapturedSend`` in the order the sends started: ``len()``,
    iteration and indexing. The sends themselves are not changed: receivers run
    and responses and exceptions reach the caller as without it.

    A context manager (``with capture(signal) as sent: ...``); ``start()`` and
    ``stop()`` do the same by hand, and do nothing when already done, so an
    object that is active already (from the ``capture_signal`` fixture) can
    still be used in a ``with`` statement, which stops it at the end. Records
    stay readable after it stops.
    """

    def __init__(self, signal: Any, sender: Any = None) -> None:
        """Capture the sends of ``signal`` (only those from ``sender``, when given)."""
        _check_interceptable(signal)
        self.signal = signal
        self.sender = sender
        self._sender_key: Hashable | None = None if sender is None else make_id(sender)
        self._records: list[CapturedSend] = []
        self._active = False

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether sends are being recorded right now."""
        return self._active

    def start(self) -> None:
        """Start recording (nothing happens if recording already)."""
        if not self._active:
            if isinstance(self.sender, str):  # a model signal's lazy sender: the model now
                sender = _sender_for(self.signal, self.sender, "capture")
                self._sender_key = make_id(sender)
            _add(self.signal, self)
            self._active = True

    def stop(self) -> None:
        """Stop recording (nothing happens if not recording); the records are kept."""
        if self._active:
            self._active = False
            _remove(self.signal, self)

    def __enter__(self) -> SignalCapture:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _begin(
        self, method: SendMethod, sender: Any, named: dict[str, Any], muted: bool
    ) -> CapturedSend:
        record = CapturedSend(self.signal, sender, dict(named), method, muted)
        self._records.append(record)
        return record

    # -- the records -------------------------------------------------------------------

    @property
    def records(self) -> list[CapturedSend]:
        """The records so far (a new list)."""
        return list(self._records)

    def clear(self) -> None:
        """Forget the records so far."""
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[CapturedSend]:
        return iter(list(self._records))

    @overload
    def __getitem__(self, index: int) -> CapturedSend: ...
    @overload
    def __getitem__(self, index: slice) -> list[CapturedSend]: ...
    def __getitem__(self, index: int | slice) -> CapturedSend | list[CapturedSend]:
        return self._records[index]

    def __bool__(self) -> bool:
        return bool(self._records)

    def matching(self, sender: Any = _MISSING, **kwargs: Any) -> list[CapturedSend]:
        """The records of sends from ``sender`` (if given) with ``kwargs`` among their arguments."""
        return [record for record in self._records if record.matches(sender, **kwargs)]

    # -- assertions --------------------------------------------------------------------

    def assert_sent(self, sender: Any = _MISSING, **kwargs: Any) -> CapturedSend:
        """Assert that some send was from ``sender`` (if given) with ``kwargs`` among its arguments.

        Values compare with ``==``; arguments not named are not checked. Returns
        the first matching record. The ``AssertionError`` lists what was sent.
        """
        __tracebackhide__ = True  # pytest: the failure points at the caller
        found = self.matching(sender, **kwargs)
        if not found:
            raise AssertionError(
                self._failure(
                    f"expected {self._name()} to be sent", sender, kwargs, "no send matched"
                )
            )
        return found[0]

    def assert_sent_once(self, sender: Any = _MISSING, **kwargs: Any) -> CapturedSend:
        """Assert that exactly one send matched (as ``assert_sent``); return its record."""
        __tracebackhide__ = True  # pytest: the failure points at the caller
        found = self.matching(sender, **kwargs)
        if len(found) != 1:
            outcome = "no send matched" if not found else self._matched(found)
            raise AssertionError(
                self._failure(f"expected {self._name()} to be sent once", sender, kwargs, outcome)
            )
        return found[0]

    def assert_not_sent(self, sender: Any = _MISSING, **kwargs: Any) -> None:
        """Assert that no send matched (as ``assert_sent``).

        With no arguments: that nothing was sent at all.
        """
        __tracebackhide__ = True  # pytest: the failure points at the caller
        found = self.matching(sender, **kwargs)
        if found:
            raise AssertionError(
                self._failure(
                    f"expected {self._name()} not to be sent", sender, kwargs, self._matched(found)
                )
            )

    def _name(self) -> str:
        return signal_name(self.signal)

    def _matched(self, found: list[CapturedSend]) -> str:
        positions = ", ".join(f"[{self._records.index(record)}]" for record in found)
        return f"{len(found)} send{'s' if len(found) != 1 else ''} matched ({positions})"

    def _failure(self, expected: str, sender: Any, kwargs: dict[str, Any], outcome: str) -> str:
        criteria = []
        if sender is not _MISSING:
            criteria.append(f"sender={_describe_value(sender)}")
        criteria += [f"{name}={_describe_value(value)}" for name, value in kwargs.items()]
        lines = [f"{expected}{' with ' + ', '.join(criteria) if criteria else ''}; {outcome}."]
        scope = "" if self.sender is None else f" from sender={_describe_value(self.sender)}"
        if not self._records:
            lines.append(f"Recorded sends{scope}: none.")
        else:
            lines.append(f"Recorded sends{scope} ({len(self._records)}):")
            lines += [f"  [{i}] {record.describe()}" for i, record in enumerate(self._records)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        scope = "" if self.sender is None else f", sender={_describe_value(self.sender)}"
        state = "active" if self._active else "stopped"
        count = len(self._records)
        return (
            f"<SignalCapture {self._name()}{scope} ({state}, "
            f"{count} send{'' if count == 1 else 's'})>"
        )


def capture(signal: Any, sender: Any = None) -> SignalCapture:
    """Record the sends of ``signal`` (only those from ``sender``, when given) in a ``with`` block.

    ::

        with capture(post_save, sender=User) as sent:
            User.objects.create(username="alice")
        sent.assert_sent_once(created=True)
        assert sent[0].kwargs["instance"].username == "alice"

    Records ``send``, ``send_robust``, ``asend`` and ``asend_robust`` without
    changing them: receivers run, and responses and exceptions are what they
    would be. The returned ``SignalCapture`` starts recording when the block is
    entered (or on ``start()``); see it and ``CapturedSend`` for what is recorded.
    """
    return SignalCapture(signal, sender=sender)
