"""Watching sends: an observer API for tracing tools, and ``observe()`` for tests.

An *observer* sees each send and each receiver call of every signal that
dispatches through fastsignal (fastsignal's signals, and Django's once
``fastsignal.django`` is installed). It has two methods, each returning a
context manager (or ``None``):

- ``send(signal, sender, kwargs)`` wraps the whole send;
- ``receiver(signal, sender, receiver)`` wraps one receiver's call (for an
  async receiver, the awaiting of it). An exception the receiver raises passes
  through it, also in ``send_robust``, before it becomes the response.

Register one with ``add_observer``/``remove_observer`` or, for a block,
``with observing(observer):``. ``fastsignal.opentelemetry`` is one (a span per
send, a child span per receiver); ``observe()`` below records sends for tests.

Cost: while no observer is registered, sends take their usual path and pay
one flag test. While any is registered, every send of every signal goes
through the observed path (about as fast as Django's own dispatcher), so
observe in tests and development, or with a tracer you would pay for anyway.
A send to a signal with no receivers at all is not observed; receivers
connected with ``on_commit=True`` are observed when they run, not at the send.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from . import _engine_py
from ._common import call_receivers, receiver_name
from ._engine import engine

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager

    from ._types import DeferRoute, Receiver, Responses, SignalLike

__all__ = [
    "Observer",
    "ReceiverCall",
    "SendRecord",
    "add_observer",
    "observe",
    "observing",
    "remove_observer",
]


class Observer(Protocol):
    """What an observer provides; either method may return ``None`` to skip."""

    def send(
        self, signal: Any, sender: Any, kwargs: dict[str, Any]
    ) -> AbstractContextManager[object] | None: ...

    def receiver(
        self, signal: Any, sender: Any, receiver: Callable[..., Any]
    ) -> AbstractContextManager[object] | None: ...


_lock = threading.Lock()
logger = logging.getLogger("fastsignal.monitoring")


#: The registered observers, read by every send that ``set_observed`` routed to
#: ``fastsignal._send_routes``; empty when nothing observes.
_observers: tuple[Observer, ...] = ()


def _publish(observers: tuple[Observer, ...]) -> None:
    global _observers
    _observers = observers
    _engine_py.set_observed(bool(observers))
    if engine is not _engine_py:
        engine.set_observed(bool(observers))


def add_observer(observer: Observer) -> None:
    """Start calling ``observer`` for every send (once, however often it is added)."""
    with _lock:
        if observer not in _observers:
            _publish((*_observers, observer))


def remove_observer(observer: Observer) -> None:
    """Stop calling ``observer``; removing one that is not registered does nothing."""
    with _lock:
        _publish(tuple(o for o in _observers if o is not observer))


@contextmanager
def observing(observer: Observer) -> Iterator[Observer]:
    """Register ``observer`` for the duration of a ``with`` block."""
    add_observer(observer)
    try:
        yield observer
    finally:
        remove_observer(observer)


# -- the observed path ---------------------------------------------------------------


class _Observed:
    """The observers' context managers around one send or one call, kept from harming it.

    An observer that raises (from ``send``/``receiver``, or entering or leaving
    its context manager) is logged on logger ``fastsignal.monitoring`` and left
    out; the send's own outcome is unchanged, and no observer can swallow a
    receiver's exception.
    """

    __slots__ = ("contexts", "factories")

    def __init__(self, factories: list[Callable[[], AbstractContextManager[object] | None]]):
        self.factories = factories
        self.contexts: list[AbstractContextManager[object]] = []

    def __enter__(self) -> None:
        for factory in self.factories:
            try:
                context = factory()
                if context is not None:
                    context.__enter__()
                    self.contexts.append(context)
            except Exception:
                logger.exception("fastsignal observer failed; it is skipped for this send")

    def __exit__(self, *exc_info: Any) -> None:
        for context in reversed(self.contexts):
            try:
                context.__exit__(*exc_info)
            except Exception:
                logger.exception("fastsignal observer failed; it is skipped for this send")


def _around_send(
    signal: Any, sender: Any, named: dict[str, Any], observers: tuple[Observer, ...]
) -> _Observed:
    return _Observed([functools.partial(o.send, signal, sender, named) for o in observers])


def _around_call(
    signal: Any, sender: Any, receiver: Receiver, observers: tuple[Observer, ...]
) -> _Observed:
    return _Observed([functools.partial(o.receiver, signal, sender, receiver) for o in observers])


def _sync_observed(
    receiver: Receiver, signal: Any, sender: Any, observers: tuple[Observer, ...]
) -> Receiver:
    @functools.wraps(receiver)
    def observed(**kwargs: Any) -> Any:
        with _around_call(signal, sender, receiver, observers):
            return receiver(**kwargs)

    return observed


def _async_observed(
    receiver: Receiver, signal: Any, sender: Any, observers: tuple[Observer, ...]
) -> Receiver:
    @functools.wraps(receiver)
    async def observed(**kwargs: Any) -> Any:
        with _around_call(signal, sender, receiver, observers):
            return await receiver(**kwargs)

    return observed


def _restore(originals: list[Receiver], responses: Responses) -> Responses:
    """Name the original receivers in ``responses`` (the calls went through wrappers)."""
    return [
        (original, response) for original, (_, response) in zip(originals, responses, strict=True)
    ]


def send_observed(
    signal: SignalLike,
    sender: Any,
    named: dict[str, Any],
    robust: bool,
    observers: tuple[Observer, ...],
) -> Responses:
    """``send``/``send_robust`` with each observer around the send and each call."""
    with _around_send(signal, sender, named, observers):
        sync_receivers, async_receivers = signal._live_receivers(sender)
        wrapped = [_sync_observed(r, signal, sender, observers) for r in sync_receivers]
        responses = call_receivers(signal, sender, named, sync_receivers, robust, wrapped)
        if async_receivers:
            from ._async import send_async_receivers

            wrapped = [_async_observed(r, signal, sender, observers) for r in async_receivers]
            responses += _restore(
                async_receivers, send_async_receivers(signal, sender, named, wrapped, robust)
            )
    return responses


async def asend_observed(
    signal: SignalLike,
    sender: Any,
    named: dict[str, Any],
    robust: bool,
    observers: tuple[Observer, ...],
    defer: DeferRoute,
) -> Responses:
    """``asend``/``asend_robust`` with each observer around the send and each call;
    ``defer`` schedules the receivers deferred to commit (see ``_async.asend_to``)."""
    from ._async import asend_to

    with _around_send(signal, sender, named, observers):
        sync_receivers, async_receivers = signal._live_receivers(sender)
        responses = await asend_to(
            signal,
            sender,
            named,
            robust,
            [_sync_observed(r, signal, sender, observers) for r in sync_receivers],
            [_async_observed(r, signal, sender, observers) for r in async_receivers],
            defer,
        )
    live = len(sync_receivers) + len(async_receivers)
    return _restore([*sync_receivers, *async_receivers], responses[:live]) + responses[live:]


# -- observe(): a recorder for tests and development -------------------------------


@dataclass
class ReceiverCall:
    """One receiver's call during a recorded send."""

    receiver: Callable[..., Any]
    #: Its qualified name, for messages.
    name: str
    #: Wall-clock seconds the call took (for an async receiver, until it finished).
    duration: float = 0.0
    #: The exception it raised, or ``None``.
    exception: BaseException | None = None


