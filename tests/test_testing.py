"""``fastsignal.testing``: ``muted``, ``connected`` and ``capture``.

The behaviour tests take ``make_signal``, which builds a signal of one flavour:
``fastsignal`` (on each engine, through the ``engine`` fixture), Django's own
``django.dispatch.Signal`` with Django's dispatcher (``django``), and Django's
``Signal`` with fastsignal's Django integration installed on that engine
(``installed``). Django's built-in model signals are tested at the end, with and
without the integration.
"""

import asyncio
import gc
import inspect
import threading
import unittest
from types import SimpleNamespace
from unittest import mock

import pytest

django = pytest.importorskip("django")

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import transaction
from django.db.models.signals import (
    ModelSignal,
    post_delete,
    post_init,
    post_save,
    pre_delete,
    pre_init,
    pre_save,
)
from django.dispatch import Signal as DjangoSignal

import fastsignal
import fastsignal.django as fsd
from fastsignal.testing import (
    CapturedSend,
    MutedSignals,
    SignalCapture,
    _interception,
    active_signals,
    capture,
    connected,
    muted,
)

from helpers import Recorder, Sender, collect

INTERCEPTED = ("send", "send_robust", "asend", "asend_robust", "has_listeners")
SEND_METHODS = ("send", "send_robust", "asend", "asend_robust")


def send(signal, method, *args, **named):
    """Call ``signal.<method>``, running the coroutine of the async ones."""
    result = getattr(signal, method)(*args, **named)
    if inspect.iscoroutine(result):
        return asyncio.run(result)
    return result


def assert_pristine(signal):
    """No wrapper is left on ``signal`` and no helper is registered for it."""
    leftovers = [name for name in INTERCEPTED if name in vars(signal)]
    assert leftovers == []
    assert all(active is not signal for active in active_signals())


@pytest.fixture(params=["fastsignal", "django", "installed"])
def flavour(request, engine):
    """``flavour.make()`` builds a signal; ``flavour.name`` says which kind."""
    name = request.param
    if name == "fastsignal":
        yield SimpleNamespace(name=name, make=engine.Signal)
        return
    if name == "django" and engine.name == "compiled":
        pytest.skip("Django's own dispatcher does not depend on the engine: run once")
    assert not fsd.is_installed(), "fastsignal.django was left installed"
    if name == "installed":
        assert fsd.install(engine=engine.module)
    try:
        yield SimpleNamespace(name=name, make=DjangoSignal)
    finally:
        if name == "installed":
            assert fsd.uninstall()


@pytest.fixture
def make_signal(flavour):
    """Build signals of the flavour; check afterwards that none keeps a wrapper."""
    made = []

    def make(**kwargs):
        signal = flavour.make(**kwargs)
        made.append(signal)
        return signal

    yield make
    for signal in made:
        assert_pristine(signal)


@pytest.fixture
def sig(make_signal):
    return make_signal()


@pytest.fixture
def recorder(sig):
    """A receiver connected to ``sig`` for every sender."""
    recorder = Recorder()
    sig.connect(recorder)
    return recorder


# -- the mechanism ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [fastsignal.Signal, fastsignal.PySignal, DjangoSignal, ModelSignal],
    ids=["Signal", "PySignal", "django", "ModelSignal"],
)
@pytest.mark.parametrize("installed", [False, True], ids=["django-dispatcher", "installed"])
def test_send_methods_are_non_data_descriptors(cls, installed):
    """What makes instance attributes shadow them, on every signal class."""
    if installed:
        assert fsd.install()
    try:
        for name in INTERCEPTED:
            kind = type(inspect.getattr_static(cls, name))
            assert hasattr(kind, "__get__"), name
            assert not hasattr(kind, "__set__"), name
            assert not hasattr(kind, "__delete__"), name
    finally:
        if installed:
            assert fsd.uninstall()


def test_wrappers_only_while_active(sig, recorder):
    assert_pristine(sig)
    with muted(sig):
        assert set(INTERCEPTED) <= set(vars(sig))
        assert active_signals() == [sig]
        assert sig.send(sender=Sender) == []
    assert_pristine(sig)
    assert active_signals() == []
    assert sig.send(sender=Sender) == [(recorder, "recorder")]


def test_wrappers_keep_names_and_async_methods_stay_async(sig):
    with capture(sig):
        assert sig.send.__name__ == "send"
        assert sig.send_robust.__name__ == "send_robust"
        assert inspect.iscoroutinefunction(sig.asend)
        assert inspect.iscoroutinefunction(sig.asend_robust)
        assert not inspect.iscoroutinefunction(sig.send)


def test_previous_instance_attribute_is_wrapped_and_restored(sig, recorder):
    calls = []

    def patched_send(sender, **named):
        calls.append((sender, named))
        return ["patched"]

    sig.send = patched_send
    try:
        with capture(sig) as sent:
            assert sig.send(sender=Sender, x=1) == ["patched"]
            with muted(sig):
                assert sig.send(sender=Sender, x=2) == []
        assert vars(sig)["send"] is patched_send
        assert calls == [(Sender, {"x": 1})]
        assert [record.kwargs for record in sent] == [{"x": 1}, {"x": 2}]
    finally:
        del sig.send
    assert sig.send(sender=Sender) == [(recorder, "recorder")]


def test_nothing_global_is_installed(make_signal, sig, recorder):
    other = make_signal()
    other.connect(recorder)
    cls_attributes = {name: inspect.getattr_static(type(sig), name) for name in INTERCEPTED}
    with muted(sig), capture(sig):
        now = {name: inspect.getattr_static(type(sig), name) for name in INTERCEPTED}
        assert now == cls_attributes
        assert not any(name in vars(other) for name in INTERCEPTED)
        assert other.send(sender=Sender) == [(recorder, "recorder")]


