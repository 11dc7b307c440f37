"""Helpers shared by both engines: identity keys, logging, attribute descriptors.

Nothing here is on the hot path of a send; the engines import these for their
slow paths and for the Python-visible attributes of a signal. This module is on
the ground floor: it imports nothing of the package but ``_signal_paths``
(``docs/development.md``, "Floors").

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import logging
from types import MethodType
from typing import TYPE_CHECKING, Any, overload

from ._signal_paths import signal_path

try:  # asgiref honours markcoroutinefunction() on every Python version.
    from asgiref.sync import iscoroutinefunction as is_async_callable

    HAVE_ASGIREF = True
except ImportError:  # asgiref ships with Django
    from inspect import iscoroutinefunction as is_async_callable  # noqa: F401

    HAVE_ASGIREF = False

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Literal, TypeVar

    from django.conf import LazySettings

    from ._types import (
        Receiver,
        ReceiversItem,
        RegistryLike,
        Responses,
        SignalLike,
    )

    _T = TypeVar("_T")

logger = logging.getLogger("django.dispatch")

#: Name of the instance attribute that holds a signal's registry.
REGISTRY_ATTR = "_fastsignal_registry"


class ReceiverItem(tuple[Any, ...]):
    """A ``signal.receivers`` item that carries what Django's tuple has no room for.

    A receiver connected with ``on_commit=True`` or a non-zero ``priority`` gets
    one; every other receiver gets a plain tuple, as in Django. It is a plain
    tuple in every other respect (code that unpacks items works unchanged), and a
    list that is taken away and assigned back (the muting trick) keeps both facts.
    """

    #: Connected with ``on_commit=True``: runs after the surrounding transaction commits.
    on_commit: bool = False
    #: Higher runs first; equal priorities keep connection order.
    priority: int = 0


class DeferringReceiver:
    """A receiver that schedules its own after-commit work when a send reaches it.

    Connected as an on-commit receiver; at send time the deferred route calls
    ``defer(signal, sender, named, robust)`` instead of registering a call of
    the receiver, and lists what it returns as the ``(receiver, response)``
    pair. Background receivers are such (``fastsignal.background``).
    """

    def defer(
        self, signal: Any, sender: Any, named: dict[str, Any], robust: bool
    ) -> tuple[Any, Any]:
        raise NotImplementedError


def receivers_item(fields: tuple[Any, ...], on_commit: bool, priority: int) -> ReceiversItem:
    """The ``signal.receivers`` item for ``fields``: a plain tuple unless a fact needs room."""
    if not on_commit and not priority:
        return fields
    item = ReceiverItem(fields)
    if on_commit:
        item.on_commit = True
    if priority:
        item.priority = priority
    return item


def check_priority(priority: object) -> int:
    """Return ``priority`` as an int, or raise a TypeError naming it."""
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise TypeError(f"priority must be an int, got {type(priority).__name__} {priority!r}")
    return int(priority)


#: django.conf.settings; False without Django; None before the first look
_settings: LazySettings | Literal[False] | None = None


def django_settings() -> LazySettings | None:
    """Return ``django.conf.settings`` if Django is importable, else ``None``."""
    global _settings
    if _settings is None:
        settings: LazySettings | Literal[False]
        try:
            from django.conf import settings
        except ImportError:
            settings = False
        _settings = settings
    # Never test LazySettings for truth: that would try to configure Django.
    return None if _settings is False else _settings


_settings_cache: dict[str, Any] | None = None  # the instance dict of django.conf.settings
_unconfigured: object = None  # django.utils.functional.empty: LazySettings._wrapped before setup


def debug_checks_enabled() -> bool:
    """Whether Django's settings are configured with ``DEBUG`` on (Django's connect checks)."""
    configured = _configured_settings()
    if configured is None:
        return False
    debug = configured.get("DEBUG", configured)
    if debug is configured:
        debug = django_settings().DEBUG  # type: ignore[union-attr]  # set: the cache is theirs
    return bool(debug)


def django_configured() -> bool:
    """Whether Django is importable and its settings are configured."""
    return _configured_settings() is not None


def _configured_settings() -> dict[str, Any] | None:
    """What ``LazySettings`` caches in its instance dict, or ``None`` if not configured.

    Every attribute read through ``django.conf.settings`` (``settings.DEBUG``,
    ``settings.configured``) runs a Python ``__getattribute__``, which would cost
    more than the rest of ``connect``; its instance dict is a plain read.
    Assigning settings (``override_settings`` included) clears that cache, and
    the slow path fills it again.
    """
    global _settings_cache, _unconfigured
    if _settings_cache is None:
        settings = django_settings()
        if settings is None:
            return None
        from django.utils.functional import empty

        _unconfigured = empty
        _settings_cache = object.__getattribute__(settings, "__dict__")
    if _settings_cache.get("_wrapped", _unconfigured) is _unconfigured:
        return None
    return _settings_cache


def make_id(target: Any) -> int | tuple[int, int]:
    """Return Django's identity key for ``target``.

    Bound methods are keyed by ``(id(__self__), id(__func__))`` so that two
    bound-method objects of one instance and one function are one receiver.
    """
    if hasattr(target, "__func__"):
        return (id(target.__self__), id(target.__func__))
    return id(target)


NONE_ID = make_id(None)


def receiver_name(receiver: object) -> str:
    """Name a receiver for log messages, even when it has no ``__qualname__``."""
    name = getattr(receiver, "__qualname__", None)
    return name if isinstance(name, str) else repr(receiver)


def log_robust_failure(receiver: object, err: Exception) -> None:
    """Log a receiver's exception caught by ``send_robust`` as Django does."""
    if logger.isEnabledFor(logging.ERROR):
        logger.error(
            "Error calling %s in Signal.send_robust() (%s)",
            receiver_name(receiver),
            err,
            exc_info=err,
        )