@dataclass
class SendRecord:
    """One recorded send."""

    signal: Any
    sender: Any
    #: The keyword arguments of the send (not including ``signal`` and ``sender``).
    kwargs: dict[str, Any]
    #: The receivers that ran, in the order they started.
    calls: list[ReceiverCall] = field(default_factory=list)
    #: Wall-clock seconds the whole send took.
    duration: float = 0.0
    #: The exception the send raised, or ``None``.
    exception: BaseException | None = None


_current_record: contextvars.ContextVar[SendRecord | None] = contextvars.ContextVar(
    "fastsignal_current_send", default=None
)


class _Recorder:
    def __init__(self, records: list[SendRecord]) -> None:
        self.records = records

    @contextmanager
    def send(self, signal: Any, sender: Any, kwargs: dict[str, Any]) -> Iterator[None]:
        record = SendRecord(signal, sender, dict(kwargs))
        self.records.append(record)
        token = _current_record.set(record)
        start = time.perf_counter()
        try:
            yield
        except BaseException as error:
            record.exception = error
            raise
        finally:
            record.duration = time.perf_counter() - start
            _current_record.reset(token)

    @contextmanager
    def receiver(self, signal: Any, sender: Any, receiver: Callable[..., Any]) -> Iterator[None]:
        record = _current_record.get()
        call = ReceiverCall(receiver, receiver_name(receiver))
        if record is not None:
            record.calls.append(call)
        start = time.perf_counter()
        try:
            yield
        except BaseException as error:
            call.exception = error
            raise
        finally:
            call.duration = time.perf_counter() - start


@contextmanager
def observe() -> Iterator[list[SendRecord]]:
    """Record every send made in the block; yield the list of ``SendRecord``.

    For tests and development::

        with observe() as sends:
            order_paid.send(sender=Shop, order=order)
        [send] = sends
        slowest = max(send.calls, key=lambda call: call.duration)
    """
    records: list[SendRecord] = []
    with observing(_Recorder(records)):
        yield records