def test_class_reinstalled_during_a_block_is_honoured(engine):
    """The wrappers look the class's method up on every call."""
    recorder = Recorder()
    signal = DjangoSignal()
    signal.connect(recorder)
    assert not fsd.is_installed()
    with capture(signal) as sent:
        assert signal.send(sender=Sender) == [(recorder, "recorder")]
        assert fsd.install(engine=engine.module)
        try:
            assert signal.send(sender=Sender) == [(recorder, "recorder")]
            with muted(signal):
                assert signal.send(sender=Sender) == []
                assert not signal.has_listeners(Sender)
            assert signal.has_listeners(Sender)
        finally:
            assert fsd.uninstall()
        assert signal.send(sender=Sender) == [(recorder, "recorder")]
    assert len(sent) == 4
    assert_pristine(signal)


# -- muted ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", SEND_METHODS)
def test_muted_send_returns_nothing_and_calls_nobody(sig, recorder, method):
    with muted(sig):
        assert send(sig, method, Sender, x=1) == []
        assert send(sig, method, sender=Sender, x=1) == []
    assert recorder.calls == []
    assert send(sig, method, Sender, x=2) == [(recorder, "recorder")]
    assert [call["x"] for call in recorder.calls] == [2]


def test_muted_async_receivers(sig):
    calls = []

    async def async_receiver(sender, **kwargs):
        calls.append(sender)
        return "async"

    sig.connect(async_receiver)
    with muted(sig):
        assert sig.send(sender=Sender) == []
        assert asyncio.run(sig.asend(sender=Sender)) == []
    assert calls == []
    assert asyncio.run(sig.asend(sender=Sender)) == [(async_receiver, "async")]
    assert calls == [Sender]


def test_has_listeners_is_false_while_muted(sig, recorder):
    specific = Recorder("specific")
    sig.connect(specific, sender=Sender)
    assert sig.has_listeners() and sig.has_listeners(Sender)
    with muted(sig):
        assert not sig.has_listeners()
        assert not sig.has_listeners(Sender)
        assert not sig.has_listeners(sender=Sender)
    assert sig.has_listeners() and sig.has_listeners(Sender)


def test_sender_specific_muting(sig, recorder):
    other = object()
    with muted(sig, sender=Sender):
        assert sig.send(sender=Sender) == []
        assert sig.send_robust(Sender) == []
        assert sig.send(sender=other) == [(recorder, "recorder")]
        assert sig.send(sender=None) == [(recorder, "recorder")]
        assert not sig.has_listeners(Sender)
        assert sig.has_listeners(other)
        assert sig.has_listeners()  # asks about sends from None, which are not muted
    assert [call["sender"] for call in recorder.calls] == [other, None]
    assert sig.send(sender=Sender) == [(recorder, "recorder")]


def test_sender_specific_muting_of_bound_method_senders(sig, recorder):
    """Senders are matched as dispatch matches them: a bound method by object and function."""
    owner = Recorder()
    with muted(sig, sender=owner.__call__):
        assert sig.send(sender=owner.__call__) == []
        assert sig.send(sender=owner) == [(recorder, "recorder")]


def test_muting_several_signals(make_signal):
    first, second, third = make_signal(), make_signal(), make_signal()
    receivers = [Recorder(str(n)) for n in range(3)]
    for signal, receiver in zip((first, second, third), receivers, strict=True):
        signal.connect(receiver)
    with muted(first, second, first) as mute:
        assert mute.signals == (first, second)
        assert first.send(sender=None) == []
        assert second.send(sender=None) == []
        assert third.send(sender=None) == [(receivers[2], "2")]


def test_muted_restores_when_the_body_raises(sig, recorder):
    with pytest.raises(ZeroDivisionError), muted(sig):
        raise ZeroDivisionError
    assert_pristine(sig)
    assert sig.send(sender=None) == [(recorder, "recorder")]


def test_receivers_connected_meanwhile_stay_connected(sig, recorder):
    late = Recorder("late")
    with muted(sig):
        sig.connect(late)
        assert sig.send(sender=None) == []
        assert sig.has_listeners() is False
    assert sig.send(sender=None) == [(recorder, "recorder"), (late, "late")]
    assert len(sig.receivers) == 2


def test_receivers_disconnected_meanwhile_stay_disconnected(sig, recorder):
    with muted(sig):
        assert sig.disconnect(recorder)
    assert sig.send(sender=None) == []
    assert not sig.has_listeners()
    assert sig.receivers == []


def test_receivers_are_never_reassigned(sig, recorder):
    before = sig.receivers
    with muted(sig):
        assert sig.receivers == before
        assert len(sig.receivers) == 1


def test_muted_keeps_dead_weak_receivers_dead(sig):
    receiver = Recorder()
    sig.connect(receiver)
    with muted(sig):
        del receiver
        collect()
    assert sig.send(sender=None) == []
    assert not sig.has_listeners()


def test_start_and_stop(sig, recorder):
    mute = muted(sig)
    assert not mute.active
    mute.start()
    mute.start()  # already active: nothing happens
    assert mute.active
    assert sig.send(sender=None) == []
    with mute:  # entering an active one keeps it; leaving stops it
        assert sig.send(sender=None) == []
    assert not mute.active
    assert sig.send(sender=None) == [(recorder, "recorder")]
    mute.stop()  # already stopped: nothing happens
    with mute:  # reusable
        assert sig.send(sender=None) == []
    assert_pristine(sig)


