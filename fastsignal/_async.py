"""Running async receivers, with Django 6.1's semantics.

``fastsignal._send_routes`` imports this module on the first send that meets an
async receiver, and on the first ``Signal.asend``/``asend_robust``; a signal
without async receivers never runs any of it.

- ``send``/``send_robust`` call the sync receivers, then run the async ones
  through one ``async_to_sync`` call (``send_async_receivers``). Inside a
  running event loop that raises asgiref's ``RuntimeError``, as Django's does,
  after the sync receivers have run.
- ``asend``/``asend_robust`` call the sync receivers together in one
  ``sync_to_async`` call, then the async ones (``asend``).
- The async receivers of one send run concurrently in an ``asyncio.TaskGroup``
  whose tasks share one copy of the caller's ``contextvars`` context; what they
  set there is copied back into the caller's context afterwards, even when one
  fails.
- Responses are ``[(receiver, response), ...]``: sync receivers first, then
  async ones, each group in connection order.
- Without ``robust``, every async receiver is called (which returns an
  awaitable) before any is awaited, as in Django. The first failure cancels the
  receivers still running (``TaskGroup``); a lone failure is re-raised as
  itself, several as the ``ExceptionGroup``.
- With ``robust``, each receiver is called and awaited inside a wrapper that
  logs an ``Exception`` on logger ``django.dispatch`` and returns it as the
  response (``BaseException``s such as ``CancelledError`` propagate).
- Cancelling the task that awaits ``asend`` cancels the receivers still running
  and waits for them. Each receiver's coroutine is owned by its task, so one
  whose task is cancelled before its first step is closed by asyncio and does
  not warn "coroutine ... was never awaited"; the signal stays usable.

Deliberate differences from Django 6.1, all in corner cases:

- a context variable is copied back when its value is a different object
  (``is not``, as asgiref does), not when it compares unequal (``!=``): a value
  replaced by an equal but distinct object is copied too, and no ``__eq__`` of
  user objects runs;
- a lone failure is re-raised outside the ``except`` block that unwrapped it,
  so its ``__context__`` is not replaced by the exception group that held it;
- when calling a receiver raises instead of returning an awaitable, the
  coroutines already created for the receivers before it are closed (Django
  leaves them to warn).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync, sync_to_async

from ._common import call_receivers, log_robust_failure

if sys.version_info >= (3, 11):
    from asyncio import TaskGroup
else:  # the backports: the same class and the same exception groups
    from exceptiongroup import BaseExceptionGroup
    from taskgroup import TaskGroup

if TYPE_CHECKING:
    from collections.abc import Awaitable, Coroutine, Iterable, Sequence
    from typing import TypeVar

    from ._types import DeferRoute, Receiver, Responses, SignalLike

    _T = TypeVar("_T")

_MISSING = object()


def _restore_context(context: contextvars.Context) -> None:
    """Set, in the current context, every variable whose value in ``context`` differs."""
    for cvar, value in context.items():
        if cvar.get(_MISSING) is not value:
            cvar.set(value)


def _close(coros: Iterable[object]) -> None:
    """Close coroutines that no task took over, so that they do not warn."""
    for coro in coros:
        if asyncio.iscoroutine(coro):
            coro.close()


async def run_parallel(awaitables: Sequence[Awaitable[Any]]) -> list[Any]:
    """Await ``awaitables`` concurrently in one shared context; return their results in order.

    Raises a lone failure as itself, several as an ``ExceptionGroup``.
    """
    if not awaitables:
        return []
    # create_task() needs coroutines; a task owns its coroutine, and closes it if
    # it is cancelled before its first step.
    coros: list[Coroutine[Any, Any, Any]] = [
        a if asyncio.iscoroutine(a) else _await(a) for a in awaitables
    ]
    context = contextvars.copy_context()
    tasks: list[asyncio.Task[Any]] = []
    failure: BaseException | None = None
    try:
        async with TaskGroup() as group:
            for coro in coros:
                try:
                    tasks.append(group.create_task(coro, context=context))
                except RuntimeError as err:
                    # With an eager task factory (Python 3.12+) a receiver that
                    # fails inside create_task() shuts the group down, and the
                    # group raises that failure on exit. Any other cause is
                    # raised below.
                    failure = err
                    break
    except BaseExceptionGroup as group_error:
        if len(group_error.exceptions) != 1:
            raise
        failure = group_error.exceptions[0]
    finally:
        _close(coros[len(tasks) :])
        _restore_context(context)
    if failure is not None:
        # Raised here, not in the except block, so that its __context__ stays its own.
        try:
            raise failure
        finally:
            failure = None  # no cycle: frame -> failure -> traceback -> frame
    return [task.result() for task in tasks]


async def _await(awaitable: Awaitable[_T]) -> _T:
    """Wrap an awaitable that is not a coroutine."""
    return await awaitable


async def _call_robust(
    receiver: Receiver, signal: SignalLike, sender: Any, named: dict[str, Any]
) -> Any:
    """Call and await one receiver; log an ``Exception`` and return it as the response."""
    try:
        return await receiver(signal=signal, sender=sender, **named)
    except Exception as err:
        log_robust_failure(receiver, err)
        return err


async def call_async_receivers(
    signal: SignalLike,
    sender: Any,
    named: dict[str, Any],
    receivers: Sequence[Receiver],
    robust: bool,
) -> Responses:
    """Run async ``receivers`` concurrently; return ``[(receiver, response), ...]``."""
    awaitables: list[Awaitable[Any]]
    if robust:
        awaitables = [_call_robust(r, signal, sender, named) for r in receivers]
    else:
        awaitables = []
        try:
            for receiver in receivers:
                awaitables.append(receiver(signal=signal, sender=sender, **named))
        except BaseException:
            _close(awaitables)
            raise
    return list(zip(receivers, await run_parallel(awaitables), strict=True))


#: Both asgiref wrappers are stateless between calls, so one of each serves every send.
_send_async_receivers = async_to_sync(call_async_receivers)
_call_receivers_in_thread = sync_to_async(call_receivers)


def send_async_receivers(
    signal: SignalLike,
    sender: Any,
    named: dict[str, Any],
    receivers: Sequence[Receiver],
    robust: bool,
) -> Responses:
    """Run async ``receivers`` from synchronous code, as ``Signal.send`` does.

    Raises asgiref's ``RuntimeError`` when called inside a running event loop.
    """
    return _send_async_receivers(signal, sender, named, receivers, robust)


async def asend_to(
    signal: SignalLike,
    sender: Any,
    named: dict[str, Any],
    robust: bool,
    sync_receivers: list[Receiver],
    async_receivers: list[Receiver],
    defer: DeferRoute,
) -> Responses:
    """``asend`` to these live receivers, then schedule the deferred ones with ``defer``
    (``fastsignal._send_routes.defer``, passed down: this module does not import it)."""
    if sync_receivers:
        responses = await _call_receivers_in_thread(signal, sender, named, sync_receivers, robust)
    else:
        responses = []
    if async_receivers:
        responses.extend(await call_async_receivers(signal, sender, named, async_receivers, robust))
    deferred = signal._deferred_receivers(sender)
    if deferred:
        responses.extend(defer(signal, sender, named, deferred, robust))
    return responses