class SignalRecursionError(RecursionError):
    """Receivers that send the signal that called them ran into the recursion limit.

    The classic case is a ``post_save`` receiver that saves its instance again.
    A subclass of ``RecursionError``, so code that catches that keeps working.
    ``chain`` lists ``(signal, sender, receiver)`` for each send the error went
    through, from the outermost inward; the message names the signal, the
    sender and the receivers that looped.
    """

    # No __init__ in Python: it is created where the recursion limit is hit,
    # where calling Python code could fail again.
    __module__ = "fastsignal"

    chain: list[tuple[Any, Any, Receiver | None]]

    def __str__(self) -> str:
        return describe_recursion(self.chain)


#: Attribute of a ``RecursionError`` on its way out of sends: the ``(signal, receiver)``
#: identity of each send it left, innermost first (ints only: it stays picklable).
_LINKS = "_fastsignal_links"


def _receiver_identity(receiver: object) -> int | tuple[int, int]:
    """``receiver``'s identity, stable across the bound-method objects of one method
    (a weakly connected method is bound anew by each send), without running user code."""
    if type(receiver) is MethodType:
        return (id(receiver.__self__), id(receiver.__func__))
    return id(receiver)


def signal_recursion_error(
    err: RecursionError, signal: object, sender: object, receiver: Receiver | None
) -> RecursionError:
    """Return the exception to raise for ``err`` leaving ``receiver``, called by each
    dispatch loop the error passes through, innermost first.

    The interpreter's ``RecursionError`` is returned as it is until it has left
    the same receiver of the same signal twice (a save loop); then a
    ``SignalRecursionError`` naming the loop is returned, with ``err`` as its
    ``__cause__`` (whose traceback keeps the frames). A ``SignalRecursionError``
    gains one link, with a short traceback. Any other ``RecursionError`` (a
    receiver's own subclass) is returned untouched, as Django lets it through.
    """
    if isinstance(err, SignalRecursionError):
        err.chain.insert(0, (signal, sender, receiver))
        return err.with_traceback(None)
    if type(err) is not RecursionError:
        return err
    link = (id(signal), _receiver_identity(receiver))
    links: tuple[tuple[int, object], ...] = getattr(err, _LINKS, ())
    if link not in links:
        setattr(err, _LINKS, (*links, link))
        return err
    loop = SignalRecursionError()
    loop.chain = [(signal, sender, receiver)]
    loop.__cause__ = err
    return loop


def describe_recursion(chain: list[tuple[Any, Any, Receiver | None]]) -> str:
    """``post_save(sender=User): save_profile -> ... (repeated)`` for a looping ``chain``."""
    keys = [(id(s), id(snd), id(r)) for s, snd, r in chain]
    loop = _loop(keys)
    shown = chain if loop is None else chain[: loop[0] + loop[1]]
    links: list[str] = []
    previous: tuple[int, int] | None = None
    for signal, sender, receiver in shown:
        name = receiver_name(receiver)
        if (id(signal), id(sender)) != previous:
            name = f"{signal_name(signal)}(sender={sender_name(sender)}): {name}"
            previous = (id(signal), id(sender))
        links.append(name)
    if loop is None:
        return f"{' -> '.join(links)} (recursion limit reached)"
    return f"{' -> '.join(links)} -> ... (repeated until the recursion limit)"