def test_muted_works_on_dispatch_of_other_threads(sig, recorder):
    results = []
    with muted(sig):
        thread = threading.Thread(target=lambda: results.append(sig.send(sender=None)))
        thread.start()
        thread.join()
    assert results == [[]]


def test_muted_with_on_commit_receivers(engine):
    """A muted send schedules nothing, on-commit receivers included."""
    from fastsignal.transaction import StandaloneBackend, set_backend

    sig = engine.Signal()
    calls = []

    def later(sender, **kwargs):
        calls.append(sender)

    sig.connect(later, on_commit=True)
    previous = set_backend(StandaloneBackend())
    try:
        with fastsignal.atomic(), muted(sig):
            assert sig.send(sender=Sender) == []
        assert calls == []
        with fastsignal.atomic():
            assert sig.send(sender=Sender) == [(later, fastsignal.DEFERRED)]
            assert calls == []
        assert calls == [Sender]
    finally:
        set_backend(previous)


# -- nesting and overlapping ------------------------------------------------------------------


def test_nested_mutes(sig, recorder):
    with muted(sig):
        with muted(sig, sender=Sender):
            assert sig.send(sender=None) == []
        assert sig.send(sender=Sender) == []
        assert sig.send(sender=None) == []
    assert_pristine(sig)
    with muted(sig, sender=Sender):
        with muted(sig):
            assert sig.send(sender=None) == []
        assert sig.send(sender=None) == [(recorder, "recorder")]
        assert sig.send(sender=Sender) == []
    assert_pristine(sig)


def test_out_of_order_exits(sig, recorder):
    first = muted(sig)
    cap = capture(sig)
    second = muted(sig, sender=Sender)
    first.start()
    cap.start()
    second.start()
    assert sig.send(sender=None) == []
    first.stop()  # the oldest goes first: the others keep working
    assert sig.send(sender=None) == [(recorder, "recorder")]
    assert sig.send(sender=Sender) == []
    cap.stop()
    assert sig.send(sender=Sender) == []
    assert [(record.sender, record.muted) for record in cap] == [
        (None, True),
        (None, False),
        (Sender, True),
    ]
    assert set(INTERCEPTED) <= set(vars(sig))
    second.stop()
    assert_pristine(sig)
    assert sig.send(sender=Sender) == [(recorder, "recorder")]
    assert len(cap) == 3


def test_interleaved_captures(sig):
    first, second = capture(sig), capture(sig)
    first.start()
    sig.send(sender=1)
    second.start()
    sig.send(sender=2)
    first.stop()
    sig.send(sender=3)
    second.stop()
    sig.send(sender=4)
    assert [record.sender for record in first] == [1, 2]
    assert [record.sender for record in second] == [2, 3]


def test_capture_inside_muted_records_muted_sends(sig, recorder):
    with muted(sig, sender=Sender), capture(sig) as sent:
        sig.send(sender=Sender, x=1)
        sig.send(sender=None, x=2)
    assert [(r.kwargs, r.muted, r.responses) for r in sent] == [
        ({"x": 1}, True, []),
        ({"x": 2}, False, [(recorder, "recorder")]),
    ]


def test_foreign_patch_on_top_is_left_alone(sig, recorder):
    fake = mock.Mock(return_value=["fake"])
    mute = muted(sig)
    mute.start()
    patcher = mock.patch.object(sig, "send", fake)
    patcher.start()
    mute.stop()  # the patch is still on top: it stays
    assert sig.send(sender=None) == ["fake"]
    patcher.stop()  # puts back the wrapper it found, which now passes calls through
    assert sig.send(sender=None) == [(recorder, "recorder")]
    with muted(sig):
        assert sig.send(sender=None) == []
    assert sig.send(sender=None) == [(recorder, "recorder")]
    del sig.send
    assert_pristine(sig)


# -- muted as a decorator ----------------------------------------------------------------------


def test_decorator_on_sync_function(sig, recorder):
    @muted(sig)
    def create(n):
        """Docstring kept."""
        return sig.send(sender=None, n=n)

    assert create.__name__ == "create"
    assert create.__doc__ == "Docstring kept."
    assert create(1) == []
    assert sig.send(sender=None, n=2) == [(recorder, "recorder")]
    assert [call["n"] for call in recorder.calls] == [2]
    assert_pristine(sig)


def test_decorator_restores_when_the_function_raises(sig, recorder):
    @muted(sig)
    def fail():
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        fail()
    assert_pristine(sig)


def test_decorator_on_recursive_function(sig, recorder):
    @muted(sig)
    def recurse(depth):
        if depth:
            recurse(depth - 1)
        return sig.send(sender=None)

    assert recurse(3) == []
    assert_pristine(sig)


def test_decorator_on_coroutine_function(sig, recorder):
    @muted(sig)
    async def create(n):
        await asyncio.sleep(0)
        first = await sig.asend(sender=None, n=n)
        return first, sig.send(sender=None, n=n)

    assert inspect.iscoroutinefunction(create)
    coroutine = create(1)
    assert_pristine(sig)  # muted from the first step, not on the call
    assert asyncio.run(coroutine) == ([], [])
    assert_pristine(sig)
    assert recorder.calls == []


def test_decorator_on_coroutine_function_that_raises(sig, recorder):
    @muted(sig)
    async def fail():
        await asyncio.sleep(0)
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        asyncio.run(fail())
    assert_pristine(sig)


