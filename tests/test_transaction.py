"""``fastsignal.transaction`` without Django: ``on_commit`` and the standalone ``atomic()`` scope.

Django's settings are configured for the test session (``conftest.py``), so every
test here forces the standalone backend. The behaviours are those Django's own
``transaction_hooks`` tests check, plus thread and asyncio-task isolation, the
backend interface and the on-commit signal helpers (on both engines).
"""

import asyncio
import contextlib
import copy
import functools
import inspect
import logging
import pickle
import threading
import weakref

import pytest

import fastsignal
from fastsignal import _common
from fastsignal.transaction import (
    DEFERRED,
    Atomic,
    DjangoBackend,
    StandaloneBackend,
    TransactionBackend,
    atomic,
    defer_receivers,
    get_backend,
    in_atomic_block,
    on_commit,
    send_on_commit,
    set_backend,
)

from helpers import collect


class ForcedError(Exception):
    pass


@pytest.fixture(autouse=True)
def standalone():
    previous = set_backend(StandaloneBackend())
    yield
    set_backend(previous)
    assert not in_atomic_block(), "a test left an atomic() block open"


@pytest.fixture
def notified():
    return []


@pytest.fixture
def do(notified):
    """``do(x)`` registers a callback that records ``x`` (``"error"`` raises)."""

    def notify(value):
        if value == "error":
            raise ForcedError("hook failed")
        notified.append(value)

    def do(value, using=None, robust=False):
        on_commit(lambda: notify(value), using=using, robust=robust)

    return do


@contextlib.contextmanager
def rolled_back(using=None):
    """An ``atomic(using)`` block that ends by raising ``ForcedError``, swallowed outside it."""
    with pytest.raises(ForcedError):
        with atomic(using):
            yield
            raise ForcedError()


# -- on_commit: Django's transaction_hooks behaviours ------------------------------------


def test_executes_immediately_if_no_transaction(do, notified):
    do(1)
    assert notified == [1]


def test_delays_execution_until_after_transaction_commit(do, notified):
    with atomic():
        do(1)
        assert notified == []
    assert notified == [1]


def test_does_not_execute_if_transaction_rolled_back(do, notified):
    with pytest.raises(ForcedError):
        with atomic():
            do(1)
            raise ForcedError()
    assert notified == []


def test_executes_only_after_final_transaction_committed(do, notified):
    with atomic():
        with atomic():
            do(1)
            assert notified == []
        assert notified == []
    assert notified == [1]


def test_discards_hooks_from_rolled_back_savepoint(do, notified):
    with atomic():
        with atomic():
            do(1)
        with pytest.raises(ForcedError):
            with atomic():
                do(2)
                raise ForcedError()
        with atomic():
            do(3)
    assert notified == [1, 3]


def test_failed_savepoint_keeps_earlier_successful_sibling(do, notified):
    # A depth-based rule ("drop everything at depth >= n") would lose 1 here.
    with atomic():
        with atomic():
            do(1)
        with rolled_back():
            do(2)
    assert notified == [1]


def test_no_hooks_run_from_failed_transaction(do, notified):
    with pytest.raises(ForcedError):
        with atomic():
            with atomic():
                do(1)
            raise ForcedError()
    assert notified == []


def test_inner_savepoint_rolled_back_with_outer(do, notified):
    with atomic():
        with pytest.raises(ForcedError):
            with atomic():
                with atomic():
                    do(1)
                raise ForcedError()
        do(2)
    assert notified == [2]


def test_inner_savepoint_does_not_affect_outer(do, notified):
    with atomic():
        with atomic():
            do(1)
            with rolled_back():
                pass
    assert notified == [1]


def test_runs_hooks_in_order_registered(do, notified):
    with atomic():
        do(1)
        with atomic():
            do(2)
            with atomic():
                do(3)
            do(4)
        do(5)
    assert notified == [1, 2, 3, 4, 5]


def test_hooks_cleared_after_successful_commit(do, notified):
    with atomic():
        do(1)
    with atomic():
        do(2)
    assert notified == [1, 2]  # not [1, 1, 2]


def test_hooks_cleared_after_rollback(do, notified):
    with rolled_back():
        do(1)
    with atomic():
        do(2)
    assert notified == [2]


