"""Run code after the current transaction commits: ``on_commit``, ``atomic``, on-commit signals.

``on_commit(func, using=None, robust=False)`` mirrors
``django.db.transaction.on_commit``:

- with Django configured (Django importable and ``settings.configured``, checked
  on every call) it hands ``func`` to Django, so ``TestCase.captureOnCommitCallbacks``
  and pytest-django's ``django_capture_on_commit_callbacks`` see it;
- without Django it uses fastsignal's own, standalone transaction scope,
  ``atomic()``, described below.

The rules are Django's in both cases: outside any transaction ``func`` runs at
once; inside one it runs after the outermost block commits and never if the
transaction, or the savepoint it was registered under, is rolled back; a
non-callable ``func`` raises ``TypeError``; with ``robust=True`` an ``Exception``
raised by ``func`` is logged (with ``exc_info``) and swallowed instead of
propagating. Without ``robust``, the first failing callback's exception
propagates out of the commit and the callbacks after it are dropped.

The standalone scope
====================

``atomic(using=None)`` is a context manager and a decorator (of plain and of
``async def`` functions), and nests::

    with atomic():                 # a transaction
        on_commit(send_mail)
        try:
            with atomic():         # a savepoint
                on_commit(audit)
                raise ValueError
        except ValueError:
            pass                   # only ``audit`` is discarded
    # the outermost block has exited successfully: send_mail() runs now

- A block that exits with an exception discards the callbacks registered inside
  it (and inside its inner blocks); the exception propagates. A failing
  outermost block discards all of them.
- When the outermost block exits successfully its callbacks run, in
  registration order. A callback that calls ``on_commit`` outside a new
  ``atomic()`` block sees no open transaction, so that callback runs at once; one
  registered inside a new block runs when that block commits (as in Django).
- ``using`` names an independent scope ("database alias"); ``None`` means
  ``"default"``, so ``on_commit(f)`` and ``on_commit(f, using="default")`` share a
  scope, as they do in Django.
- Robust failures are logged on the ``fastsignal.transaction`` logger with
  Django's messages: ``Error calling <name> in on_commit() (<error>).`` when no
  transaction is open, ``... in on_commit() during transaction (<error>).`` at
  commit.

Which block is open is kept in a ``contextvars.ContextVar``, so every thread and
every asyncio task has its own transactions:

- a new thread starts outside any block; so does an executor thread started by
  ``loop.run_in_executor``;
- code that runs in a *copy* of the context (an asyncio task created inside a
  block, ``asyncio.gather`` of coroutines, ``asyncio.to_thread``,
  ``asgiref.sync_to_async``) joins the block that was innermost when the copy was
  made: its ``on_commit`` callbacks, and the callbacks of ``atomic()`` blocks it
  opens (which are savepoints of that block), commit or roll back with it.
  Callbacks reach a block in the order they are registered or, for a joined
  task's inner block, in the order that block exits successfully.
- once the joined block has ended, the task is outside it: ``on_commit`` goes
  to the nearest enclosing block still open, or runs at once if there is none,
  and an ``atomic()`` block the task is still inside then becomes the outermost
  one and runs its own callbacks when it exits successfully.

Plugging in another transaction source
======================================

``on_commit`` hands every callback to a backend: any object with a method
``on_commit(func, using, robust) -> None`` (the ``TransactionBackend`` protocol).
``func`` has already been checked to be callable. The backend must call ``func()``
once, after the transaction that is current for ``using`` commits, never if it is
rolled back, and at once when no transaction is open; with ``robust`` it logs and
swallows an ``Exception`` from ``func``. ``set_backend(backend)`` installs one for
the whole process (``None`` restores the default, chosen on every call:
``DjangoBackend`` when Django is configured, else ``StandaloneBackend``);
``get_backend()`` returns the backend the next ``on_commit`` call would use.

On-commit signals
=================

``send_on_commit(signal, sender, using=None, robust=False, **named)`` (a method
of ``Signal``) defers a whole send to commit. ``connect(receiver, ...,
on_commit=True)`` / ``@receiver(sig, on_commit=True)`` defers one receiver: the
engine calls ``defer_receivers`` for such receivers on every send. What is
decided here:

- A deferred receiver's entry in the list that ``send()``/``send_robust()``
  return is ``(receiver, DEFERRED)``, also when no transaction is open and the
  receiver therefore ran during the send: its return value is not collected.
- Each deferred receiver is one ``on_commit`` callback, with ``using`` taken from
  the send's ``using`` keyword (model signals send one; other signals use the
  default alias) and ``robust`` true for ``send_robust``.
- ``send_robust`` cannot report a failure that happens at commit: a deferred
  receiver's exception is logged by ``on_commit`` (logger
  ``django.db.backends.base`` with Django, ``fastsignal.transaction`` without)
  and swallowed. With ``send``, the exception propagates from the commit like
  any ``on_commit`` callback's.
- The receivers of a send are those connected when it is sent; a weakly
  connected receiver that is garbage collected before commit counts as
  disconnected and is skipped silently. Disconnecting a live receiver does not
  cancel a call already deferred.
- The signal, the sender and the keyword arguments are kept (strongly) until the
  callback has run or has been discarded by a rollback.
- Async receivers are run with ``asgiref.sync.async_to_sync`` when called, so the
  transaction must commit in synchronous code (Django's ``atomic()`` always is);
  from inside a running event loop asgiref raises ``RuntimeError``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any, Protocol, overload, runtime_checkable

# is_async_callable is asgiref's or inspect's iscoroutinefunction, chosen at import.
from ._common import (  # type: ignore[attr-defined]
    DeferringReceiver,
    django_settings,
    is_async_callable,
    receiver_name,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from types import TracebackType
    from typing import Final, Literal, ParamSpec, TypeVar

    from ._types import DeferredPairs, Receiver, ReceiverRef, Responses, SignalLike

    _P = ParamSpec("_P")
    _R = TypeVar("_R")

__all__ = [
    "DEFERRED",
    "Atomic",
    "DjangoBackend",
    "StandaloneBackend",
    "TransactionBackend",
    "atomic",
    "defer_receivers",
    "get_backend",
    "in_atomic_block",
    "on_commit",
    "send_on_commit",
    "set_backend",
]

logger = logging.getLogger("fastsignal.transaction")

#: The alias that ``using=None`` stands for (Django's ``DEFAULT_DB_ALIAS``).
DEFAULT_ALIAS = "default"


class _Deferred:
    """Type of ``DEFERRED``; a singleton that survives copying and pickling."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<DEFERRED>"

    def __reduce__(self) -> str:
        return "DEFERRED"