def test_decorator_on_concurrent_coroutines(sig, recorder):
    """Muted until the last running call returns."""
    gate = None

    @muted(sig)
    async def slow():
        await gate.wait()
        return sig.send(sender="slow")

    @muted(sig)
    async def fast():
        return sig.send(sender="fast")

    async def main():
        nonlocal gate
        gate = asyncio.Event()
        task = asyncio.create_task(slow())
        await asyncio.sleep(0)
        assert await fast() == []
        assert sig.send(sender="between") == []  # slow() is still running
        gate.set()
        assert await task == []
        return sig.send(sender="after")

    assert asyncio.run(main()) == [(recorder, "recorder")]
    assert [call["sender"] for call in recorder.calls] == ["after"]


def test_decorator_on_marked_coroutine_function(sig, recorder):
    from asgiref.sync import markcoroutinefunction

    async def inner():
        return sig.send(sender=None)

    def marked():
        return inner()

    markcoroutinefunction(marked)
    decorated = muted(sig)(marked)
    assert inspect.iscoroutinefunction(decorated)
    assert asyncio.run(decorated()) == []


# -- argument handling --------------------------------------------------------------------------


@pytest.mark.parametrize("helper", ["muted", "capture"])
@pytest.mark.parametrize("method", SEND_METHODS)
def test_argument_errors_are_the_wrapped_methods(sig, helper, method):
    make = {"muted": muted, "capture": capture}[helper]
    expected = []
    for args, named in [((), {}), ((1, 2), {}), ((1,), {"sender": 2})]:
        with pytest.raises(TypeError) as info:
            send(sig, method, *args, **named)
        expected.append(str(info.value))
    with make(sig):
        for (args, named), message in zip(
            [((), {}), ((1, 2), {}), ((1,), {"sender": 2})], expected, strict=True
        ):
            with pytest.raises(TypeError) as info:
                send(sig, method, *args, **named)
            assert str(info.value) == message


def test_has_listeners_argument_errors_are_the_wrapped_methods(sig):
    with pytest.raises(TypeError) as info:
        sig.has_listeners(1, 2)
    expected = str(info.value)
    with muted(sig), pytest.raises(TypeError) as info:
        sig.has_listeners(1, 2)
    assert str(info.value) == expected


def test_rejects_what_it_cannot_intercept():
    with pytest.raises(TypeError, match="needs at least one signal"):
        muted()
    with pytest.raises(TypeError, match="expected a signal"):
        muted(object())
    with pytest.raises(TypeError, match="expected a signal"):
        capture(42)

    class Slotted:
        __slots__ = ()

        def send(self, sender, **named):
            return []

    with pytest.raises(TypeError, match="no __dict__"):
        muted(Slotted())

    class DataDescriptor:
        def __get__(self, instance, owner=None):
            return lambda sender, **named: []

        def __set__(self, instance, value):
            raise AttributeError("read-only")

    class Guarded(fastsignal.Signal):
        send_robust = DataDescriptor()

    guarded = Guarded()
    with pytest.raises(TypeError, match="send_robust is a data descriptor"):
        capture(guarded)
    assert_pristine(guarded)


def test_a_failed_interception_leaves_nothing_behind():
    """A class whose ``__getattribute__`` ignores the instance for one method."""

    class Stubborn(fastsignal.PySignal):
        def __getattribute__(self, name):
            if name == "asend":
                return type(self).asend.__get__(self)
            return super().__getattribute__(name)

    stubborn = Stubborn()
    stubborn.send = previous = lambda sender, **named: ["previous"]
    with pytest.raises(TypeError, match="asend is not shadowed"):
        muted(stubborn).start()
    assert vars(stubborn)["send"] is previous
    assert not any(name in vars(stubborn) for name in INTERCEPTED if name != "send")
    assert active_signals() == []


def test_signal_class_without_async_methods():
    """A minimal signal-like class: only the methods it has are wrapped."""

    class Minimal:
        def __init__(self):
            self.calls = []

        def send(self, sender, **named):
            self.calls.append(sender)
            return [("receiver", sender)]

    minimal = Minimal()
    with capture(minimal) as sent:
        assert minimal.send("a", x=1) == [("receiver", "a")]
        assert set(vars(minimal)) == {"calls", "send"}
        with muted(minimal):
            assert minimal.send("b") == []
    assert minimal.calls == ["a"]
    assert [(r.sender, r.responses) for r in sent] == [("a", [("receiver", "a")]), ("b", [])]
    assert set(vars(minimal)) == {"calls"}


# -- connected -----------------------------------------------------------------------------------


def test_connected_for_a_block(sig):
    receiver = Recorder()
    with connected(sig, receiver) as yielded:
        assert yielded is receiver
        assert sig.send(sender=None) == [(receiver, "recorder")]
    assert sig.send(sender=None) == []
    assert sig.receivers == []


def test_connected_disconnects_when_the_body_raises(sig):
    receiver = Recorder()
    with pytest.raises(ZeroDivisionError), connected(sig, receiver):
        raise ZeroDivisionError
    assert not sig.has_listeners()


def test_connected_with_sender(sig):
    receiver = Recorder()
    with connected(sig, receiver, sender=Sender):
        assert sig.send(sender=Sender) == [(receiver, "recorder")]
        assert sig.send(sender=None) == []
    assert not sig.has_listeners(Sender)
    assert sig.receivers == []


def test_connected_with_dispatch_uid(sig):
    first, second = Recorder("first"), Recorder("second")
    with connected(sig, first, dispatch_uid="uid"):
        with connected(sig, second, dispatch_uid="uid"):  # the uid is taken: first stays
            assert sig.send(sender=None) == [(first, "first")]
        assert sig.send(sender=None) == [(first, "first")]
    assert sig.receivers == []


def test_connected_keeps_a_receiver_that_was_connected_before(sig, recorder):
    with connected(sig, recorder):
        assert sig.send(sender=None) == [(recorder, "recorder")]
    assert sig.send(sender=None) == [(recorder, "recorder")]