def test_error_in_hook_propagates_and_drops_the_rest(do, notified):
    with pytest.raises(ForcedError):
        with atomic():
            do(1)
            do("error")
            do(2)
    assert notified == [1]
    assert not in_atomic_block()


def test_error_in_hook_doesnt_prevent_clearing_hooks(do, notified):
    with pytest.raises(ForcedError):
        with atomic():
            do("error")
    with atomic():
        do(1)
    assert notified == [1]


def test_transaction_in_hook(do, notified):
    def hook():
        with atomic():
            do("inner")
            assert notified == []
        notified.append("after inner commit")

    with atomic():
        on_commit(hook)
    assert notified == ["inner", "after inner commit"]


def test_hook_in_hook(notified):
    def hook(i, add_hook):
        with atomic():
            if add_hook:
                on_commit(lambda: hook(i + 10, False))
            notified.append(i)

    with atomic():
        on_commit(lambda: hook(1, True))
        on_commit(lambda: hook(2, True))
    assert notified == [1, 11, 2, 12]


def test_hook_registered_by_hook_outside_a_block_runs_at_once(notified):
    def hook(i):
        notified.append(i)
        if i < 3:
            assert not in_atomic_block()
            on_commit(lambda: hook(i + 1))
            notified.append(f"after {i + 1}")

    with atomic():
        on_commit(lambda: hook(1))
        on_commit(lambda: notified.append("second"))
    assert notified == [1, 2, 3, "after 3", "after 2", "second"]


def test_raises_exception_non_callable():
    with pytest.raises(TypeError, match=r"^on_commit\(\)'s callback must be a callable\.$"):
        on_commit(None)
    with atomic():
        with pytest.raises(TypeError, match="must be a callable"):
            on_commit("not callable")


# -- robust ------------------------------------------------------------------------------


def failing_callback():
    raise ForcedError("robust callback")