#: The response recorded by ``send()`` for a receiver connected with
#: ``on_commit=True``: its call was handed to ``on_commit``.
DEFERRED: Final = _Deferred()


# --------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------


@runtime_checkable
class TransactionBackend(Protocol):
    """What ``on_commit`` needs from a transaction source.

    ``on_commit(func, using, robust)``: call ``func()`` once after the
    transaction that is current for the alias ``using`` (``None``: the default
    one) commits; never if it is rolled back; at once when no transaction is
    open. With ``robust``, log and swallow an ``Exception`` raised by ``func``.
    ``func`` is known to be callable.
    """

    def on_commit(self, func: Callable[[], object], using: str | None, robust: bool) -> None: ...


_django_on_commit: Callable[..., None] | None = None  # django.db.transaction.on_commit


class DjangoBackend:
    """Delegates to ``django.db.transaction.on_commit``."""

    def on_commit(self, func: Callable[[], object], using: str | None, robust: bool) -> None:
        global _django_on_commit
        if _django_on_commit is None:
            from django.db.transaction import on_commit

            _django_on_commit = on_commit
        _django_on_commit(func, using=using, robust=robust)

    def __repr__(self) -> str:
        return "<fastsignal.transaction.DjangoBackend>"


class StandaloneBackend:
    """fastsignal's own scope: the blocks opened with ``atomic()``."""

    def on_commit(self, func: Callable[[], object], using: str | None, robust: bool) -> None:
        _standalone_on_commit(func, using, robust)

    def __repr__(self) -> str:
        return "<fastsignal.transaction.StandaloneBackend>"