def test_connected_holds_a_weak_receiver(sig):
    calls = []
    with connected(sig, lambda sender, **kwargs: calls.append(sender)):
        collect()
        sig.send(sender=1)
    assert calls == [1]
    assert sig.receivers == []


def test_connected_strongly(sig):
    calls = []
    with connected(sig, lambda sender, **kwargs: calls.append(sender), weak=False):
        collect()
        sig.send(sender=1)
    assert calls == [1]
    assert sig.receivers == []


# -- capture -------------------------------------------------------------------------------------


def test_capture_records_every_send_method(sig, recorder):
    with capture(sig) as sent:
        assert sig.send(Sender, x=1) == [(recorder, "recorder")]
        assert sig.send_robust(sender=Sender, x=2) == [(recorder, "recorder")]
        assert asyncio.run(sig.asend(Sender, x=3)) == [(recorder, "recorder")]
        assert asyncio.run(sig.asend_robust(sender=Sender, x=4)) == [(recorder, "recorder")]
    assert len(sent) == 4
    assert [record.method for record in sent] == list(SEND_METHODS)
    for n, record in enumerate(sent, 1):
        assert isinstance(record, CapturedSend)
        assert record.signal is sig
        assert record.sender is Sender
        assert record.kwargs == {"x": n}
        assert record.responses == [(recorder, "recorder")]
        assert record.exception is None
        assert record.muted is False
    assert [call["x"] for call in recorder.calls] == [1, 2, 3, 4]
    assert sent[-1].kwargs == {"x": 4}
    assert [r.kwargs["x"] for r in sent[1:3]] == [2, 3]
    assert bool(sent)


def test_capture_without_sends(sig):
    with capture(sig) as sent:
        pass
    assert len(sent) == 0
    assert list(sent) == []
    assert not sent
    sent.assert_not_sent()


def test_capture_stops_recording_and_keeps_records(sig):
    with capture(sig) as sent:
        sig.send(sender=1)
    sig.send(sender=2)
    assert [record.sender for record in sent] == [1]
    assert not sent.active
    sent.clear()
    assert len(sent) == 0


def test_capture_of_send_robust_with_failing_receivers(sig, recorder):
    error = ValueError("receiver failed")

    def failing(sender, **kwargs):
        raise error

    sig.connect(failing)
    with capture(sig) as sent:
        responses = sig.send_robust(sender=Sender, x=1)
    assert responses == [(recorder, "recorder"), (failing, error)]
    [record] = sent
    assert record.method == "send_robust"
    assert record.responses == [(recorder, "recorder"), (failing, error)]
    assert record.exception is None


def test_capture_of_a_send_that_raises(sig, recorder):
    error = ValueError("receiver failed")

    def failing(sender, **kwargs):
        raise error

    sig.connect(failing)
    with capture(sig) as sent:
        with pytest.raises(ValueError) as info:
            sig.send(sender=Sender, x=1)
    assert info.value is error
    [record] = sent
    assert record.responses is None
    assert record.exception is error
    assert record.kwargs == {"x": 1}
    assert "raised ValueError('receiver failed')" in repr(record)


def test_capture_of_asend_with_async_receivers(sig):
    async def async_receiver(sender, **kwargs):
        await asyncio.sleep(0)
        return ("async", kwargs["x"])

    def sync_receiver(sender, **kwargs):
        return ("sync", kwargs["x"])

    async def failing(sender, **kwargs):
        raise KeyError("async failure")

    sig.connect(async_receiver)
    sig.connect(sync_receiver)

    async def main():
        with capture(sig) as sent:
            first = await sig.asend(sender=Sender, x=1)
            sig.connect(failing)
            second = await sig.asend_robust(Sender, x=2)
            with pytest.raises(KeyError):
                await sig.asend(Sender, x=3)
        return sent, first, second

    sent, first, second = asyncio.run(main())
    assert first == [(sync_receiver, ("sync", 1)), (async_receiver, ("async", 1))]
    assert second[:2] == [(sync_receiver, ("sync", 2)), (async_receiver, ("async", 2))]
    assert second[2][0] is failing and isinstance(second[2][1], KeyError)
    assert [(r.method, r.kwargs) for r in sent] == [
        ("asend", {"x": 1}),
        ("asend_robust", {"x": 2}),
        ("asend", {"x": 3}),
    ]
    assert sent[0].responses == first
    assert sent[1].responses == second
    assert sent[2].responses is None
    assert isinstance(sent[2].exception, KeyError)


def test_capture_of_async_receivers_through_send(sig):
    async def async_receiver(sender, **kwargs):
        return "async"

    sig.connect(async_receiver)
    with capture(sig) as sent:
        assert sig.send(sender=None) == [(async_receiver, "async")]
    assert sent[0].responses == [(async_receiver, "async")]


def test_capture_does_not_change_responses(sig, recorder):
    specific = Recorder("specific")
    sig.connect(specific, sender=Sender)
    plain = [sig.send(sender=Sender, x=1), sig.send_robust(sender=None, x=2)]
    with capture(sig):
        captured = [sig.send(sender=Sender, x=1), sig.send_robust(sender=None, x=2)]
    assert captured == plain


def test_capture_for_one_sender(sig, recorder):
    with capture(sig, sender=Sender) as sent:
        sig.send(sender=Sender, x=1)
        assert sig.send(sender=None, x=2) == [(recorder, "recorder")]
        sig.send(sender=Sender(), x=3)
    assert [record.kwargs for record in sent] == [{"x": 1}]
    assert len(recorder.calls) == 3


