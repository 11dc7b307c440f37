"""Async receivers: ``asend``, ``asend_robust``, and async receivers in ``send``/``send_robust``.

Every test takes the ``engine`` fixture, so it runs on the compiled engine and on
the pure-Python one. The target is Django 6.1's behaviour:

- sync receivers first (in ``asend``: all of them in one ``sync_to_async`` call),
  then the async ones, concurrently in an ``asyncio.TaskGroup``;
- results: sync receivers first, then async ones, each group in connection order;
- the async receivers share one copy of the caller's ``contextvars`` context, and
  what they set is visible to the caller afterwards;
- a lone failure is re-raised as itself, several as an ``ExceptionGroup``;
- the ``_robust`` variants log each failure on logger ``django.dispatch`` and
  return it as the receiver's response.

The first part covers, in our own words, every behaviour of Django 6.1's
``AsyncReceiversTests`` and ``TestReceiversContextVarsSharing``; the rest covers
what those tests leave out (detection, ordering, errors, cancellation) and
compares with Django's ``Signal`` where Django 5.2 and 6.1 agree. Django 6.1 is
compared directly when it is installed, or when ``FASTSIGNAL_DJANGO61_DISPATCHER``
names the file ``django/dispatch/dispatcher.py`` of a Django 6.1 source tree.

pytest-asyncio is not used: each test drives its coroutines with ``asyncio.run``.
"""

import asyncio
import contextlib
import contextvars
import functools
import logging
import sys
import threading
import traceback
import warnings

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup

import django
import django.dispatch
import pytest
from asgiref.sync import markcoroutinefunction, sync_to_async
from django.test.utils import override_settings

from helpers import Sender, collect, django61_signal_class

# -- helpers -----------------------------------------------------------------------------


class SyncHandler:
    """A sync receiver that counts its calls (as in Django's tests)."""

    def __init__(self):
        self.param = 0

    def __call__(self, **kwargs):
        self.param += 1
        return self.param


class AsyncHandler:
    """An async receiver object, marked with ``markcoroutinefunction`` (as in Django's tests)."""

    def __init__(self):
        self.param = 0
        markcoroutinefunction(self)

    async def __call__(self, **kwargs):
        self.param += 1
        return self.param


class CtxSyncHandler:
    """Increments a context variable and records what it saw."""

    def __init__(self, ctx_var):
        self.ctx_var = ctx_var
        self.values = []

    def __call__(self, **kwargs):
        self.ctx_var.set(self.ctx_var.get() + 1)
        self.values.append(self.ctx_var.get())
        return self.ctx_var.get()


class CtxAsyncHandler(CtxSyncHandler):
    def __init__(self, ctx_var):
        super().__init__(ctx_var)
        markcoroutinefunction(self)

    async def __call__(self, **kwargs):
        return super().__call__(**kwargs)


class ReceiverError(Exception):
    pass


async def async_one(**kwargs):
    return "async_one"


async def async_two(**kwargs):
    await asyncio.sleep(0)
    return "async_two"


async def async_three(val=None, **kwargs):
    return ("async_three", val)


def sync_one(**kwargs):
    return "sync_one"


def sync_two(val=None, **kwargs):
    return ("sync_two", val)


ASYNC_FAILURE = ReceiverError("async failure")
SYNC_FAILURE = ReceiverError("sync failure")


async def async_fails(**kwargs):
    raise ASYNC_FAILURE.with_traceback(None)  # one instance, so results compare equal


def sync_fails(**kwargs):
    raise SYNC_FAILURE.with_traceback(None)


