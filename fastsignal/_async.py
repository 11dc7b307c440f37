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
- The async receivers of one send run concurrently, each in a task of its
  own, as in Django's ``asyncio.TaskGroup``; the tasks share one copy of the
  caller's ``contextvars`` context, and what they set there is copied back into
  the caller's context afterwards, even when one fails. The group is a lean
  equivalent of ``TaskGroup`` (``_Group``): the tasks' bodies report to it
  instead of a done callback per task, and it acts on the loop steps where
  TaskGroup would, so every step of every receiver, and the caller's resuming,
  fall on the same loop steps as with Django 6.1 (a test compares them; on
  Python 3.10 the ``taskgroup`` backport takes loop steps of its own to enter,
  so there the receivers start a step or two sooner than in Django's).
- Responses are ``[(receiver, response), ...]``: sync receivers first, then
  async ones, each group in connection order.
- Without ``robust``, every async receiver is called (which returns an
  awaitable) before any is awaited, as in Django. The first failure cancels the
  receivers still running (one loop step later, as ``TaskGroup`` does); a lone
  failure is re-raised as itself, several as an ``ExceptionGroup``.
- With ``robust``, each receiver is called and awaited inside a wrapper that
  logs an ``Exception`` on logger ``django.dispatch`` and returns it as the
  response (``BaseException``s such as ``CancelledError`` propagate).
- A receiver whose own task is cancelled (it raises ``CancelledError`` while the
  caller is not cancelled) is ignored, as by ``TaskGroup``: its response is
  ``None`` and the other receivers run on.
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
  leaves them to warn);
- when a receiver fails, TaskGroup cancels the caller's task until the others
  have ended, and on Python 3.11 leaves that cancel request pending
  (``cancelling()`` stays raised); fastsignal withdraws it, as Python 3.12's
  TaskGroup does.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync, sync_to_async

from ._common import call_receivers, log_robust_failure

if sys.version_info >= (3, 11):
    _plain_create_task = asyncio.BaseEventLoop.create_task

    def _task_maker(loop: asyncio.AbstractEventLoop) -> Callable[..., asyncio.Task[Any]]:
        """What makes the tasks of a TaskGroup: ``loop.create_task(coro, context=...)``.

        On a plain asyncio loop without a task factory, that method only makes an
        ``asyncio.Task``: the class itself then serves, without the method's
        Python frame per task.
        """
        if type(loop).create_task is _plain_create_task and loop.get_task_factory() is None:
            return functools.partial(asyncio.Task, loop=loop)
        return loop.create_task

else:  # the backports: TaskGroup's tasks (which take a context) and exception groups
    from exceptiongroup import BaseExceptionGroup
    from taskgroup.tasks import task_factory

    def _task_maker(loop: asyncio.AbstractEventLoop) -> Callable[..., asyncio.Task[Any]]:
        return functools.partial(task_factory, loop)


if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
    from typing import TypeVar

    from ._types import DeferRoute, Receiver, Responses, SignalLike

    _T = TypeVar("_T")
    #: A receiver's keyword arguments, or (signal, sender, named) to call it as Django does.
    _Arguments = dict[str, Any] | tuple[SignalLike, Any, dict[str, Any]]

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