def test_records_are_copies(sig):
    named = {"x": [1]}
    with capture(sig) as sent:
        responses = sig.send(sender=None, **named)
        responses.append("changed by the caller")
    assert sent[0].kwargs == {"x": [1]}
    assert sent[0].kwargs is not named
    assert sent[0].responses == []


def test_nested_sends_are_recorded_in_start_order(sig):
    def resend(sender, depth, **kwargs):
        if depth:
            sig.send(sender=sender, depth=depth - 1)
        return depth

    sig.connect(resend)
    with capture(sig) as sent:
        sig.send(sender=None, depth=2)
    assert [record.kwargs["depth"] for record in sent] == [2, 1, 0]
    assert [record.responses for record in sent] == [
        [(resend, 2)],
        [(resend, 1)],
        [(resend, 0)],
    ]


def test_matching_and_assertions(sig):
    with capture(sig) as sent:
        sig.send(sender=Sender, x=1, y="a")
        sig.send(sender=Sender, x=2, y="a")
        sig.send(sender=None, x=1)
    assert sent.matching(x=1) == [sent[0], sent[2]]
    assert sent.matching(sender=None) == [sent[2]]
    assert sent.matching(sender=Sender, y="a") == [sent[0], sent[1]]
    assert sent.matching(z=1) == []
    assert sent.assert_sent() is sent[0]
    assert sent.assert_sent(sender=Sender, x=2) is sent[1]
    assert sent.assert_sent(x=mock.ANY, y="a") is sent[0]
    assert sent.assert_sent_once(sender=None) is sent[2]
    assert sent.assert_sent_once(x=2) is sent[1]
    sent.assert_not_sent(x=3)
    sent.assert_not_sent(sender=object())
    sent.assert_not_sent(sender=Sender, y="b")


# Module-level, so that failure messages name them.
order_paid = fastsignal.Signal()
order_paid_py = fastsignal.PySignal()


@pytest.fixture(params=["order_paid", "order_paid_py"])
def orders(request):
    signal = globals()[request.param]
    with capture(signal) as sent:
        signal.send(sender="shop", order=1, total=10)
        signal.send_robust(sender="shop", order=2, total=20)
        signal.send(sender="warehouse", order=1)
    return SimpleNamespace(name=request.param, sent=sent)


def test_assert_sent_message(orders):
    with pytest.raises(AssertionError) as info:
        orders.sent.assert_sent(sender="shop", order=3)
    assert str(info.value) == (
        f"expected {orders.name} to be sent with sender='shop', order=3; no send matched.\n"
        "Recorded sends (3):\n"
        "  [0] send(sender='shop', order=1, total=10)\n"
        "  [1] send_robust(sender='shop', order=2, total=20)\n"
        "  [2] send(sender='warehouse', order=1)"
    )


def test_assert_sent_once_message(orders):
    with pytest.raises(AssertionError) as info:
        orders.sent.assert_sent_once(order=1)
    assert str(info.value) == (
        f"expected {orders.name} to be sent once with order=1; 2 sends matched ([0], [2]).\n"
        "Recorded sends (3):\n"
        "  [0] send(sender='shop', order=1, total=10)\n"
        "  [1] send_robust(sender='shop', order=2, total=20)\n"
        "  [2] send(sender='warehouse', order=1)"
    )
    with pytest.raises(AssertionError, match=r"to be sent once with order=5; no send matched\."):
        orders.sent.assert_sent_once(order=5)


def test_assert_not_sent_message(orders):
    with pytest.raises(AssertionError) as info:
        orders.sent.assert_not_sent(sender="warehouse")
    assert str(info.value) == (
        f"expected {orders.name} not to be sent with sender='warehouse'; 1 send matched ([2]).\n"
        "Recorded sends (3):\n"
        "  [0] send(sender='shop', order=1, total=10)\n"
        "  [1] send_robust(sender='shop', order=2, total=20)\n"
        "  [2] send(sender='warehouse', order=1)"
    )
    with pytest.raises(AssertionError) as info:
        orders.sent.assert_not_sent()
    assert str(info.value).startswith(f"expected {orders.name} not to be sent; 3 sends matched")


def test_message_when_nothing_was_sent():
    with capture(order_paid, sender="shop") as sent:
        order_paid.send(sender="warehouse", order=1)
    with pytest.raises(AssertionError) as info:
        sent.assert_sent()
    assert str(info.value) == (
        "expected order_paid to be sent; no send matched.\nRecorded sends from sender='shop': none."
    )


def test_message_shortens_long_values():
    with capture(order_paid) as sent:
        order_paid.send(sender="shop", note="x" * 500, items=list(range(100)))
    with pytest.raises(AssertionError) as info:
        sent.assert_sent(note="y")
    [line] = [line for line in str(info.value).splitlines() if line.startswith("  [0]")]
    assert len(line) < 250
    assert "..." in line


def test_message_survives_a_broken_repr():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no repr")

    with capture(order_paid) as sent:
        order_paid.send(sender=Broken())
    with pytest.raises(AssertionError, match=r"\[0\] send\(sender=<Broken instance at 0x"):
        sent.assert_sent(x=1)


def test_reprs(sig):
    with capture(order_paid) as sent:
        order_paid.send(sender="shop", order=1)
        assert repr(sent) == "<SignalCapture order_paid (active, 1 send)>"
    assert repr(sent) == "<SignalCapture order_paid (stopped, 1 send)>"
    assert repr(sent[0]) == "<CapturedSend send(sender='shop', order=1): 0 responses>"
    mute = muted(order_paid, order_paid_py, sender="shop")
    assert repr(mute) == "<MutedSignals order_paid, order_paid_py, sender='shop' (inactive)>"
    assert isinstance(mute, MutedSignals) and isinstance(sent, SignalCapture)