_DJANGO = DjangoBackend()
_STANDALONE = StandaloneBackend()
_backend: TransactionBackend | None = None  # None: choose per call


def _django_configured() -> bool:
    settings = django_settings()
    return settings is not None and settings.configured


def get_backend() -> TransactionBackend:
    """Return the backend that ``on_commit`` uses now.

    The one given to ``set_backend``; by default ``DjangoBackend`` when Django is
    importable and its settings are configured, else ``StandaloneBackend``.
    """
    if _backend is not None:
        return _backend
    return _DJANGO if _django_configured() else _STANDALONE


def set_backend(backend: TransactionBackend | None) -> TransactionBackend | None:
    """Make ``backend`` receive every ``on_commit`` call; return the previous one.

    ``None`` restores the default choice (see ``get_backend``). The previous
    value is returned as given (``None`` for the default), so
    ``set_backend(set_backend(mine))`` restores the state.
    """
    global _backend
    if backend is not None and not callable(getattr(backend, "on_commit", None)):
        raise TypeError(f"{backend!r} has no on_commit(func, using, robust) method.")
    previous, _backend = _backend, backend
    return previous


def on_commit(func: Callable[[], object], using: str | None = None, robust: bool = False) -> None:
    """Register ``func`` to be called when the current transaction commits.

    If that transaction (or the savepoint ``func`` was registered in) is rolled
    back, ``func`` is not called; outside any transaction it is called at once.
    ``using`` is the database alias (``None``: the default one). With ``robust``,
    an ``Exception`` raised by ``func`` is logged instead of propagated.
    Raises ``TypeError`` if ``func`` is not callable.
    """
    if not callable(func):
        raise TypeError("on_commit()'s callback must be a callable.")
    get_backend().on_commit(func, using, robust)


# --------------------------------------------------------------------------
# The standalone scope
# --------------------------------------------------------------------------


class _Block:
    """One ``atomic()`` block being run: the callbacks registered directly in it."""

    __slots__ = ("callbacks", "open", "parent")

    def __init__(self, parent: _Block | None) -> None:
        self.parent = parent  # the enclosing block, or None for an outermost one
        # [(func, robust), ...] in registration order
        self.callbacks: list[tuple[Callable[[], object], bool]] = []
        self.open = True


#: ``{alias: innermost block entered in this context}`` (never mutated: replaced),
#: or ``None`` outside every block.
_blocks: contextvars.ContextVar[dict[str, _Block] | None] = contextvars.ContextVar(
    "fastsignal_atomic_blocks", default=None
)
#: Guards blocks' ``callbacks`` and ``open``: a copied context can reach a block
#: from another thread (``asyncio.to_thread``, ``sync_to_async``). Re-entrant: a
#: finalizer or signal handler run while this thread holds it (at any call in
#: the pure-Python code below) may send a signal with ``on_commit`` receivers,
#: and a send never waits on a lock its own thread holds.
_lock = threading.RLock()


def _alias(using: str | None) -> str:
    return DEFAULT_ALIAS if using is None else using


def _nearest_open(block: _Block | None) -> _Block | None:
    while block is not None and not block.open:
        block = block.parent
    return block


def _current_block(alias: str) -> _Block | None:
    blocks = _blocks.get()
    return _nearest_open(blocks.get(alias)) if blocks else None


def in_atomic_block(using: str | None = None) -> bool:
    """Whether the caller is inside an open standalone ``atomic()`` block for ``using``."""
    return _current_block(_alias(using)) is not None


def _call(func: Callable[[], object], robust: bool, during_transaction: bool) -> None:
    if not robust:
        func()
        return
    try:
        func()
    except Exception as err:
        logger.error(
            "Error calling %s in on_commit() during transaction (%s)."
            if during_transaction
            else "Error calling %s in on_commit() (%s).",
            receiver_name(func),
            err,
            exc_info=True,
        )