class _Group:
    """What the tasks of one send's async receivers share: a lean ``asyncio.TaskGroup``.

    Each task's body (``_child`` or ``_robust_child``) tells the group when it
    ends and why, in place of TaskGroup's done callback per task (one more
    event-loop callback each). What the group does then, it does one loop step
    later, when TaskGroup's done callback would: wake the caller after the last
    task, or on a failure abort the group (cancel the unfinished tasks, and the
    caller's task, whose cancel request is withdrawn at the end, as TaskGroup
    does from Python 3.12), so every step of every task falls where it would.
    """

    __slots__ = (
        "aborting",
        "base_error",
        "errors",
        "failed",
        "loop",
        "parent",
        "parent_cancel_requested",
        "pending",
        "tasks",
        "unfinished",
        "waiter",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.tasks: list[asyncio.Task[Any]] = []
        self.pending = 0  # tasks whose body has not ended
        self.unfinished = 0  # once aborting: tasks whose done callback has not run
        self.waiter: asyncio.Future[None] | None = None  # the caller waits on it
        self.errors: list[BaseException] = []  # in the order the tasks failed
        self.base_error: BaseException | None = None
        self.failed = False
        self.aborting = False
        self.parent: asyncio.Task[Any] | None = None  # the caller's task
        self.parent_cancel_requested = False

    def body_ended(self) -> None:
        """A task's body ended; after the last, wake the caller on the next loop step."""
        self.pending -= 1
        if not self.pending and not self.aborting:
            self.loop.call_soon(self.wake)  # when TaskGroup's done callback would

    def fail(self, err: BaseException) -> None:
        """Record a task's failure; abort the group on the next loop step."""
        self.errors.append(err)
        if self.base_error is None and isinstance(err, (SystemExit, KeyboardInterrupt)):
            self.base_error = err
        if not self.failed:
            self.failed = True
            self.loop.call_soon(self._abort_on_failure)

    def _abort_on_failure(self) -> None:
        if self.aborting:
            return
        parent = self.parent
        # The backports' TaskGroup (Python 3.10) cancels and uncancels its own tasks only.
        self.abort()
        if parent is not None and not parent.done() and hasattr(parent, "uncancel"):
            self.parent_cancel_requested = True
            parent.cancel()  # which wakes the caller
        else:
            self.wake()

    def abort(self) -> None:
        """Cancel the unfinished tasks; from now on, wait for them as TaskGroup does.

        That is, until their done callbacks have run: then the caller resumes
        on the same loop step as with a TaskGroup.
        """
        if self.aborting:
            return
        self.aborting = True
        for task in self.tasks:
            if not task.done():
                task.cancel()
                self.unfinished += 1
                task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.unfinished -= 1
        if not self.unfinished:
            self.wake()

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


async def _child(group: _Group, awaitable: Awaitable[_T]) -> _T:
    """The body of one task of ``group``: await ``awaitable``, report how it ended."""
    try:
        return await awaitable
    except asyncio.CancelledError:
        raise
    except BaseException as err:
        group.fail(err)
        raise
    finally:
        group.body_ended()


async def _robust_child(group: _Group, receiver: Receiver, arguments: _Arguments) -> Any:
    """The body of one task of ``group`` for ``asend_robust``: call and await
    ``receiver``; log an ``Exception`` and return it as the response."""
    try:
        if isinstance(arguments, dict):
            return await receiver(**arguments)
        signal, sender, named = arguments
        return await receiver(signal=signal, sender=sender, **named)
    except asyncio.CancelledError:
        raise
    except Exception as err:
        log_robust_failure(receiver, err)
        return err
    except BaseException as err:
        group.fail(err)
        raise
    finally:
        group.body_ended()


async def _run_group(
    group: _Group, bodies: list[Coroutine[Any, Any, Any]], awaitables: Sequence[object]
) -> list[Any]:
    """Run ``bodies`` (of ``group``'s tasks) concurrently as a TaskGroup does; return their results.

    The tasks share one copy of the caller's context, copied back afterwards.
    The first failure cancels the others, and the caller waits for all of
    them. Raises a lone failure as itself, several as an ``ExceptionGroup``.
    ``awaitables`` are what the bodies await: those whose task never started
    are closed, so that they do not warn "never awaited".
    """
    context = contextvars.copy_context()
    make_task = _task_maker(group.loop)
    tasks = group.tasks
    group.parent = asyncio.current_task()
    cancelled: BaseException | None = None
    create_error: BaseException | None = None
    try:
        try:
            for body in bodies:
                tasks.append(make_task(body, context=context))
                group.pending += 1  # after: an eager task may have ended already
                if group.failed:
                    # With an eager task factory (Python 3.12+) a receiver can fail
                    # inside create_task(): TaskGroup then refuses further tasks.
                    group.abort()
                    break
        except BaseException as err:  # e.g. from a task factory: as in a TaskGroup's body
            create_error = err
            group.abort()
        if group.pending and not group.aborting:
            group.waiter = group.loop.create_future()
            try:
                await group.waiter
            except asyncio.CancelledError as err:
                if not group.aborting:
                    cancelled = err
                    group.abort()
        # Once aborting, a cancelled task may end without taking a step: the
        # tasks' done callbacks count them.
        while group.unfinished:
            group.waiter = group.loop.create_future()
            try:
                await group.waiter
            except asyncio.CancelledError:  # already shutting down: ignored, as by TaskGroup
                pass
        if group.parent_cancel_requested and group.parent.uncancel() == 0:  # type: ignore[union-attr]
            cancelled = None
    finally:
        if group.aborting:
            _close(bodies[len(tasks) :])
            _close(awaitables[len(tasks) :])
            _close(a for a, task in zip(awaitables, tasks, strict=False) if task.cancelled())
        _restore_context(context)
    errors = group.errors
    if create_error is not None:
        errors.append(create_error)
        if group.base_error is None and isinstance(create_error, (SystemExit, KeyboardInterrupt)):
            group.base_error = create_error
    if errors:
        for task in tasks:  # the errors are in hand: keep asyncio from logging them
            if not task.cancelled():
                task.exception()
        group.errors = []
        if group.base_error is not None:
            raise group.base_error
        if len(errors) == 1:
            # Raised here, not in an except block, so that its __context__ stays its own.
            try:
                raise errors[0]
            finally:
                errors = []  # no cycle: frame -> error -> traceback -> frame
        raise BaseExceptionGroup("unhandled errors in a TaskGroup", errors) from None
    if cancelled is not None:
        raise cancelled
    # A task cancelled from within (its receiver raised CancelledError, or
    # cancelled its own task) is ignored by TaskGroup: Django's response is None.
    return [None if task.cancelled() else task.result() for task in tasks]


async def call_async_receivers(
    signal: SignalLike,
    sender: Any,
    named: dict[str, Any],
    receivers: Sequence[Receiver],
    robust: bool,
) -> Responses:
    """Run async ``receivers`` concurrently; return ``[(receiver, response), ...]``."""
    # The keyword arguments, built once: receiver(**arguments) gives the receiver
    # its own copy. A "signal" among the named ones makes each call raise
    # Django's TypeError (multiple values for 'signal'): such sends call as Django does.
    arguments: _Arguments
    if "signal" in named:
        arguments = (signal, sender, named)
    else:
        arguments = {"signal": signal, "sender": sender, **named}
    group = _Group(asyncio.get_running_loop())
    if robust:
        # Each receiver is called inside its task, as in Django.
        bodies = [_robust_child(group, r, arguments) for r in receivers]
        results = await _run_group(group, bodies, ())
    else:
        # Every receiver is called before any task starts, as in Django.
        awaitables: list[Awaitable[Any]] = []
        try:
            for receiver in receivers:
                if isinstance(arguments, dict):
                    awaitables.append(receiver(**arguments))
                else:
                    awaitables.append(receiver(signal=signal, sender=sender, **named))
        except BaseException:
            _close(awaitables)
            raise
        results = await _run_group(group, [_child(group, a) for a in awaitables], awaitables)
    return list(zip(receivers, results, strict=True))


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