@contextlib.contextmanager
def no_unawaited_coroutines():
    """Fail if a coroutine is garbage collected without having been awaited."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        collect()
    unawaited = [w for w in caught if "was never awaited" in str(w.message)]
    assert not unawaited, [str(w.message) for w in unawaited]


def send_with(method, signal, sender, **named):
    """Send with ``method`` ('send', 'send_robust', 'asend', 'asend_robust') from sync code."""
    if method.startswith("a"):
        return asyncio.run(getattr(signal, method)(sender, **named))
    return getattr(signal, method)(sender, **named)


ALL_METHODS = ["send", "send_robust", "asend", "asend_robust"]
ROBUST_METHODS = ["send_robust", "asend_robust"]
STRICT_METHODS = ["send", "asend"]


@pytest.fixture
def sig(engine):
    return engine.Signal()


@pytest.fixture(scope="session")
def django61_signal():
    signal_class = django61_signal_class()
    if signal_class is None:
        pytest.skip(
            "Django 6.1 is not installed and FASTSIGNAL_DJANGO61_DISPATCHER does not name "
            "its django/dispatch/dispatcher.py"
        )
    return signal_class


# -- Django's AsyncReceiversTests, in our words --------------------------------------------


@pytest.mark.parametrize("method", STRICT_METHODS)
def test_sync_and_async_receivers(sig, method):
    sync_handler = SyncHandler()
    async_handler = AsyncHandler()
    sig.connect(sync_handler)
    sig.connect(async_handler)
    assert send_with(method, sig, Sender) == [(sync_handler, 1), (async_handler, 1)]


@pytest.mark.parametrize("method", ROBUST_METHODS)
def test_robust_failing_async_receiver_sync_ones_first(sig, method, caplog):
    failure = ReceiverError()

    async def failing_async_handler(**kwargs):
        raise failure

    sync_handler = SyncHandler()
    async_handler = AsyncHandler()
    sig.connect(failing_async_handler)
    sig.connect(async_handler)
    sig.connect(sync_handler)
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        result = send_with(method, sig, Sender)
    # Sync receivers come first, whatever the connection order.
    assert result == [
        (sync_handler, 1),
        (failing_async_handler, failure),
        (async_handler, 1),
    ]


@pytest.mark.parametrize("method", ALL_METHODS)
def test_only_async_receivers(sig, method):
    async_handler = AsyncHandler()
    sig.connect(async_handler)
    assert send_with(method, sig, Sender) == [(async_handler, 1)]


# -- Django 6.1's TestReceiversContextVarsSharing, in our words ----------------------------


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize(
    "kinds",
    [
        (CtxAsyncHandler, CtxAsyncHandler),
        (CtxSyncHandler, CtxSyncHandler),
        (CtxSyncHandler, CtxAsyncHandler),
    ],
    ids=["async", "sync", "mix"],
)
def test_receivers_share_the_context_and_changes_are_visible_after(sig, method, kinds):
    ctx_var = contextvars.ContextVar("ctx_var", default=0)
    handler1, handler2 = (kind(ctx_var) for kind in kinds)
    sig.connect(handler1)
    sig.connect(handler2)

    if method.startswith("a"):

        async def scenario():
            ctx_var.set(1)
            await getattr(sig, method)(Sender)
            return ctx_var.get()

        after = asyncio.run(scenario())
    else:

        def scenario():
            ctx_var.set(1)
            getattr(sig, method)(Sender)
            return ctx_var.get()

        after = contextvars.copy_context().run(scenario)

    assert len(handler1.values) == 1
    assert len(handler2.values) == 1
    assert sorted([*handler1.values, *handler2.values]) == [2, 3]
    assert after == 3


# -- detection, at connect time ------------------------------------------------------------


class AsyncMethods:
    async def handler(self, **kwargs):
        return "method"

    def sync_handler(self, **kwargs):
        return "sync method"


def test_coroutine_function_is_async(sig):
    sig.connect(async_one)
    sig.connect(sync_one)
    assert [item[3] for item in sig.receivers] == [True, False]
    assert sig._live_receivers(None) == ([sync_one], [async_one])


def test_live_receivers_returns_two_lists(sig):
    sig.connect(async_one)
    sig.connect(sync_one)
    sync_list, async_list = sig._live_receivers(None)
    assert type(sync_list) is list and type(async_list) is list
    fresh = type(sig)()
    assert fresh._live_receivers(None) == ([], [])


def test_bound_async_method_is_async_and_weakly_held(sig):
    obj = AsyncMethods()
    sig.connect(obj.handler)
    sig.connect(obj.sync_handler)
    assert [item[3] for item in sig.receivers] == [True, False]
    assert sig._live_receivers(None) == ([obj.sync_handler], [obj.handler])
    assert asyncio.run(sig.asend(None)) == [
        (obj.sync_handler, "sync method"),
        (obj.handler, "method"),
    ]
    assert sig.send(None) == [(obj.sync_handler, "sync method"), (obj.handler, "method")]
    del obj
    collect()
    assert not sig.has_listeners()
    assert sig._live_receivers(None) == ([], [])
    assert asyncio.run(sig.asend(None)) == []
    assert sig.send(None) == []


def test_marked_callables_are_async(sig):
    handler = AsyncHandler()

    def returns_awaitable(**kwargs):
        return async_one()

    markcoroutinefunction(returns_awaitable)
    sig.connect(handler)
    sig.connect(returns_awaitable)
    assert sig._live_receivers(None) == ([], [handler, returns_awaitable])
    assert asyncio.run(sig.asend(None)) == [(handler, 1), (returns_awaitable, "async_one")]


def test_unmarked_object_with_async_call_is_sync_as_in_django(sig):
    class Unmarked:
        async def __call__(self, **kwargs):
            return "never awaited by the signal"

    handler = Unmarked()
    sig.connect(handler)
    assert sig._live_receivers(None) == ([handler], [])
    [(_, response)] = sig.send(None)
    assert asyncio.iscoroutine(response)
    assert asyncio.run(response) == "never awaited by the signal"


def test_partial_and_sync_to_async_are_async(sig):
    partial = functools.partial(async_three, val="partial")
    wrapped = sync_to_async(sync_two)
    sig.connect(partial)
    sig.connect(wrapped)
    assert sig._live_receivers(None) == ([], [partial, wrapped])
    assert asyncio.run(sig.asend(None)) == [
        (partial, ("async_three", "partial")),
        (wrapped, ("sync_two", None)),
    ]


def test_awaitable_that_is_not_a_coroutine(sig):
    class Ready:
        def __await__(self):
            yield from asyncio.sleep(0).__await__()
            return "ready"

    def returns_ready(**kwargs):
        return Ready()

    markcoroutinefunction(returns_ready)
    sig.connect(returns_ready)
    assert sig.send(None) == [(returns_ready, "ready")]
    assert asyncio.run(sig.asend(None)) == [(returns_ready, "ready")]


@override_settings(DEBUG=True)
def test_debug_checks_apply_to_async_receivers(sig):
    async def no_kwargs(sender):
        pass

    with pytest.raises(ValueError, match=r"must accept keyword arguments \(\*\*kwargs\)"):
        sig.connect(no_kwargs)
    sig.connect(async_one)
    assert sig._live_receivers(None) == ([], [async_one])


# -- calls, order and concurrency ----------------------------------------------------------


@pytest.mark.parametrize("method", ALL_METHODS)
def test_receivers_get_signal_sender_and_named_arguments(sig, method):
    seen = []

    async def async_rec(**kwargs):
        seen.append(("async", kwargs))

    def sync_rec(**kwargs):
        seen.append(("sync", kwargs))

    sig.connect(async_rec)
    sig.connect(sync_rec)
    send_with(method, sig, Sender, a=1, b="two")
    expected = {"signal": sig, "sender": Sender, "a": 1, "b": "two"}
    assert seen == [("sync", expected), ("async", expected)]


@pytest.mark.parametrize("method", ALL_METHODS)
def test_results_sync_first_then_async_in_connection_order(sig, method):
    other = object()
    sig.connect(async_one)  # any sender
    sig.connect(sync_one, sender=Sender)
    sig.connect(async_two, sender=Sender)
    sig.connect(sync_two)  # any sender
    sig.connect(async_three, sender=other)
    sig.connect(async_three)  # any sender: a different lookup key
    assert send_with(method, sig, Sender, val=7) == [
        (sync_one, "sync_one"),
        (sync_two, ("sync_two", 7)),
        (async_one, "async_one"),
        (async_two, "async_two"),
        (async_three, ("async_three", 7)),
    ]
    assert send_with(method, sig, other, val=8) == [
        (sync_two, ("sync_two", 8)),
        (async_one, "async_one"),
        (async_three, ("async_three", 8)),
        (async_three, ("async_three", 8)),
    ]
    assert send_with(method, sig, None, val=9) == [
        (sync_two, ("sync_two", 9)),
        (async_one, "async_one"),
        (async_three, ("async_three", 9)),
    ]


@pytest.mark.parametrize("method", ALL_METHODS)
def test_async_receivers_run_concurrently_results_keep_connection_order(sig, method):
    steps = []
    released = asyncio.Event()  # binds to the loop that first waits on it

    async def first(**kwargs):
        steps.append("first waits")
        await asyncio.wait_for(released.wait(), 5)
        steps.append("first done")
        return "first"

    async def second(**kwargs):
        steps.append("second releases")
        released.set()
        return "second"

    sig.connect(first)
    sig.connect(second)
    assert send_with(method, sig, None) == [(first, "first"), (second, "second")]
    assert steps == ["first waits", "second releases", "first done"]


@pytest.mark.parametrize("method", ["asend", "asend_robust"])
def test_asend_runs_sync_receivers_first_in_one_thread(sig, method):
    calls = []

    def sync_a(**kwargs):
        calls.append(("sync_a", threading.get_ident()))

    def sync_b(**kwargs):
        calls.append(("sync_b", threading.get_ident()))

    async def async_a(**kwargs):
        calls.append(("async_a", threading.get_ident()))

    sig.connect(async_a)
    sig.connect(sync_a)
    sig.connect(sync_b)

    async def scenario():
        await getattr(sig, method)(None)
        return threading.get_ident()

    loop_thread = asyncio.run(scenario())
    assert [name for name, _ in calls] == ["sync_a", "sync_b", "async_a"]
    assert calls[0][1] == calls[1][1] != loop_thread
    assert calls[2][1] == loop_thread


def test_no_receivers(sig):
    assert asyncio.run(sig.asend(None)) == []
    assert asyncio.run(sig.asend_robust(None)) == []


def test_live_receivers_override_is_honoured(engine):
    class Monitored(engine.Signal):
        def _live_receivers(self, sender):
            sync_receivers, async_receivers = super()._live_receivers(sender)
            return sync_receivers, [wrap(r) for r in async_receivers]

    wrapped = {}

    def wrap(receiver):
        async def wrapper(**kwargs):
            return ("wrapped", await receiver(**kwargs))

        wrapped[receiver] = wrapper
        return wrapper

    sig = Monitored()
    sig.connect(async_one)
    sig.connect(sync_one)
    result = asyncio.run(sig.asend(None))
    assert result == [(sync_one, "sync_one"), (wrapped[async_one], ("wrapped", "async_one"))]
    result = sig.send(None)
    assert result == [(sync_one, "sync_one"), (wrapped[async_one], ("wrapped", "async_one"))]


# -- send() inside a running event loop ---------------------------------------------------


def _send_inside_loop(signal_class, method):
    calls = []

    def sync_rec(**kwargs):
        calls.append("sync")

    async def async_rec(**kwargs):
        calls.append("async")

    signal = signal_class()
    signal.connect(sync_rec)
    signal.connect(async_rec)

    async def scenario():
        with pytest.raises(RuntimeError) as info:
            getattr(signal, method)(None)
        return str(info.value)

    with no_unawaited_coroutines():
        message = asyncio.run(scenario())
    return message, calls


@pytest.mark.parametrize("method", ["send", "send_robust"])
def test_send_inside_running_loop_raises_like_django(engine, method):
    ours = _send_inside_loop(engine.Signal, method)
    theirs = _send_inside_loop(django.dispatch.Signal, method)
    assert ours == theirs
    message, calls = ours
    assert "You cannot use AsyncToSync in the same thread as an async event loop" in message
    assert calls == ["sync"]  # the sync receivers had run, as in Django


def test_send_inside_running_loop_without_async_receivers_for_that_sender(sig):
    other = object()
    sig.connect(async_one, sender=other)
    sig.connect(sync_one)

    async def scenario():
        return sig.send(Sender), sig.send_robust(Sender)

    assert asyncio.run(scenario()) == ([(sync_one, "sync_one")], [(sync_one, "sync_one")])


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", STRICT_METHODS)
def test_lone_failure_is_raised_unwrapped(sig, method):
    cancelled = []

    async def slow(**kwargs):
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise

    sig.connect(slow)
    sig.connect(async_fails)
    sig.connect(sync_one)
    with pytest.raises(ReceiverError) as info:
        send_with(method, sig, None)
    assert info.value is ASYNC_FAILURE
    assert cancelled == ["slow"]  # the first failure cancels the others (TaskGroup)
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "async_fails" in frames


@pytest.mark.parametrize("method", STRICT_METHODS)
def test_lone_failure_keeps_its_own_chain(sig, method):
    async def chained(**kwargs):
        try:
            {}["missing"]
        except KeyError as err:
            raise ReceiverError("chained") from err

    sig.connect(chained)
    with pytest.raises(ReceiverError) as info:
        send_with(method, sig, None)
    assert isinstance(info.value.__cause__, KeyError)
    assert isinstance(info.value.__context__, KeyError)


@pytest.mark.parametrize("method", STRICT_METHODS)
def test_several_failures_raise_an_exception_group(sig, method):
    other_failure = ValueError("other")

    async def fails_too(**kwargs):
        raise other_failure

    sig.connect(async_fails)
    sig.connect(async_one)
    sig.connect(fails_too)
    with pytest.raises(ExceptionGroup) as info:
        send_with(method, sig, None)
    assert list(info.value.exceptions) == [ASYNC_FAILURE, other_failure]


@pytest.mark.parametrize("method", STRICT_METHODS)
def test_sync_failure_stops_before_async_receivers(sig, method):
    called = []

    async def async_rec(**kwargs):
        called.append("async")

    sig.connect(async_rec)
    sig.connect(sync_fails)
    with no_unawaited_coroutines(), pytest.raises(ReceiverError) as info:
        send_with(method, sig, None)
    assert info.value is SYNC_FAILURE
    assert called == []


class RaisesWhenCalled:
    """Marked async, but raises before returning an awaitable."""

    def __init__(self):
        markcoroutinefunction(self)

    def __call__(self, **kwargs):
        raise SYNC_FAILURE.with_traceback(None)


@pytest.mark.parametrize("method", STRICT_METHODS)
def test_receiver_raising_when_called(sig, method):
    started = []

    async def earlier(**kwargs):
        started.append("earlier")

    raiser = RaisesWhenCalled()
    sig.connect(earlier)
    sig.connect(raiser)
    with no_unawaited_coroutines(), pytest.raises(ReceiverError) as info:
        send_with(method, sig, None)
    assert info.value is SYNC_FAILURE
    assert started == []  # as in Django: every receiver is called before any is awaited


@pytest.mark.parametrize("method", ROBUST_METHODS)
def test_robust_catches_receiver_raising_when_called(sig, method, caplog):
    raiser = RaisesWhenCalled()

    def not_awaitable(**kwargs):
        return 42

    markcoroutinefunction(not_awaitable)
    sig.connect(raiser)
    sig.connect(not_awaitable)
    sig.connect(async_one)
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        result = send_with(method, sig, None)
    assert result[0] == (raiser, SYNC_FAILURE)
    assert result[1][0] is not_awaitable and isinstance(result[1][1], TypeError)
    assert result[2] == (async_one, "async_one")
    assert len(caplog.records) == 2


@pytest.mark.parametrize("method", ROBUST_METHODS)
def test_robust_logs_each_failure(sig, method, caplog):
    sig.connect(async_fails)
    sig.connect(sync_fails)
    sig.connect(async_one)
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        result = send_with(method, sig, None)
    assert result == [
        (sync_fails, SYNC_FAILURE),
        (async_fails, ASYNC_FAILURE),
        (async_one, "async_one"),
    ]
    records = [r for r in caplog.records if r.name == "django.dispatch"]
    assert [r.getMessage() for r in records] == [
        "Error calling sync_fails in Signal.send_robust() (sync failure)",
        "Error calling async_fails in Signal.send_robust() (async failure)",
    ]
    assert [r.levelno for r in records] == [logging.ERROR, logging.ERROR]
    assert [r.exc_info[1] for r in records] == [SYNC_FAILURE, ASYNC_FAILURE]


@pytest.mark.parametrize("method", ROBUST_METHODS)
def test_robust_does_not_catch_base_exceptions(sig, method):
    async def exits(**kwargs):
        raise SystemExit(3)

    sig.connect(exits)
    with pytest.raises(SystemExit):
        send_with(method, sig, None)


# -- contextvars ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ALL_METHODS)
def test_receivers_see_the_callers_values(sig, method):
    var = contextvars.ContextVar("var")
    seen = []

    async def async_rec(**kwargs):
        seen.append(var.get())

    def sync_rec(**kwargs):
        seen.append(var.get())

    sig.connect(async_rec)
    sig.connect(sync_rec)

    async def in_loop():
        var.set("caller")
        await getattr(sig, method)(None)

    def in_sync():
        var.set("caller")
        getattr(sig, method)(None)

    if method.startswith("a"):
        asyncio.run(in_loop())
    else:
        contextvars.copy_context().run(in_sync)
    assert seen == ["caller", "caller"]


@pytest.mark.parametrize("method", ALL_METHODS)
def test_concurrent_async_receivers_share_one_context(sig, method):
    var = contextvars.ContextVar("var", default="unset")

    async def setter(**kwargs):
        var.set("set by setter")
        await asyncio.sleep(0)

    async def reader(**kwargs):
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return var.get()

    sig.connect(setter)
    sig.connect(reader)

    async def in_loop():
        result = await getattr(sig, method)(None)
        return result, var.get()

    def in_sync():
        return getattr(sig, method)(None), var.get()

    if method.startswith("a"):
        result, after = asyncio.run(in_loop())
    else:
        result, after = contextvars.copy_context().run(in_sync)
    assert result == [(setter, None), (reader, "set by setter")]
    assert after == "set by setter"


def test_context_changes_visible_even_after_a_failure(sig):
    var = contextvars.ContextVar("var", default="unset")

    async def sets_then_fails(**kwargs):
        var.set("changed")
        raise ASYNC_FAILURE.with_traceback(None)

    sig.connect(sets_then_fails)

    async def scenario():
        with pytest.raises(ReceiverError):
            await sig.asend(None)
        return var.get()

    assert asyncio.run(scenario()) == "changed"


def test_context_value_replaced_by_an_equal_object_is_copied_back(sig):
    # Deliberate difference from Django 6.1 (which compares with ``!=``): the
    # caller gets the receiver's object, as asgiref's own context copying does.
    var = contextvars.ContextVar("var")
    replacement = [1, 2]

    async def replaces(**kwargs):
        var.set(replacement)

    sig.connect(replaces)

    async def scenario():
        var.set([1, 2])
        await sig.asend(None)
        return var.get()

    assert asyncio.run(scenario()) is replacement


# -- cancellation ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["asend", "asend_robust"])
def test_cancelling_asend_cancels_running_receivers(sig, method):
    started, cancelled = [], []

    async def slow(**kwargs):
        started.append("slow")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise

    sig.connect(async_one)
    sig.connect(slow)
    sig.connect(sync_one)

    async def scenario():
        task = asyncio.create_task(getattr(sig, method)(None))
        while not started:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cancelled == ["slow"]
        assert asyncio.all_tasks() == {asyncio.current_task()}
        # The signal is still usable.
        sig.disconnect(slow)
        return await getattr(sig, method)(None)

    with no_unawaited_coroutines():
        result = asyncio.run(scenario())
    assert result == [(sync_one, "sync_one"), (async_one, "async_one")]
    assert sig.send(None) == [(sync_one, "sync_one"), (async_one, "async_one")]


def test_timeout_cancels_receivers(sig):
    cancelled = []

    async def slow(**kwargs):
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise

    sig.connect(slow)

    async def scenario():
        with pytest.raises(asyncio.TimeoutError):  # the builtin TimeoutError from 3.11
            await asyncio.wait_for(sig.asend(None), 0.01)
        assert asyncio.all_tasks() == {asyncio.current_task()}

    with no_unawaited_coroutines():
        asyncio.run(scenario())
    assert cancelled == ["slow"]


def test_cancelling_asend_during_sync_receivers(sig):
    entered, release = threading.Event(), threading.Event()
    called = []

    def blocking(**kwargs):
        entered.set()
        release.wait(5)
        return "blocking"

    async def async_rec(**kwargs):
        called.append("async")

    sig.connect(blocking)
    sig.connect(async_rec)

    async def scenario():
        task = asyncio.create_task(sig.asend(None))
        await asyncio.get_running_loop().run_in_executor(None, entered.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert called == []  # never called, so no coroutine left unawaited
        release.set()
        return await sig.asend(None)

    with no_unawaited_coroutines():
        result = asyncio.run(scenario())
    assert result == [(blocking, "blocking"), (async_rec, None)]


@pytest.mark.parametrize("method", ["asend", "asend_robust"])
def test_receivers_that_never_started_do_not_warn(sig, method):
    # A receiver raising KeyboardInterrupt stops the loop before the other
    # receivers' tasks take their first step; asyncio.run then cancels them.
    started = []

    async def interrupts(**kwargs):
        started.append("interrupts")
        raise KeyboardInterrupt

    async def never_starts(**kwargs):
        started.append("never_starts")

    sig.connect(interrupts)
    sig.connect(never_starts)
    logging.getLogger("asyncio").disabled = True  # "Task exception was never retrieved"
    try:
        with no_unawaited_coroutines(), pytest.raises(KeyboardInterrupt):
            asyncio.run(getattr(sig, method)(None))
    finally:
        logging.getLogger("asyncio").disabled = False
    assert started == ["interrupts"]
    # The signal is still usable.
    sig.disconnect(interrupts)
    assert asyncio.run(sig.asend(None)) == [(never_starts, None)]


@pytest.mark.skipif(
    sys.version_info < (3, 13),
    reason="eager tasks are 3.12+, and 3.12.1's TaskGroup leaves the parent task's cancel "
    "request pending once an eager child failed (with Django's implementation too)",
)
def test_eager_task_factory(sig):
    # Eager tasks take their first step inside create_task(): a receiver that
    # fails there shuts the TaskGroup down before the next task is created.
    # Django 6.1 then raises a group of two (the failure and TaskGroup's
    # RuntimeError) and leaves the next receiver's coroutine unawaited.
    async def other(**kwargs):
        await asyncio.sleep(0)

    sig.connect(async_fails)
    sig.connect(other)

    async def scenario():
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
        with pytest.raises(ReceiverError) as info:
            await sig.asend(None)
        return info.value

    with no_unawaited_coroutines():
        assert asyncio.run(scenario()) is ASYNC_FAILURE


# -- against Django's Signal ---------------------------------------------------------------


def _connect_mix(signal):
    other = Sender()
    signal.connect(async_one)
    signal.connect(sync_one, sender=Sender)
    signal.connect(async_two, sender=Sender)
    signal.connect(sync_two)
    signal.connect(async_three, sender=other)
    signal.connect(async_fails, sender=Sender)
    signal.connect(sync_fails, sender=other)
    return other


def _outcomes(signal_class, methods, senders):
    signal = signal_class()
    other = _connect_mix(signal)
    outcomes = []
    for method in methods:
        for sender in senders:
            sender = other if sender == "other" else sender
            try:
                outcomes.append(send_with(method, signal, sender, val=method))
            except Exception as err:
                outcomes.append(err)
    return outcomes


def test_results_match_django(engine, caplog):
    # Results and their order are the same in Django 5.2 and 6.1.
    senders = [Sender, "other", None]
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        ours = _outcomes(engine.Signal, ALL_METHODS, senders)
        our_logs = [(r.getMessage(), r.exc_info[1]) for r in caplog.records]
        caplog.clear()
        theirs = _outcomes(django.dispatch.Signal, ALL_METHODS, senders)
        their_logs = [(r.getMessage(), r.exc_info[1]) for r in caplog.records]
    assert ours == theirs
    assert our_logs == their_logs
    assert len(our_logs) == 4


def test_semantics_match_django_61(engine, django61_signal, caplog):
    senders = [Sender, "other", None]
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        assert _outcomes(engine.Signal, ALL_METHODS, senders) == _outcomes(
            django61_signal, ALL_METHODS, senders
        )

    def failures(signal_class, method, receivers):
        signal = signal_class()
        for receiver in receivers:
            signal.connect(receiver)
        try:
            send_with(method, signal, None)
        except BaseException as err:
            if isinstance(err, BaseExceptionGroup):
                return type(err), list(err.exceptions)
            return type(err), err
        return None

    async def fails_too(**kwargs):
        raise SYNC_FAILURE.with_traceback(None)

    for method in STRICT_METHODS:
        for receivers in ([async_fails], [async_fails, async_one], [async_fails, fails_too]):
            assert failures(engine.Signal, method, receivers) == failures(
                django61_signal, method, receivers
            )

    def context_after(signal_class, method):
        var = contextvars.ContextVar("var", default=0)

        async def bump(**kwargs):
            var.set(var.get() + 1)

        signal = signal_class()
        signal.connect(bump)
        signal.connect(sync_one)

        async def in_loop():
            await getattr(signal, method)(None)
            return var.get()

        if method.startswith("a"):
            return asyncio.run(in_loop())
        return contextvars.copy_context().run(lambda: getattr(signal, method)(None) and var.get())

    for method in ALL_METHODS:
        assert context_after(engine.Signal, method) == context_after(django61_signal, method)

    for method in ["send", "send_robust"]:
        assert _send_inside_loop(engine.Signal, method) == _send_inside_loop(
            django61_signal, method
        )


# -- the task group, step by step, against Django 6.1 ------------------------------------------


def _scenario_receivers(events, name):
    """The async receivers of scenario ``name``; each appends what it does to ``events``."""

    async def fails_at_once(**kwargs):
        events.append("fails_at_once: started")
        raise ReceiverError("at once")

    async def fails_later(**kwargs):
        events.append("fails_later: started")
        await asyncio.sleep(0)
        events.append("fails_later: resumed")
        raise ReceiverError("later")

    async def steps(**kwargs):
        events.append("steps: started")
        try:
            for step in range(3):
                await asyncio.sleep(0)
                events.append(f"steps: step {step}")
        except asyncio.CancelledError:
            events.append("steps: cancelled")
            raise
        return "steps"

    async def fails_when_cancelled(**kwargs):
        events.append("fails_when_cancelled: started")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("fails_when_cancelled: cancelled")
            raise ReceiverError("while cancelled") from None

    async def swallows_cancel(**kwargs):
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("swallows_cancel: cancelled")
        return "swallowed"

    async def task_identity(**kwargs):
        events.append(("own task", asyncio.current_task() is not kwargs["caller"]))
        await asyncio.sleep(0)
        return "identity"

    async def cancels_itself(**kwargs):
        events.append("cancels_itself: started")
        await asyncio.sleep(0)
        raise asyncio.CancelledError  # as when what it awaits is cancelled by another task

    return {
        "a receiver whose own task is cancelled": [cancels_itself, steps],
        "first step of every receiver runs before a failure aborts": [fails_at_once, steps],
        "failures in the order they happen": [fails_later, fails_at_once],
        "failure cancels the others at their next step": [steps, fails_later, steps],
        "cancelled receiver failing joins the group": [fails_when_cancelled, fails_later],
        "a receiver swallowing cancellation": [swallows_cancel, fails_later],
        "every receiver in a task of its own": [task_identity, task_identity],
    }[name]


SCENARIOS = [
    ("asend", "first step of every receiver runs before a failure aborts"),
    ("asend", "failures in the order they happen"),
    ("asend", "failure cancels the others at their next step"),
    ("asend", "cancelled receiver failing joins the group"),
    ("asend", "a receiver swallowing cancellation"),
    ("asend", "every receiver in a task of its own"),
    # TaskGroup ignores a cancelled task: its response is None, the others run on.
    ("asend", "a receiver whose own task is cancelled"),
    ("asend_robust", "a receiver whose own task is cancelled"),
    # asend_robust catches the failures: nothing is cancelled.
    ("asend_robust", "first step of every receiver runs before a failure aborts"),
    ("asend_robust", "failures in the order they happen"),
    ("asend_robust", "failure cancels the others at their next step"),
    ("asend_robust", "every receiver in a task of its own"),
]


def _run_scenario(signal_class, method, name):
    """What happens, step by step, when ``method`` runs scenario ``name`` on ``signal_class``."""
    events = []
    signal = signal_class()
    receivers = _scenario_receivers(events, name)
    for receiver in receivers:
        signal.connect(receiver, weak=False)

    async def caller():
        async def ticker():  # a task beside the send: shows where each step falls
            for tick in range(6):
                events.append(f"tick {tick}")
                await asyncio.sleep(0)

        ticks = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        try:
            responses = await getattr(signal, method)(None, caller=asyncio.current_task())
        except BaseException as err:
            outcome = _describe(err)
        else:
            outcome = [(r.__name__, _describe(response)) for r, response in responses]
        events.append("returned")
        await ticks
        task = asyncio.current_task()
        # Before Python 3.11, asyncio's tasks count no cancel requests.
        return outcome, task.cancelling() if hasattr(task, "cancelling") else 0

    with no_unawaited_coroutines():
        outcome, cancelling = asyncio.run(caller())
    return outcome, events, cancelling


def _describe(value):
    if isinstance(value, BaseExceptionGroup):
        return (type(value).__name__, str(value), [_describe(e) for e in value.exceptions])
    if isinstance(value, BaseException):
        return (type(value).__name__, str(value))
    return value


@pytest.mark.parametrize(("method", "name"), SCENARIOS)
def test_task_group_steps_match_django_61(engine, django61_signal, method, name, caplog):
    # Which receiver steps run, in which order relative to the loop's other
    # tasks, when the caller resumes, what is cancelled, what is raised: the
    # same as with Django 6.1's TaskGroup. (The caller's cancel request count is
    # compared with 0, not with Django's: TaskGroup cancels the caller's task
    # when a receiver fails and, on Python 3.11, leaves that request pending.)
    with caplog.at_level(logging.CRITICAL, logger="django.dispatch"):
        ours = _run_scenario(engine.Signal, method, name)
        theirs = _run_scenario(django61_signal, method, name)
    if sys.version_info < (3, 11):
        # The backport's TaskGroup takes loop steps of its own to enter (an
        # AsyncExitStack): compare the receivers' steps, not the ticks beside them.
        ours, theirs = (
            (outcome, [e for e in events if not str(e).startswith("tick")], cancelling)
            for outcome, events, cancelling in (ours, theirs)
        )
    assert ours[:2] == theirs[:2]
    assert ours[2] == 0