def assert_logged(caplog, message):
    records = [r for r in caplog.records if r.name == "fastsignal.transaction"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == message
    assert isinstance(record.exc_info[1], ForcedError)
    assert str(record.exc_info[1]) == "robust callback"


def test_robust_if_no_transaction(caplog, do, notified):
    on_commit(failing_callback, robust=True)
    do(1)
    assert notified == [1]
    assert_logged(caplog, "Error calling failing_callback in on_commit() (robust callback).")


def test_robust_transaction(caplog, do, notified):
    with atomic():
        on_commit(failing_callback, robust=True)
        do(1)
    assert notified == [1]
    assert_logged(
        caplog,
        "Error calling failing_callback in on_commit() during transaction (robust callback).",
    )


def test_robust_callback_as_partial(caplog):
    callback = functools.partial(failing_callback)
    with atomic():
        on_commit(callback, robust=True)
    assert_logged(
        caplog, f"Error calling {callback!r} in on_commit() during transaction (robust callback)."
    )


def test_robust_does_not_swallow_base_exceptions():
    def interrupt():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        on_commit(interrupt, robust=True)


# -- atomic(): forms, aliases ----------------------------------------------------------


def test_decorator_forms(notified):
    @atomic
    def bare(value):
        on_commit(lambda: notified.append(value))
        assert value not in notified
        return value * 2

    @atomic()
    def called(value):
        on_commit(lambda: notified.append(value))
        assert value not in notified

    @atomic(using="other")
    def other(value):
        assert in_atomic_block("other") and not in_atomic_block()
        on_commit(lambda: notified.append(value), using="other")
        assert value not in notified

    assert bare(1) == 2
    called(2)
    other(3)
    assert notified == [1, 2, 3]
    assert bare.__name__ == "bare"


def test_decorator_rolls_back(notified):
    @atomic
    def failing():
        on_commit(lambda: notified.append(1))
        raise ForcedError()

    with pytest.raises(ForcedError):
        failing()
    assert notified == []


def test_decorated_function_is_reentrant(notified):
    @atomic
    def recurse(n):
        on_commit(lambda: notified.append(n))
        if n:
            recurse(n - 1)
        assert notified == []

    recurse(3)
    assert notified == [3, 2, 1, 0]


def test_decorated_coroutine_function(notified):
    @atomic
    async def work(value):
        on_commit(lambda: notified.append(value))
        await asyncio.sleep(0)
        assert in_atomic_block()
        assert notified == []
        return value

    assert inspect.iscoroutinefunction(work)
    assert asyncio.run(work(1)) == 1
    assert notified == [1]


def test_one_instance_nested():
    block = atomic()
    with block:
        with block:
            assert in_atomic_block()
        assert in_atomic_block()
    assert not in_atomic_block()


def test_enter_returns_none_and_repr():
    with atomic() as value:
        assert value is None
    assert repr(atomic("x")) == "<fastsignal.transaction.atomic(using='x')>"
    assert isinstance(atomic(), Atomic)


def test_exit_without_enter_is_an_error():
    with pytest.raises(RuntimeError, match="not entered"):
        atomic().__exit__(None, None, None)


def test_aliases_are_independent(do, notified):
    with atomic():
        do("default")
        do("other", using="other")  # no block open for "other": at once
        assert notified == ["other"]
        with atomic("other"):
            do("other 2", using="other")
            do("default 2")
        assert notified == ["other", "other 2"]
    assert notified == ["other", "other 2", "default", "default 2"]


def test_none_means_default(do, notified):
    with atomic(using="default"):
        assert in_atomic_block() and in_atomic_block(None)
        do(1)
        do(2, using="default")
    assert notified == [1, 2]


def test_rollback_of_one_alias_keeps_the_other(do, notified):
    with atomic("other"):
        do("other", using="other")
        with rolled_back():
            do("default")
    assert notified == ["other"]


# -- isolation: threads and asyncio tasks ----------------------------------------------


def test_threads_are_isolated(notified):
    in_block = threading.Event()
    other_done = threading.Event()
    errors = []

    def other_thread():
        try:
            in_block.wait(5)
            assert not in_atomic_block()
            on_commit(lambda: notified.append("other, at once"))
            with rolled_back():
                on_commit(lambda: notified.append("other, rolled back"))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)
        finally:
            other_done.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    with atomic():
        on_commit(lambda: notified.append("main"))
        in_block.set()
        other_done.wait(5)
        assert notified == ["other, at once"]
    thread.join()
    assert not errors
    assert notified == ["other, at once", "main"]


def test_tasks_are_isolated(notified):
    async def task(name, fail):
        with atomic():
            on_commit(lambda: notified.append(name))
            for _ in range(3):
                await asyncio.sleep(0)  # interleave with the other task
            assert in_atomic_block()
            if fail:
                raise ForcedError()

    async def main():
        results = await asyncio.gather(
            task("a", fail=False),
            task("b", fail=True),
            task("c", fail=False),
            return_exceptions=True,
        )
        assert isinstance(results[1], ForcedError)

    asyncio.run(main())
    assert sorted(notified) == ["a", "c"]


def test_task_created_outside_a_block_does_not_see_a_later_one(notified):
    async def main():
        started = asyncio.Event()
        check = asyncio.Event()

        async def other():
            started.set()
            await check.wait()
            assert not in_atomic_block()
            on_commit(lambda: notified.append("task, at once"))

        task = asyncio.create_task(other())
        await started.wait()
        with atomic():
            on_commit(lambda: notified.append("main"))
            check.set()
            await task
            assert notified == ["task, at once"]

    asyncio.run(main())
    assert notified == ["task, at once", "main"]


def test_task_created_inside_a_block_joins_it(notified):
    async def child(name):
        await asyncio.sleep(0)
        assert in_atomic_block()
        on_commit(lambda: notified.append(name))

    async def main(fail):
        with atomic():
            on_commit(lambda: notified.append("parent"))
            await asyncio.gather(child("child 1"), child("child 2"))
            assert notified == []
            if fail:
                raise ForcedError()

    with pytest.raises(ForcedError):
        asyncio.run(main(fail=True))
    assert notified == []
    asyncio.run(main(fail=False))
    assert notified == ["parent", "child 1", "child 2"]