def _loop(keys: list[tuple[int, int, int]]) -> tuple[int, int] | None:
    """``(start, period)`` of the cycle that ``keys`` ends with, or ``None``."""
    for period in range(1, len(keys) // 2 + 1):
        if keys[-period:] == keys[-2 * period : -period]:
            start = len(keys) - 2 * period
            while start > 0 and keys[start - 1] == keys[start - 1 + period]:
                start -= 1
            return start, period
    return None


def signal_name(signal: object) -> str:
    """The module-level name of ``signal`` (``post_save``), or its repr.

    Found without importing anything or loading a lazy module (see
    ``fastsignal._signal_paths``), so naming a signal in an error never fails.
    """
    try:
        path = signal_path(signal)
    except Exception:
        path = None
    return repr(signal) if path is None else path.rpartition(".")[2]


def sender_name(sender: object) -> str:
    name = getattr(sender, "__qualname__", None) if isinstance(sender, type) else None
    return name if isinstance(name, str) else repr(sender)


def call_receivers(
    signal: SignalLike,
    sender: Any,
    named: dict[str, Any],
    receivers: Sequence[Receiver],
    robust: bool,
    calls: Sequence[Receiver] | None = None,
) -> Responses:
    """Call live sync ``receivers`` in order; return ``[(receiver, response), ...]``.

    With ``robust``, an ``Exception`` is logged and becomes the response;
    without, a save loop ends in ``SignalRecursionError``, as in the engines'
    own loops. ``calls``, if given, are called in place of ``receivers`` (the
    observers' wrappers); responses, logs and errors name the receivers.
    """
    responses: Responses = []
    receiver = None
    try:
        for receiver, call in zip(receivers, receivers if calls is None else calls, strict=True):
            if robust:
                try:
                    response = call(signal=signal, sender=sender, **named)
                except Exception as err:
                    log_robust_failure(receiver, err)
                    response = err
            else:
                response = call(signal=signal, sender=sender, **named)
            responses.append((receiver, response))
    except RecursionError as err:  # not robust: there, it is a receiver's response
        raise signal_recursion_error(err, signal, sender, receiver)  # noqa: B904 (it sets the cause)
    return responses


class SenderCacheView:
    """Stand-in for Django's ``Signal.sender_receivers_cache``.

    fastsignal keeps every sender's receiver list ready in its registry, so
    there is no separate cache to fill. Code written for Django still calls
    ``sender_receivers_cache.clear()`` after editing ``signal.receivers`` by
    hand; here that asks the registry to re-read ``signal.receivers``. It never
    takes the signal's lock: callers usually hold it already.
    """

    __slots__ = ("_registry",)

    def __init__(self, registry: RegistryLike) -> None:
        self._registry = registry

    def clear(self) -> None:
        self._registry.request_resync()

    def get(self, sender: Any, default: _T | None = None) -> list[Receiver] | _T | None:
        """Return the live receivers of ``sender``, or ``default`` if it has none."""
        sync_receivers, async_receivers = self._registry.live_receivers(sender)
        return (sync_receivers + async_receivers) or default

    def __contains__(self, sender: object) -> bool:
        return self.get(sender) is not None

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<fastsignal sender cache (lists kept ready by the registry)>"


class ReceiversAttribute:
    """Data descriptor behind ``Signal.receivers``.

    Reading returns a real list of ``((lookup_key, sender_key), receiver_or_ref,
    sender_ref, is_async)`` items in connection order, built on demand. Assigning
    a list (for example ``signal.receivers = []`` to mute a signal) makes the
    registry adopt it before the next operation.
    """

    def __init__(self, registry_of: Callable[[object], RegistryLike]) -> None:
        self._registry_of = registry_of

    @overload
    def __get__(self, signal: None, owner: type | None = None) -> ReceiversAttribute: ...
    @overload
    def __get__(self, signal: object, owner: type | None = None) -> list[ReceiversItem]: ...
    def __get__(
        self, signal: object, owner: type | None = None
    ) -> ReceiversAttribute | list[ReceiversItem]:
        if signal is None:
            return self
        return self._registry_of(signal).get_list()

    def __set__(self, signal: object, value: Iterable[ReceiversItem]) -> None:
        self._registry_of(signal).set_list(value)

    def __delete__(self, signal: object) -> None:
        self._registry_of(signal).set_list([])


class SenderCacheAttribute:
    """Data descriptor behind ``Signal.sender_receivers_cache``.

    Assignments (Django's ``__init__`` makes one) are accepted and ignored: the
    registry is the only cache.
    """

    def __init__(self, registry_of: Callable[[object], RegistryLike]) -> None:
        self._registry_of = registry_of

    @overload
    def __get__(self, signal: None, owner: type | None = None) -> SenderCacheAttribute: ...
    @overload
    def __get__(self, signal: object, owner: type | None = None) -> SenderCacheView: ...
    def __get__(
        self, signal: object, owner: type | None = None
    ) -> SenderCacheAttribute | SenderCacheView:
        if signal is None:
            return self
        return self._registry_of(signal).cache_view

    def __set__(self, signal: object, value: object) -> None:
        self._registry_of(signal).request_resync()
