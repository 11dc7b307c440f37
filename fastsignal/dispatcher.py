"""The public API: ``Signal`` and ``receiver``, a drop-in for ``django.dispatch``.

The methods written here are the ones off the hot path. ``send``,
``send_robust``, ``has_listeners`` and the receiver registry come straight from
the engine (``fastsignal._engine``): with the compiled engine, a send runs no
Python code of ours before the dispatch loop, and calls the receivers from the
one Python frame that Django's ``send`` is (``fastsignal._send_frame``).

PYTEST_DONT_REWRITE
"""

import threading
from inspect import CO_COROUTINE
from types import FunctionType

from . import _common, _engine_py
from ._common import NONE_ID, check_priority, debug_checks_enabled, is_async_callable, make_id
from ._engine import engine as _engine
from ._send_routes import asend as _asend  # and hands the engines their slow routes

#: Names every engine provides, each installed as an attribute of a signal class.
ENGINE_ATTRIBUTES = (
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


def _check_receiver(receiver):
    """Validate ``receiver`` as Django's connect does; return whether it is async."""
    if not callable(receiver):
        raise TypeError("Signal receivers must be callable.")
    if debug_checks_enabled():
        from django.utils.inspect import func_accepts_kwargs

        if not func_accepts_kwargs(receiver):
            raise ValueError("Signal receivers must accept keyword arguments (**kwargs).")
    # A plain function without attributes (markcoroutinefunction() sets one)
    # is async exactly when its code is a coroutine's: skip the general test.
    if type(receiver) is FunctionType and not receiver.__dict__:
        if not receiver.__code__.co_flags & CO_COROUTINE:
            return False
    elif not is_async_callable(receiver):
        return False
    if not _common.HAVE_ASGIREF:
        raise ModuleNotFoundError(
            f"{receiver!r} is an async receiver, and async receivers need asgiref, "
            "which is not installed: pip install asgiref (Django depends on it)",
            name="asgiref",
        )
    return True


def _lookup_key(receiver, sender, dispatch_uid):
    sender_key = NONE_ID if sender is None else make_id(sender)
    if dispatch_uid:
        try:
            hash(dispatch_uid)
        except TypeError:
            raise TypeError(
                f"dispatch_uid must be hashable, got {type(dispatch_uid).__name__} {dispatch_uid!r}"
            ) from None
        return (dispatch_uid, sender_key)
    # make_id() of a plain function is its id(): skip the attribute lookups.
    receiver_key = id(receiver) if type(receiver) is FunctionType else make_id(receiver)
    return (receiver_key, sender_key)


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

    def connect(
        self,
        receiver,
        sender=None,
        weak=True,
        dispatch_uid=None,
        on_commit=False,
        priority=0,
        background=False,
    ):
        """Connect ``receiver`` to this signal.

        Arguments:

            receiver
                A callable accepting keyword arguments (``**kwargs``): a function,
                a bound method, any callable object, or a coroutine function.
                Must be weakly referenceable when ``weak`` is true.

            sender
                Only sends from this object reach the receiver; ``None`` (the
                default) receives from every sender.

            weak
                Hold the receiver by a weak reference (the default): it is
                disconnected when it is garbage collected. Bound methods are held
                through ``weakref.WeakMethod``.

            dispatch_uid
                A hashable identifier for the receiver. A second receiver with the
                same identifier (and sender) is not added.

            on_commit
                Call the receiver only after the surrounding transaction commits
                (see ``fastsignal.transaction``), with the same keyword arguments;
                on rollback it is not called. ``send`` lists it with the response
                ``fastsignal.DEFERRED``.

            priority
                An int: receivers with a higher priority run first; equal
                priorities (``0``, the default, everywhere keeps Django's order)
                run in connection order. Decided here, so sends pay nothing.

            background
                ``True``, or a dict of task options (``queue_name``,
                ``priority``, ``backend``) and ``fields`` (the model fields whose
                values travel, by argument: ``{"instance": ["email"]}``): run the
                receiver in a worker of the project's task backend after the
                transaction commits, instead of calling it (see
                ``fastsignal.background``). The receiver must be a module-level
                function of an importable module; ``on_commit`` is implied. The
                send's response for it is a ``BackgroundCall``.

        Connecting a receiver that is already connected for that sender does
        nothing. Raises ``TypeError`` for a non-callable receiver, an
        unhashable ``dispatch_uid`` or a ``priority`` that is not an int;
        ``ModuleNotFoundError`` for an async receiver when asgiref is not
        installed; with Django's settings configured and ``DEBUG`` on,
        ``ValueError`` for a receiver that does not accept ``**kwargs``. The
        signal is unchanged when it raises.
        """
        if (
            type(receiver) is FunctionType
            and not dispatch_uid
            and not receiver.__code__.co_flags & CO_COROUTINE
            and not receiver.__dict__
            and not debug_checks_enabled()
        ):
            # The common case, decided as _check_receiver and _lookup_key decide
            # it, without calling them: a plain sync function, keyed by its id.
            is_async = False
            lookup_key = (id(receiver), NONE_ID if sender is None else make_id(sender))
            if type(priority) is not int:
                priority = check_priority(priority)
        else:
            is_async = _check_receiver(receiver)
            if type(priority) is not int:
                priority = check_priority(priority)
            lookup_key = _lookup_key(receiver, sender, dispatch_uid)
        if background is not False and background is not None:
            if on_commit:
                raise TypeError(
                    "background receivers always wait for the commit: drop on_commit=True"
                )
            from .background import background_receiver

            receiver = background_receiver(receiver, background, sender)
            weak, is_async, on_commit = False, False, True
        self._connect_receiver(
            lookup_key,
            receiver,
            sender,
            weak,
            is_async,
            on_commit,
            priority,
        )

    def disconnect(self, receiver=None, sender=None, dispatch_uid=None):
        """Disconnect a receiver; return ``True`` if one was connected.

        Identify it by ``receiver`` or by ``dispatch_uid``, with the ``sender``
        it was connected for. Weakly connected receivers need not be
        disconnected: they go when they are garbage collected.
        """
        return self._disconnect_receiver(_lookup_key(receiver, sender, dispatch_uid))

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
