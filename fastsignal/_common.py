"""Helpers shared by both engines: identity keys, logging, attribute descriptors.

Nothing here is on the hot path of a send; the engines import these for their
slow paths and for the Python-visible attributes of a signal.
"""

import logging

try:  # asgiref honours markcoroutinefunction() on every Python version.
    from asgiref.sync import iscoroutinefunction as is_async_callable
except ImportError:  # pragma: no cover - asgiref ships with Django
    from inspect import iscoroutinefunction as is_async_callable

logger = logging.getLogger("django.dispatch")

#: Name of the instance attribute that holds a signal's registry.
REGISTRY_ATTR = "_fastsignal_registry"


class DeferredItem(tuple):
    """A ``signal.receivers`` item of a receiver connected with ``on_commit=True``.

    A plain tuple in every other respect; its type carries the flag, so a list
    that is taken away and assigned back (the muting trick) keeps it.
    """

    __slots__ = ()


_settings = None  # django.conf.settings; False without Django; None before the first look


def django_settings():
    """Return ``django.conf.settings`` if Django is importable, else ``None``."""
    global _settings
    if _settings is None:
        try:
            from django.conf import settings
        except ImportError:
            settings = False
        _settings = settings
    # Never test LazySettings for truth: that would try to configure Django.
    return None if _settings is False else _settings


def make_id(target):
    """Return Django's identity key for ``target``.

    Bound methods are keyed by ``(id(__self__), id(__func__))`` so that two
    bound-method objects of one instance and one function are one receiver.
    """
    if hasattr(target, "__func__"):
        return (id(target.__self__), id(target.__func__))
    return id(target)


NONE_ID = make_id(None)


def receiver_name(receiver):
    """Name a receiver for log messages, even when it has no ``__qualname__``."""
    name = getattr(receiver, "__qualname__", None)
    return name if isinstance(name, str) else repr(receiver)


def log_robust_failure(receiver, err):
    """Log a receiver's exception caught by ``send_robust`` as Django does."""
    if logger.isEnabledFor(logging.ERROR):
        logger.error(
            "Error calling %s in Signal.send_robust() (%s)",
            receiver_name(receiver),
            err,
            exc_info=err,
        )


def call_receivers(signal, sender, named, receivers, robust):
    """Call live sync ``receivers`` in order; return ``[(receiver, response), ...]``.

    With ``robust``, an ``Exception`` is logged and becomes the response.
    """
    responses = []
    for receiver in receivers:
        if robust:
            try:
                response = receiver(signal=signal, sender=sender, **named)
            except Exception as err:
                log_robust_failure(receiver, err)
                response = err
        else:
            response = receiver(signal=signal, sender=sender, **named)
        responses.append((receiver, response))
    return responses


def send_through_live_receivers(signal, sender, named, robust):
    """Send by asking ``signal._live_receivers``, as Django does.

    The engines take this path only when ``_live_receivers`` has been replaced
    (monitoring tools wrap receivers that way), so the replacement is honoured.
    Receivers deferred to commit are not among the live receivers; the engine
    schedules them after this.
    """
    sync_receivers, async_receivers = signal._live_receivers(sender)
    responses = call_receivers(signal, sender, named, sync_receivers, robust)
    if async_receivers:
        from ._async import send_async_receivers

        responses.extend(
            send_async_receivers(signal, sender, named, async_receivers, robust)
        )
    return responses


def defer(signal, sender, named, receivers, robust):
    """Schedule ``[(receiver, ref), ...]`` to run after commit; return their responses."""
    from .transaction import defer_receivers

    return defer_receivers(signal, sender, named, receivers, robust)


class SenderCacheView:
    """Stand-in for Django's ``Signal.sender_receivers_cache``.

    fastsignal keeps every sender's receiver list ready in its registry, so
    there is no separate cache to fill. Code written for Django still calls
    ``sender_receivers_cache.clear()`` after editing ``signal.receivers`` by
    hand; here that asks the registry to re-read ``signal.receivers``. It never
    takes the signal's lock: callers usually hold it already.
    """

    __slots__ = ("_registry",)

    def __init__(self, registry):
        self._registry = registry

    def clear(self):
        self._registry.request_resync()

    def get(self, sender, default=None):
        """Return the live receivers of ``sender``, or ``default`` if it has none."""
        sync_receivers, async_receivers = self._registry.live_receivers(sender)
        return (sync_receivers + async_receivers) or default

    def __contains__(self, sender):
        return self.get(sender) is not None

    def __len__(self):
        return 0

    def __bool__(self):
        return False

    def __repr__(self):
        return "<fastsignal sender cache (lists kept ready by the registry)>"


class ReceiversAttribute:
    """Data descriptor behind ``Signal.receivers``.

    Reading returns a real list of ``((lookup_key, sender_key), receiver_or_ref,
    sender_ref, is_async)`` items in connection order, built on demand. Assigning
    a list (for example ``signal.receivers = []`` to mute a signal) makes the
    registry adopt it before the next operation.
    """

    def __init__(self, registry_of):
        self._registry_of = registry_of

    def __get__(self, signal, owner=None):
        if signal is None:
            return self
        return self._registry_of(signal).get_list()

    def __set__(self, signal, value):
        self._registry_of(signal).set_list(value)

    def __delete__(self, signal):
        self._registry_of(signal).set_list([])


class SenderCacheAttribute:
    """Data descriptor behind ``Signal.sender_receivers_cache``.

    Assignments (Django's ``__init__`` makes one) are accepted and ignored: the
    registry is the only cache.
    """

    def __init__(self, registry_of):
        self._registry_of = registry_of

    def __get__(self, signal, owner=None):
        if signal is None:
            return self
        return self._registry_of(signal).cache_view

    def __set__(self, signal, value):
        self._registry_of(signal).request_resync()