def _standalone_on_commit(func: Callable[[], object], using: str | None, robust: bool) -> None:
    alias = _alias(using)
    with _lock:
        block = _current_block(alias)
        if block is not None:
            block.callbacks.append((func, robust))
            return
    _call(func, robust, during_transaction=False)


class Atomic:
    """A standalone transaction block; what ``atomic()`` returns.

    Keeps no state of its own (the open blocks live in the current context), so
    one instance can be entered again, recursively, or from several threads,
    which is what a decorator does.
    """

    __slots__ = ("using",)

    def __init__(self, using: str | None = None) -> None:
        self.using = using

    def __enter__(self) -> None:
        alias = _alias(self.using)
        blocks = _blocks.get() or {}
        with _lock:
            parent = _nearest_open(blocks.get(alias))
        _blocks.set({**blocks, alias: _Block(parent)})

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        alias = _alias(self.using)
        blocks = _blocks.get()
        block = blocks.get(alias) if blocks else None
        if block is None:
            raise RuntimeError(
                f"atomic(using={self.using!r}) exited in a context where it was not entered."
            )
        rest: dict[str, _Block] = dict(blocks)  # type: ignore[arg-type]  # holds ``block``
        if block.parent is None:
            del rest[alias]
        else:
            rest[alias] = block.parent
        _blocks.set(rest or None)
        with _lock:
            block.open = False
            callbacks, block.callbacks = block.callbacks, []
            if exc_type is not None:
                return False  # rolled back: its callbacks are dropped
            target = _nearest_open(block.parent)
            if target is not None:  # a savepoint: its callbacks join the enclosing block
                target.callbacks.extend(callbacks)
                return False
        # The outermost block committed; it is closed, so callbacks that register
        # more callbacks see no open transaction here (as with Django).
        for func, robust in callbacks:
            _call(func, robust, during_transaction=True)
        return False

    @overload
    def __call__(
        self, func: Callable[_P, Coroutine[Any, Any, _R]]
    ) -> Callable[_P, Coroutine[Any, Any, _R]]: ...
    @overload
    def __call__(self, func: Callable[_P, _R]) -> Callable[_P, _R]: ...
    def __call__(self, func: Callable[_P, Any]) -> Callable[_P, Any]:
        """Decorate ``func`` (plain or ``async def``) to run inside this block."""
        if is_async_callable(func):

            @functools.wraps(func)
            async def run_atomic_async(*args: _P.args, **kwargs: _P.kwargs) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return run_atomic_async

        @functools.wraps(func)
        def run_atomic(*args: _P.args, **kwargs: _P.kwargs) -> Any:
            with self:
                return func(*args, **kwargs)

        return run_atomic

    def __repr__(self) -> str:
        return f"<fastsignal.transaction.atomic(using={self.using!r})>"


@overload
def atomic(using: Callable[_P, _R]) -> Callable[_P, _R]: ...
@overload
def atomic(using: str | None = None) -> Atomic: ...
def atomic(using: str | Callable[_P, _R] | None = None) -> Atomic | Callable[_P, _R]:
    """Open a standalone transaction block: a context manager and a decorator.

    Nested blocks are savepoints. ``using`` names an independent scope (default
    ``"default"``). Usable as ``@atomic``, ``@atomic()`` and ``with atomic():``.
    This is fastsignal's own scope, for code without Django; with Django
    configured, ``on_commit`` follows Django's ``transaction.atomic()`` instead
    (unless ``set_backend(StandaloneBackend())`` was called).
    """
    if callable(using):  # bare @atomic
        return Atomic()(using)
    return Atomic(using)


# --------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------


