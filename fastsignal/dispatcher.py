"""The public API: ``Signal`` and ``receiver``, a drop-in for ``django.dispatch``.

The methods written here are the ones off the hot path. ``connect``,
``disconnect``, ``send``, ``send_robust``, ``has_listeners`` and the receiver
registry come straight from the engine (``fastsignal._engine``): with the
compiled engine, a connect or a send runs no Python code of ours on its common
path, and a send calls the receivers from the one Python frame that Django's
``send`` is (``fastsignal._send_frame``).

PYTEST_DONT_REWRITE
"""

import threading

from . import _engine_py
from ._engine import engine as _engine
from ._send_routes import asend as _asend  # and hands the engines their slow routes

#: Names every engine provides, each installed as an attribute of a signal class.
ENGINE_ATTRIBUTES = (
    "connect",
    "disconnect",
    "send",
    "send_robust",
    "has_listeners",
    "_live_receivers",
    "_clear_dead_receivers",
    "_flag_dead_receivers",
    "_connect_receiver",
    "_disconnect_receiver",
    "_deferred_receivers",
    "receivers",
    "sender_receivers_cache",
)


def engine_attributes(engine):
    """Return ``{name: attribute}`` of ``engine`` for a signal class."""
    return {name: getattr(engine, name) for name in ENGINE_ATTRIBUTES}


class Signal:
    """A signal: receivers connect to it, senders send it.

    Attributes kept compatible with ``django.dispatch.Signal``:

    ``receivers``
        a list of ``((lookup_key, sender_key), receiver_or_weakref, sender_ref,
        is_async)`` in connection order; assigning a new list is honoured.
    ``lock``
        the ``threading.Lock`` held while receivers change.
    ``use_caching``
        accepted for compatibility; every sender's receivers are always kept ready.
    ``sender_receivers_cache``
        ``clear()`` makes the signal re-read ``receivers``.
    """

    def __init__(self, use_caching=False):
        """Create a new signal."""
        self.lock = threading.Lock()
        self.use_caching = use_caching

    def _connect_background(self, lookup_key, receiver, sender, on_commit, priority, options):
        """``connect(receiver, ..., background=options)``, once ``connect`` has checked
        ``receiver`` and keyed it: connect the receiver that runs it in a worker."""
        if on_commit:
            raise TypeError("background receivers always wait for the commit: drop on_commit=True")
        from .background import background_receiver

        receiver = background_receiver(receiver, options, sender)
        self._connect_receiver(lookup_key, receiver, sender, False, False, True, priority)

    def send_on_commit(self, sender, using=None, robust=False, **named):
        """Send the signal after the surrounding transaction commits; return ``None``.

        Outside a transaction the send happens at once. On rollback it never
        happens. ``using`` names the database (Django) or scope alias;
        ``robust=True`` sends with ``send_robust``. The sender and the keyword
        arguments are held until then.
        """
        from .transaction import send_on_commit

        send_on_commit(self, sender, using=using, robust=robust, **named)

    async def asend(self, sender, **named):
        """Send from async code; return ``[(receiver, response), ...]``.

        Sync receivers run first, together in one ``sync_to_async`` call; then
        async receivers run concurrently, each in a task, grouped as by an
        ``asyncio.TaskGroup`` and sharing one ``contextvars`` context. Results
        list sync receivers first, each group in connection order. A receiver's
        exception propagates.
        """
        return await _asend(self, sender, named, robust=False)

    async def asend_robust(self, sender, **named):
        """Like ``asend``, but a receiver's ``Exception`` is logged and returned as its response."""
        return await _asend(self, sender, named, robust=True)


for _name, _value in engine_attributes(_engine).items():
    setattr(Signal, _name, _value)

if _engine.COMPILED:

    class PySignal(Signal):
        """``Signal`` on the pure-Python engine, whatever engine ``Signal`` uses."""

    for _name, _value in engine_attributes(_engine_py).items():
        setattr(PySignal, _name, _value)
else:
    PySignal = Signal


def receiver(signal, **kwargs):
    """Decorator connecting a function to a signal, or to each of a list of signals.

    ``kwargs`` are passed on to ``connect``::

        @receiver(post_save, sender=MyModel)
        def on_save(sender, **kwargs):
            ...

        @receiver([post_save, post_delete], sender=MyModel)
        def on_change(sender, **kwargs):
            ...
    """

    signals = signal if isinstance(signal, (list, tuple)) else (signal,)
    for each in signals:
        if not callable(getattr(each, "connect", None)):
            raise TypeError(
                f"receiver() takes a signal or a list or tuple of signals, got {each!r}"
            )

    own_options = [name for name in _OWN_OPTIONS if kwargs.get(name)]
    if own_options:
        for each in signals:
            _check_takes(each, own_options)

    def _decorator(func):
        for each in signals:
            each.connect(func, **kwargs)
        return func

    return _decorator


#: ``connect`` options that Django's own dispatcher does not have.
_OWN_OPTIONS = ("on_commit", "priority", "background")


def _check_takes(signal, options):
    """Raise a TypeError that says what to do when ``signal`` cannot take ``options``.

    That is a Django signal while fastsignal's Django integration is not active
    yet: Django's own ``connect`` would fail with a bare "unexpected keyword
    argument".
    """
    import inspect

    try:
        parameters = inspect.signature(signal.connect).parameters
    except (TypeError, ValueError):  # no signature to read: let connect() decide
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    missing = [name for name in options if name not in parameters]
    if not missing:
        return
    raise TypeError(
        f"{type(signal).__name__}.connect() does not take {', '.join(missing)}: {signal!r} "
        "dispatches through Django's own dispatcher because fastsignal's Django integration "
        'is not active yet. Put "fastsignal.django" first in INSTALLED_APPS, or call '
        f"fastsignal.django.install() before connecting with {' or '.join(missing)}."
    )