def test_capture_with_the_same_wrappers_for_all_helpers(sig):
    """Helpers share one wrapper per method: they never stack."""
    with capture(sig):
        wrapper = vars(sig)["send"]
        with muted(sig), capture(sig), muted(sig, sender=Sender):
            assert vars(sig)["send"] is wrapper
    assert _interception._interceptions == {}


def test_capture_does_not_keep_the_signal_alive(engine):
    sig = engine.Signal()
    with capture(sig):
        sig.send(sender=None)
    ref = __import__("weakref").ref(sig)
    del sig
    gc.collect()
    assert ref() is None


# -- Django's model signals ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tables():
    call_command("migrate", run_syncdb=True, verbosity=0)


@pytest.fixture
def db(tables):
    """A transaction rolled back after the test."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture(params=["django", "installed"])
def dispatcher(request, engine):
    """Django's dispatcher, or fastsignal's installed on ``engine``."""
    if request.param == "django" and engine.name == "compiled":
        pytest.skip("Django's own dispatcher does not depend on the engine: run once")
    assert not fsd.is_installed(), "fastsignal.django was left installed"
    if request.param == "installed":
        assert fsd.install(engine=engine.module)
    yield request.param
    if request.param == "installed":
        assert fsd.uninstall()
    for signal in (pre_init, post_init, pre_save, post_save, pre_delete, post_delete):
        assert_pristine(signal)


def test_model_signals_are_muted(dispatcher, db):
    calls = Recorder()
    with connected(post_save, calls, sender=Group), connected(pre_save, calls, sender=Group):
        with muted(pre_save, post_save):
            Group.objects.create(name="quiet")
            assert not post_save.has_listeners(Group)
        assert calls.calls == []
        Group.objects.create(name="loud")
        assert [call["signal"] for call in calls.calls] == [pre_save, post_save]


def test_model_signals_are_muted_for_one_sender(dispatcher, db):
    calls = Recorder()
    with connected(post_save, calls), muted(post_save, sender=User):
        User.objects.create(username="quiet")
        Group.objects.create(name="loud")
    assert [call["sender"] for call in calls.calls] == [Group]


def test_muted_delete_signals_let_the_collector_take_its_fast_path(dispatcher, db):
    """Django asks ``has_listeners`` whether a delete may skip the signals."""
    from django.db.models.deletion import Collector

    through = User.groups.through  # no relations point to it: only listeners prevent it
    calls = Recorder()

    def can_fast_delete():
        return Collector(using="default").can_fast_delete(through.objects.all())

    assert can_fast_delete()
    with connected(pre_delete, calls, sender=through), connected(post_delete, calls):
        assert not can_fast_delete()
        with muted(pre_delete, post_delete):
            assert can_fast_delete()
        with muted(pre_delete, post_delete, sender=through):
            assert can_fast_delete()
        with muted(pre_delete, post_delete, sender=Group):
            assert not can_fast_delete()
        group = Group.objects.create(name="doomed")
        with muted(pre_delete, post_delete):
            group.delete()
        assert calls.calls == []
        Group.objects.create(name="heard").delete()
        assert [call["signal"] for call in calls.calls] == [post_delete]
    assert not Group.objects.filter(name="doomed").exists()


def test_model_signals_are_captured(dispatcher, db):
    with capture(post_save, sender=User) as sent:
        user = User.objects.create(username="alice")
        user.save(update_fields=["username"])
        Group.objects.create(name="ignored")
    assert len(sent) == 2
    first = sent.assert_sent_once(sender=User, created=True)
    assert first.kwargs["instance"] is user
    assert first.method == "send"
    sent.assert_sent(created=False, update_fields=frozenset({"username"}))
    sent.assert_not_sent(sender=Group)


def test_instance_signals_without_a_database(dispatcher):
    with capture(pre_init, sender=User) as before, capture(post_init, sender=User) as after:
        with muted(post_init, sender=Group):
            user = User(username="alice")
            Group(name="staff")
    # Django passes Model.__init__'s own dict, and empties it: records keep what was passed.
    before.assert_sent_once(sender=User, args=())
    assert after.assert_sent_once().kwargs == {"instance": user}


def test_model_signal_connected_with_a_lazy_sender(dispatcher):
    calls = Recorder()
    with connected(post_init, calls, sender="auth.Group"):
        Group(name="staff")
    Group(name="later")
    assert len(calls.calls) == 1
    assert calls.calls[0]["instance"].name == "staff"


def test_muted_decorates_generator_functions_for_as_long_as_they_run(engine):
    sig = engine.Signal()
    calls = []
    sig.connect(lambda sender, **kwargs: calls.append(sender), weak=False)

    @muted(sig)
    def fixture_like():
        sig.send("setup")
        yield "value"
        sig.send("teardown")

    @muted(sig)
    async def async_fixture_like():
        sig.send("async setup")
        yield "value"

    generator = fixture_like()
    assert next(generator) == "value"
    sig.send("while suspended")  # a pytest yield fixture mutes the test it serves
    with pytest.raises(StopIteration):
        next(generator)
    sig.send("after")

    async def consume():
        return [item async for item in async_fixture_like()]

    assert asyncio.run(consume()) == ["value"]
    assert calls == ["after"]


def test_connected_keeps_a_receiver_connected_for_a_lazy_model_sender():
    def on_group_saved(sender, **kwargs):
        pass

    post_save.connect(on_group_saved, sender=Group, weak=False)
    try:
        with connected(post_save, on_group_saved, sender="auth.Group", weak=False):
            pass
        assert post_save.disconnect(on_group_saved, sender=Group)
    finally:
        post_save.disconnect(on_group_saved, sender=Group)


# -- lazy "app_label.Model" senders ---------------------------------------------------------


def test_muted_with_a_lazy_sender_mutes_that_model(dispatcher):
    calls = Recorder()
    with connected(post_init, calls):
        with muted(post_init, sender="auth.Group"):
            assert not post_init.has_listeners(Group)
            Group(name="quiet")
            User(username="heard")
    assert [call["sender"] for call in calls.calls] == [User]


def test_capture_with_a_lazy_sender_records_that_model(dispatcher):
    with capture(post_init, sender="auth.Group") as sent:
        group = Group(name="staff")
        User(username="ignored")
    assert sent.assert_sent_once().kwargs == {"instance": group}
    with pytest.raises(AssertionError, match="expected post_init not to be sent"):
        sent.assert_not_sent()


@pytest.mark.parametrize("helper", [muted, capture])
@pytest.mark.parametrize(
    ("sender", "reason"),
    [("auth.Nope", "App 'auth' doesn't have a 'Nope' model"), ("nope", "not of the form")],
)
def test_a_lazy_sender_naming_no_model_is_an_error(dispatcher, helper, sender, reason):
    """Never a helper that silently mutes or records nothing."""
    with pytest.raises(LookupError, match=rf"sender='{sender}'.*post_init.*{reason}"):
        with helper(post_init, sender=sender):
            pass
    assert_pristine(post_init)


def test_a_string_sender_of_a_plain_signal_is_a_sender(sig, recorder):
    with muted(sig, sender="auth.Group"), capture(sig, sender="auth.Group") as sent:
        sig.send("auth.Group")
        sig.send("other")
    assert [call["sender"] for call in recorder.calls] == ["other"]
    assert [record.sender for record in sent] == ["auth.Group"]


# -- muted on a class ------------------------------------------------------------------------


def _run_test_case(case):
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(case).run(result)
    return result


def test_muted_test_case_runs_every_test_and_its_class_set_up_muted(engine):
    sig = engine.Signal()
    heard = []
    sig.connect(lambda sender, **kwargs: heard.append(sender), weak=False)

    @muted(sig)
    class Case(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            super().setUpClass()
            sig.send("setUpClass")

        def setUp(self):
            sig.send("setUp")

        def test_one(self):
            sig.send("test_one")

        def test_two(self):
            sig.send("test_two")

        def test_three(self):
            sig.send("test_three")

        @classmethod
        def tearDownClass(cls):
            sig.send("tearDownClass")
            super().tearDownClass()

    result = _run_test_case(Case)
    assert isinstance(Case, type)
    assert (result.testsRun, result.errors, result.failures) == (3, [], [])
    assert heard == []
    assert_pristine(sig)
    sig.send("after")
    assert heard == ["after"]


def test_muted_test_case_without_a_class_set_up_of_its_own(engine):
    sig = engine.Signal()
    heard = []
    sig.connect(lambda sender, **kwargs: heard.append(sender), weak=False)

    @muted(sig)
    class Base(unittest.TestCase):
        def test_base(self):
            sig.send("test_base")

    class Derived(Base):
        def test_derived(self):
            sig.send("test_derived")

    assert _run_test_case(Base).testsRun == 1
    assert _run_test_case(Derived).testsRun == 2
    assert heard == []
    assert_pristine(sig)


def test_muted_test_case_unmutes_when_its_class_set_up_fails(engine):
    sig = engine.Signal()

    @muted(sig)
    class Case(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            raise RuntimeError("broken set-up")

        def test_never_run(self):
            pass

    result = _run_test_case(Case)
    assert result.testsRun == 0
    assert "broken set-up" in result.errors[0][1]
    assert_pristine(sig)


def test_muted_django_test_case_mutes_set_up_test_data(dispatcher, tables):
    """A Django ``TestCase``: ``setUpTestData``, each test and ``setUp`` run muted."""
    from django.test import TestCase

    calls = Recorder()

    @muted(post_save, sender="auth.Group")
    class Case(TestCase):
        @classmethod
        def setUpTestData(cls):
            cls.group = Group.objects.create(name="class data")

        def setUp(self):
            Group.objects.create(name="per test")

        def test_create(self):
            Group.objects.create(name="in a test")
            User.objects.create(username="heard")

        def test_save(self):
            self.group.save()

    with connected(post_save, calls):
        result = _run_test_case(Case)
    assert (result.testsRun, result.errors, result.failures) == (2, [], [])
    assert [call["sender"] for call in calls.calls] == [User]
    assert not Group.objects.exists()  # Django's TestCase rolled everything back


def test_muted_factory_boy_factory_builds_objects_muted(dispatcher, db):
    factory = pytest.importorskip("factory")
    from factory.django import DjangoModelFactory

    calls = Recorder()

    @muted(post_save)
    class GroupFactory(DjangoModelFactory):
        class Meta:
            model = Group

        name = factory.Sequence(lambda n: f"group {n}")

    with connected(post_save, calls):
        group = GroupFactory()
        GroupFactory.create_batch(2)
        GroupFactory.build()
        Group.objects.create(name="heard")
    assert Group.objects.filter(pk=group.pk).exists()
    assert [call["instance"].name for call in calls.calls] == ["heard"]


def test_muted_refuses_any_other_class(engine):
    sig = engine.Signal()

    class Plain:
        def method(self):
            sig.send("method")

    with pytest.raises(TypeError, match=r"cannot decorate the class .*Plain.*decorate its methods"):
        muted(sig)(Plain)
