"""Helpers shared by both engines: identity keys, logging, attribute descriptors.

Nothing here is on the hot path of a send; the engines import these for their
slow paths and for the Python-visible attributes of a signal.
"""

import logging

try:  # asgiref honours markcoroutinefunction() on every Python version.
    from asgiref.sync import iscoroutinefunction as is_async_callable

    HAVE_ASGIREF = True
except ImportError:  # asgiref ships with Django
    from inspect import iscoroutinefunction as is_async_callable  # noqa: F401

    HAVE_ASGIREF = False

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


_settings_cache = None  # the instance dict of django.conf.settings (LazySettings)
_unconfigured = None  # django.utils.functional.empty: LazySettings._wrapped before setup


def debug_checks_enabled():
    """Whether Django's settings are configured with ``DEBUG`` on (Django's connect checks).

    Reads what ``LazySettings`` caches in its instance dict: every attribute
    read through ``django.conf.settings`` runs a Python ``__getattribute__``,
    which would cost more than the rest of ``connect``. Assigning settings
    (``override_settings`` included) clears that cache, and the slow path
    fills it again.
    """
    global _settings_cache, _unconfigured
    if _settings_cache is None:
        settings = django_settings()
        if settings is None:
            return False
        from django.utils.functional import empty

        _unconfigured = empty
        _settings_cache = object.__getattribute__(settings, "__dict__")
    if _settings_cache.get("_wrapped", _unconfigured) is _unconfigured:
        return False
    debug = _settings_cache.get("DEBUG", _settings_cache)
    if debug is _settings_cache:
        debug = django_settings().DEBUG
    return bool(debug)


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

    def __str__(self):
        return describe_recursion(self.chain)


def signal_recursion_error(err, signal, sender, receiver):
    """Return the ``SignalRecursionError`` to raise for ``err`` leaving ``receiver``.

    Called by each dispatch loop the error passes through, innermost first. A
    plain ``RecursionError`` is replaced (its traceback, as long as the
    recursion, is dropped); a ``SignalRecursionError`` gains one link.
    """
    if not isinstance(err, SignalRecursionError):
        err = SignalRecursionError()
        err.chain = []
    err.chain.insert(0, (signal, sender, receiver))
    return err.with_traceback(None)


def describe_recursion(chain):
    """``post_save(sender=User): save_profile -> ... (repeated)`` for a looping ``chain``."""
    keys = [(id(s), id(snd), id(r)) for s, snd, r in chain]
    loop = _loop(keys)
    shown = chain if loop is None else chain[: loop[0] + loop[1]]
    links = []
    previous = None
    for signal, sender, receiver in shown:
        name = receiver_name(receiver)
        if (id(signal), id(sender)) != previous:
            name = f"{signal_name(signal)}(sender={sender_name(sender)}): {name}"
            previous = (id(signal), id(sender))
        links.append(name)
    if loop is None:
        return f"{' -> '.join(links)} (recursion limit reached)"
    return f"{' -> '.join(links)} -> ... (repeated until the recursion limit)"


def _loop(keys):
    """``(start, period)`` of the cycle that ``keys`` ends with, or ``None``."""
    for period in range(1, len(keys) // 2 + 1):
        if keys[-period:] == keys[-2 * period : -period]:
            start = len(keys) - 2 * period
            while start > 0 and keys[start - 1] == keys[start - 1 + period]:
                start -= 1
            return start, period
    return None


def signal_name(signal):
    """The module-level name of ``signal`` (``post_save``), or its repr."""
    import sys

    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, value in list(namespace.items()):
            if value is signal and not name.startswith("_"):
                return name
    return repr(signal)


def sender_name(sender):
    name = getattr(sender, "__qualname__", None) if isinstance(sender, type) else None
    return name if isinstance(name, str) else repr(sender)


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

        responses.extend(send_async_receivers(signal, sender, named, async_receivers, robust))
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