def test_joined_task_savepoints(notified):
    async def child(name, fail):
        with atomic():  # a savepoint of the parent's block
            on_commit(lambda: notified.append(name))
            await asyncio.sleep(0)
            if fail:
                raise ForcedError()

    async def main():
        with atomic():
            results = await asyncio.gather(
                child("kept", False), child("dropped", True), return_exceptions=True
            )
            assert isinstance(results[1], ForcedError)
            with rolled_back():  # the parent's own savepoint does not touch the children's
                on_commit(lambda: notified.append("parent, dropped"))
            assert notified == []

    asyncio.run(main())
    assert notified == ["kept"]


def test_task_outliving_its_block(notified):
    async def main():
        go_on = asyncio.Event()

        async def child():
            assert in_atomic_block()
            with atomic():
                on_commit(lambda: notified.append("child block"))
                await go_on.wait()  # the parent's block ends meanwhile
            # its enclosing block had ended: this block was the outermost one
            assert notified == ["parent", "child block"]
            assert not in_atomic_block()
            on_commit(lambda: notified.append("child, at once"))

        with atomic():
            on_commit(lambda: notified.append("parent"))
            task = asyncio.create_task(child())
            await asyncio.sleep(0)
        assert notified == ["parent"]
        go_on.set()
        await task

    asyncio.run(main())
    assert notified == ["parent", "child block", "child, at once"]


def test_to_thread_joins_the_block(notified):
    def in_thread():
        assert in_atomic_block()
        on_commit(lambda: notified.append("thread"))

    async def main():
        with atomic():
            await asyncio.to_thread(in_thread)
            assert notified == []

    asyncio.run(main())
    assert notified == ["thread"]