class _DeferredReceiver:
    """The ``on_commit`` callback that calls one deferred receiver."""

    # __qualname__ names the receiver in the robust-failure log messages (Django
    # 5.2 reads ``func.__qualname__`` there).
    __slots__ = ("__qualname__", "is_async", "named", "ref", "sender", "signal")

    def __init__(
        self,
        signal: SignalLike,
        sender: Any,
        named: dict[str, Any],
        receiver: Receiver,
        ref: ReceiverRef,
    ) -> None:
        self.signal = signal
        self.sender = sender
        self.named = named
        self.ref = ref
        self.is_async = is_async_callable(receiver)
        self.__qualname__ = receiver_name(receiver)

    @property
    def receiver(self) -> Receiver | None:
        """The receiver, or ``None`` if it was weakly connected and has died."""
        ref = self.ref
        return ref() if isinstance(ref, weakref.ReferenceType) else ref

    def __call__(self) -> Any:
        receiver = self.receiver
        if receiver is None:
            return None  # weakly connected and garbage collected: disconnected
        if self.is_async:
            from asgiref.sync import async_to_sync

            receiver = async_to_sync(receiver)
        return receiver(signal=self.signal, sender=self.sender, **self.named)

    def __repr__(self) -> str:
        return f"<deferred receiver {self.__qualname__}>"


def defer_receivers(
    signal: SignalLike, sender: Any, named: dict[str, Any], receivers: DeferredPairs, robust: bool
) -> Responses:
    """Hand each of ``receivers`` to ``on_commit``; return their ``send()`` results.

    Called by the engine during ``send``/``send_robust`` after the immediate
    receivers. ``receivers`` is a list of ``(receiver, ref)`` pairs: the live
    receiver and the value at ``[1]`` of its ``signal.receivers`` item (the
    receiver itself, or its ``weakref.ref``/``weakref.WeakMethod``; only ``ref``
    is kept until commit). ``named`` is the send's keyword arguments; its
    ``using`` entry, if any, selects the database alias. Returns
    ``[(receiver, DEFERRED), ...]``; a ``DeferringReceiver`` (a background
    receiver) schedules its own work and gives its own pair.
    """
    responses: Responses = []
    for receiver, ref in receivers:
        if isinstance(receiver, DeferringReceiver):  # a background receiver
            responses.append(receiver.defer(signal, sender, named, robust))
            continue
        get_backend().on_commit(
            _DeferredReceiver(signal, sender, named, receiver, ref), named.get("using"), robust
        )
        responses.append((receiver, DEFERRED))
    return responses


class _DeferredSend:
    """The ``on_commit`` callback of ``send_on_commit``."""

    __slots__ = ("__qualname__", "named", "robust", "sender", "signal")

    def __init__(
        self, signal: SignalLike, sender: Any, named: dict[str, Any], robust: bool
    ) -> None:
        self.signal = signal
        self.sender = sender
        self.named = named
        self.robust = robust
        method = "send_robust" if robust else "send"
        self.__qualname__ = f"{type(signal).__qualname__}.{method}"

    def __call__(self) -> Responses:
        if self.robust:
            return self.signal.send_robust(self.sender, **self.named)
        return self.signal.send(self.sender, **self.named)

    def __repr__(self) -> str:
        return f"<deferred {self.__qualname__} of {self.signal!r}>"


def send_on_commit(
    signal: SignalLike, sender: Any, using: str | None = None, robust: bool = False, **named: Any
) -> None:
    """Send ``signal`` when the current transaction commits (``Signal.send_on_commit``).

    At commit, calls ``signal.send(sender, **named)``, or
    ``signal.send_robust(sender, **named)`` with ``robust`` (whose failures are
    logged, by ``send_robust`` for receivers and by ``on_commit`` for the rest).
    Nothing is sent if the transaction is rolled back; outside a transaction the
    signal is sent at once. ``using`` selects the database alias and, when given,
    is passed on to the receivers like any keyword, as a model signal's ``send``
    would (so ``send_on_commit(sender, **kwargs)`` delivers what
    ``send(sender, **kwargs)`` would). ``sender`` and ``named`` are kept alive
    until then. Returns ``None``.
    """
    if using is not None:
        named["using"] = using
    on_commit(_DeferredSend(signal, sender, named, robust), using=using, robust=robust)