def test_many_threads_register_into_one_block(notified):
    import contextvars

    with atomic():
        context = contextvars.copy_context()

        def work(n):
            for i in range(200):
                on_commit(functools.partial(notified.append, (n, i)))

        threads = [threading.Thread(target=context.copy().run, args=(work, n)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert notified == []
    assert len(notified) == 800
    for n in range(4):
        assert [i for m, i in notified if m == n] == list(range(200))


# -- backends ----------------------------------------------------------------------------


class RecordingBackend:
    def __init__(self):
        self.calls = []

    def on_commit(self, func, using, robust):
        self.calls.append((func, using, robust))


def test_custom_backend():
    backend = RecordingBackend()
    assert isinstance(backend, TransactionBackend)
    previous = set_backend(backend)
    try:
        assert get_backend() is backend
        on_commit(print, using="x", robust=True)
        with pytest.raises(TypeError, match="must be a callable"):
            on_commit(None)  # checked before the backend is asked
        assert backend.calls == [(print, "x", True)]
    finally:
        assert set_backend(previous) is backend


def test_set_backend_rejects_objects_without_on_commit():
    with pytest.raises(TypeError, match="on_commit"):
        set_backend(object())
    assert isinstance(get_backend(), StandaloneBackend)


def test_default_backend(monkeypatch):
    previous = set_backend(None)
    try:
        assert isinstance(get_backend(), DjangoBackend)  # conftest configures Django
        monkeypatch.setattr(_common, "_settings", False)  # as if Django were absent
        assert isinstance(get_backend(), StandaloneBackend)
    finally:
        set_backend(previous)
    assert isinstance(DjangoBackend(), TransactionBackend)
    assert isinstance(StandaloneBackend(), TransactionBackend)


def test_default_backend_with_unconfigured_settings(monkeypatch):
    class Unconfigured:
        configured = False

        def __bool__(self):  # LazySettings would try to configure itself
            raise AssertionError("settings tested for truth")

    monkeypatch.setattr(_common, "_settings", Unconfigured())
    previous = set_backend(None)
    try:
        assert isinstance(get_backend(), StandaloneBackend)
    finally:
        set_backend(previous)


# -- DEFERRED ----------------------------------------------------------------------------


def test_deferred_sentinel():
    assert repr(DEFERRED) == "<DEFERRED>"
    assert copy.copy(DEFERRED) is DEFERRED
    assert copy.deepcopy(DEFERRED) is DEFERRED
    assert pickle.loads(pickle.dumps(DEFERRED)) is DEFERRED


def test_deferred_is_reexported():
    if not hasattr(fastsignal, "DEFERRED"):
        pytest.skip("fastsignal does not re-export DEFERRED yet")
    assert fastsignal.DEFERRED is DEFERRED


# -- send_on_commit ----------------------------------------------------------------------


@pytest.fixture
def sig(engine):
    return engine.Signal()


@pytest.fixture
def calls(sig):
    calls = []

    def record(signal, sender, **kwargs):
        calls.append((signal, sender, kwargs))
        return "response"

    sig.connect(record, weak=False)
    return calls


def test_send_on_commit_deferred(sig, calls):
    with atomic():
        assert send_on_commit(sig, "sender", a=1) is None
        assert calls == []
    assert calls == [(sig, "sender", {"a": 1})]


def test_send_on_commit_outside_a_transaction(sig, calls):
    send_on_commit(sig, "sender", a=1)
    assert calls == [(sig, "sender", {"a": 1})]


def test_send_on_commit_rolled_back(sig, calls):
    with atomic():
        with rolled_back():
            send_on_commit(sig, "sender", a=1)
        send_on_commit(sig, "sender", a=2)
    assert calls == [(sig, "sender", {"a": 2})]


def test_send_on_commit_using(sig, calls):
    with atomic("other"):
        send_on_commit(sig, "sender", using="other", a=1)
        send_on_commit(sig, "sender", a=2)  # default alias: no block open
        assert calls == [(sig, "sender", {"a": 2})]
    # ``using`` reaches the receivers, as a model signal's send() passes it
    assert calls[1] == (sig, "sender", {"a": 1, "using": "other"})


def test_send_on_commit_receivers_are_those_of_commit_time(sig, calls):
    late = []

    def late_receiver(**kwargs):
        late.append(kwargs["a"])

    with atomic():
        send_on_commit(sig, "sender", a=1)
        sig.connect(late_receiver, weak=False)
    assert late == [1]


def test_send_on_commit_error_propagates(sig, calls):
    def failing(**kwargs):
        raise ForcedError("receiver failed")

    sig.connect(failing, weak=False)
    with pytest.raises(ForcedError):
        with atomic():
            send_on_commit(sig, "sender", a=1)
    assert len(calls) == 1


def test_send_on_commit_robust(sig, calls, caplog):
    def failing(**kwargs):
        raise ForcedError("receiver failed")

    sig.connect(failing, weak=False)
    with atomic():
        send_on_commit(sig, "sender", robust=True, a=1)
    assert len(calls) == 1
    [record] = [r for r in caplog.records if r.name == "django.dispatch"]
    assert "failing" in record.getMessage() and "receiver failed" in record.getMessage()


def test_send_on_commit_robust_logs_what_send_robust_does_not_catch(sig, caplog):
    class BrokenSignal(type(sig)):
        def send_robust(self, sender, **named):
            raise ForcedError("robust callback")

    with atomic():
        send_on_commit(BrokenSignal(), "sender", robust=True)
    assert_logged(
        caplog,
        "Error calling test_send_on_commit_robust_logs_what_send_robust_does_not_catch."
        "<locals>.BrokenSignal.send_robust in on_commit() during transaction (robust callback).",
    )


def test_send_on_commit_keeps_sender_alive(sig, calls):
    class Sender:
        pass

    with atomic():
        send_on_commit(sig, Sender(), a=1)
        collect()
    assert len(calls) == 1 and type(calls[0][1]).__name__ == "Sender"


def test_send_on_commit_is_a_signal_method_when_attached(sig, calls):
    if not hasattr(sig, "send_on_commit"):
        pytest.skip("Signal.send_on_commit is not attached yet")
    with atomic():
        assert sig.send_on_commit("sender", a=1) is None
        assert calls == []
    assert calls == [(sig, "sender", {"a": 1})]


# -- defer_receivers (the engine's hook) -------------------------------------------------


class Receiver:
    def __init__(self, calls):
        self.calls = calls

    def method(self, **kwargs):
        self.calls.append(kwargs)
        return "method"

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return "call"


def test_defer_receivers(sig, notified):
    obj = Receiver(notified)
    strong = Receiver(notified)
    pairs = [
        (obj.method, weakref.WeakMethod(obj.method)),
        (obj, weakref.ref(obj)),
        (strong, strong),
    ]
    with atomic():
        responses = defer_receivers(sig, "sender", {"a": 1}, pairs, robust=False)
        assert responses == [(obj.method, DEFERRED), (obj, DEFERRED), (strong, DEFERRED)]
        assert notified == []
    expected = {"signal": sig, "sender": "sender", "a": 1}
    assert notified == [expected, expected, expected]


def test_defer_receivers_outside_a_transaction(sig, notified):
    strong = Receiver(notified)
    assert defer_receivers(sig, None, {}, [(strong, strong)], robust=False) == [(strong, DEFERRED)]
    assert notified == [{"signal": sig, "sender": None}]


def test_defer_receivers_dead_weak_receiver_is_skipped(sig, notified):
    obj = Receiver(notified)
    with atomic():
        defer_receivers(sig, None, {}, [(obj.method, weakref.WeakMethod(obj.method))], False)
        defer_receivers(sig, None, {}, [(obj, weakref.ref(obj))], False)
        del obj
        collect()
    assert notified == []


def test_defer_receivers_does_not_keep_weak_receiver_alive(sig, notified):
    obj = Receiver(notified)
    alive = weakref.ref(obj)
    with atomic():
        defer_receivers(sig, None, {}, [(obj, weakref.ref(obj))], False)
        del obj
        collect()
        assert alive() is None


def test_defer_receivers_using_routes_to_the_alias(sig, notified):
    strong = Receiver(notified)
    with atomic():
        with atomic("other"):
            defer_receivers(sig, None, {"using": "other"}, [(strong, strong)], False)
        assert notified == [{"signal": sig, "sender": None, "using": "other"}]


def test_defer_receivers_robust(sig, caplog, notified):
    def failing_receiver(**kwargs):
        raise ForcedError("robust callback")

    strong = Receiver(notified)
    with atomic():
        defer_receivers(
            sig, None, {}, [(failing_receiver, failing_receiver), (strong, strong)], robust=True
        )
    assert len(notified) == 1
    assert_logged(
        caplog,
        "Error calling test_defer_receivers_robust.<locals>.failing_receiver"
        " in on_commit() during transaction (robust callback).",
    )


def test_defer_receivers_not_robust_propagates(sig):
    def failing_receiver(**kwargs):
        raise ForcedError("boom")

    with pytest.raises(ForcedError):
        with atomic():
            defer_receivers(sig, None, {}, [(failing_receiver, failing_receiver)], robust=False)


def test_defer_receivers_async_receiver(sig, notified):
    async def async_receiver(signal, sender, **kwargs):
        await asyncio.sleep(0)
        notified.append((signal, sender, kwargs))

    with atomic():
        defer_receivers(sig, "s", {"a": 1}, [(async_receiver, async_receiver)], False)
        assert notified == []
    assert notified == [(sig, "s", {"a": 1})]


def test_deferred_callback_repr(sig):
    backend = RecordingBackend()
    previous = set_backend(backend)
    try:
        defer_receivers(sig, None, {}, [(failing_callback, failing_callback)], False)
        send_on_commit(sig, None)
    finally:
        set_backend(previous)
    (deferred, using, robust), (deferred_send, _, _) = backend.calls
    assert (using, robust) == (None, False)
    assert deferred.__qualname__ == "failing_callback"
    assert repr(deferred) == "<deferred receiver failing_callback>"
    assert deferred.receiver is failing_callback
    assert deferred_send.__qualname__ == f"{type(sig).__qualname__}.send"


# -- connect(on_commit=True) ---------------------------------------------------------


def test_connect_on_commit(sig, notified):
    def immediate(**kwargs):
        notified.append("immediate")
        return "now"

    def deferred(signal, sender, **kwargs):
        notified.append(("deferred", signal, sender, kwargs))
        return "later"

    sig.connect(immediate)
    sig.connect(deferred, on_commit=True)
    with atomic():
        assert sig.send("sender", a=1) == [(immediate, "now"), (deferred, DEFERRED)]
        assert notified == ["immediate"]
    assert notified == ["immediate", ("deferred", sig, "sender", {"a": 1})]


def test_connect_on_commit_rolled_back(sig, notified):
    def deferred(**kwargs):
        notified.append("deferred")

    sig.connect(deferred, on_commit=True)
    with rolled_back():
        sig.send(None)
    assert notified == []


def test_connect_on_commit_outside_a_transaction(sig, notified):
    def deferred(**kwargs):
        notified.append("deferred")
        return "ignored"

    sig.connect(deferred, on_commit=True)
    assert sig.send(None) == [(deferred, DEFERRED)]
    assert notified == ["deferred"]


def test_receiver_decorator_on_commit(sig, notified):
    @fastsignal.receiver(sig, on_commit=True)
    def deferred(**kwargs):
        notified.append("deferred")

    with atomic():
        assert sig.send(None) == [(deferred, DEFERRED)]
        assert notified == []
    assert notified == ["deferred"]


def test_connect_on_commit_weak_receiver_dies_before_commit(sig, notified):
    obj = Receiver(notified)
    sig.connect(obj.method, on_commit=True)
    with atomic():
        assert sig.send(None) == [(obj.method, DEFERRED)]
        del obj
        collect()
    assert notified == []


def test_connect_on_commit_send_robust(sig, caplog, notified):
    def failing_receiver(**kwargs):
        raise ForcedError("robust callback")

    sig.connect(failing_receiver, on_commit=True)
    with atomic():
        assert sig.send_robust(None) == [(failing_receiver, DEFERRED)]
    assert_logged(
        caplog,
        "Error calling test_connect_on_commit_send_robust.<locals>.failing_receiver"
        " in on_commit() during transaction (robust callback).",
    )


def test_connect_on_commit_send_propagates_at_commit(sig):
    def failing_receiver(**kwargs):
        raise ForcedError("boom")

    sig.connect(failing_receiver, on_commit=True)
    with pytest.raises(ForcedError):
        with atomic():
            sig.send(None)  # does not raise here
            with atomic():
                pass  # a savepoint's exit runs nothing
    with pytest.raises(ForcedError):
        sig.send(None)  # no transaction: runs (and fails) during the send


def test_connect_on_commit_using(sig, notified):
    def deferred(using, **kwargs):
        notified.append(using)

    sig.connect(deferred, on_commit=True)
    with atomic("other"):
        sig.send(None, using="other")
        assert notified == []
    assert notified == ["other"]


def test_connect_on_commit_async_receiver(sig, notified):
    async def deferred(**kwargs):
        notified.append("async deferred")

    sig.connect(deferred, on_commit=True)
    with atomic():
        assert sig.send(None) == [(deferred, DEFERRED)]
        assert notified == []
    assert notified == ["async deferred"]


def test_has_listeners_counts_receivers_deferred_to_commit(sig):
    class Sender:
        pass

    def deferred(**kwargs):
        pass

    sig.connect(deferred, sender=Sender, on_commit=True)
    assert sig.has_listeners(Sender)
    assert not sig.has_listeners(object())


# -- re-entrant sends ----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["on_commit", "atomic exit"])
def test_send_run_inside_the_bookkeeping_does_not_wait_on_its_own_thread(
    engine, monkeypatch, where
):
    """A finalizer (garbage collection runs at a function's first line from Python
    3.12) or a signal handler that sends a signal with an ``on_commit`` receiver,
    run while this thread keeps the transaction bookkeeping, registers its
    receiver rather than waiting on a lock its own thread holds."""
    from fastsignal import transaction

    signal = engine.Signal()
    calls = []

    def later(sender, **kwargs):
        calls.append(sender)

    signal.connect(later, on_commit=True, weak=False)
    nearest_open = transaction._nearest_open

    def hooked(block):  # what the finalizer interrupts: a call made under the lock
        monkeypatch.setattr(transaction, "_nearest_open", nearest_open)
        signal.send("re-entrant")
        return nearest_open(block)

    def run():
        with atomic():
            if where == "on_commit":
                monkeypatch.setattr(transaction, "_nearest_open", hooked)
            signal.send("outer")
            if where == "atomic exit":
                monkeypatch.setattr(transaction, "_nearest_open", hooked)
        return sorted(calls)

    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(run()), daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "deadlock: the send waits on a lock its own thread holds"
    assert outcome == [["outer", "re-entrant"]]
