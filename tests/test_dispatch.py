"""Core behaviour of ``Signal``: the behaviours Django's own dispatch tests check, and more.

Every test takes the ``engine`` fixture, so it runs on the compiled engine and on
the pure-Python one.
"""

import asyncio
import functools
import inspect
import logging
import sys
import types
import warnings
import weakref

import pytest
from django.test.utils import override_settings

from fastsignal import receiver
from fastsignal._common import make_id

from helpers import (
    Callable,
    Sender,
    SlotsCallable,
    SlotsSender,
    assert_clean,
    collect,
    django61_signal_class,
    receiver_1_arg,
    receiver_2,
)


@pytest.fixture
def sig(engine):
    return engine.Signal()


# -- sending -------------------------------------------------------------------------


def test_send(sig):
    sig.connect(receiver_1_arg, sender=Sender)
    assert sig.send(sender=Sender, val="test") == [(receiver_1_arg, "test")]
    assert sig.disconnect(receiver_1_arg, sender=Sender) is True
    assert_clean(sig)


def test_send_positional_sender(sig):
    sig.connect(receiver_1_arg, sender=Sender)
    assert sig.send(Sender, val="test") == [(receiver_1_arg, "test")]
    assert sig.send_robust(Sender, val="test") == [(receiver_1_arg, "test")]


def test_send_no_receivers(sig):
    assert sig.send(sender=Sender, val="test") == []
    assert sig.send_robust(sender=Sender, val="test") == []
    assert sig.send(sender=None) == []
    assert sig.has_listeners() is False


def test_send_returns_a_new_list_each_time(sig):
    sig.connect(receiver_1_arg)
    first = sig.send(sender=None, val=1)
    first.append("junk")
    assert sig.send(sender=None, val=2) == [(receiver_1_arg, 2)]
    assert sig.send(sender=None, val=2) is not sig.send(sender=None, val=2)


def test_send_connected_no_sender(sig):
    sig.connect(receiver_1_arg)
    assert sig.send(sender=Sender, val="test") == [(receiver_1_arg, "test")]
    assert sig.send(sender=None, val="none") == [(receiver_1_arg, "none")]
    assert sig.send(sender=object(), val="obj") == [(receiver_1_arg, "obj")]
    assert sig.disconnect(receiver_1_arg) is True
    assert_clean(sig)


def test_send_different_sender(sig):
    sig.connect(receiver_1_arg, sender=object)
    assert sig.send(sender=Sender, val="test") == []
    assert sig.send_robust(sender=Sender, val="test") == []
    assert sig.send(sender=None, val="test") == []
    assert sig.has_listeners(Sender) is False
    assert sig.has_listeners(None) is False
    assert sig.has_listeners(object) is True
    assert sig.send(sender=object, val="x") == [(receiver_1_arg, "x")]
    sig.disconnect(receiver_1_arg, sender=object)
    assert_clean(sig)


def test_receivers_get_signal_sender_and_named_arguments(sig):
    calls = []

    def rec(**kwargs):
        calls.append(kwargs)
        return len(calls)

    sig.connect(rec)
    assert sig.send(Sender, a=1, b="two") == [(rec, 1)]
    assert calls == [{"signal": sig, "sender": Sender, "a": 1, "b": "two"}]
    assert calls[0]["signal"] is sig
    assert sig.send_robust(None) == [(rec, 2)]
    assert calls[1] == {"signal": sig, "sender": None}


def test_many_named_arguments(sig):
    """More keyword arguments than fit in a small fixed buffer."""
    seen = []

    def rec(**kwargs):
        seen.append(kwargs)
        return sorted(kwargs)

    sig.connect(rec)
    named = {f"k{i}": i for i in range(40)}
    result = sig.send(Sender, **named)
    assert result == [(rec, sorted(["signal", "sender", *named]))]
    assert seen[0] == {"signal": sig, "sender": Sender, **named}
    assert sig.send_robust(Sender, **named)[0][1] == result[0][1]


def test_receiver_with_positional_parameters_gets_keywords(sig):
    def rec(sender, val, **kwargs):
        return (sender, val)

    sig.connect(rec)
    assert sig.send(Sender, val=3) == [(rec, (Sender, 3))]


def test_results_in_connection_order_interleaving_senders(sig):
    def r1(**kwargs):
        return 1

    def r2(**kwargs):
        return 2

    def r3(**kwargs):
        return 3

    def r4(**kwargs):
        return 4

    def r5(**kwargs):
        return 5

    other = Sender()
    sig.connect(r1)
    sig.connect(r2, sender=Sender)
    sig.connect(r3)
    sig.connect(r4, sender=Sender)
    sig.connect(r5, sender=other)
    assert sig.send(Sender) == [(r1, 1), (r2, 2), (r3, 3), (r4, 4)]
    assert sig.send_robust(Sender) == [(r1, 1), (r2, 2), (r3, 3), (r4, 4)]
    assert sig.send(other) == [(r1, 1), (r3, 3), (r5, 5)]
    assert sig.send(None) == [(r1, 1), (r3, 3)]
    assert sig.send(object()) == [(r1, 1), (r3, 3)]
    # Reconnecting after a disconnect puts the receiver last.
    sig.disconnect(r1)
    sig.connect(r1)
    assert sig.send(Sender) == [(r2, 2), (r3, 3), (r4, 4), (r1, 1)]
    assert sig.send(None) == [(r3, 3), (r1, 1)]
    # Connecting a receiver already connected for the sender keeps its place.
    sig.connect(r2, sender=Sender)
    assert [r for r, _ in sig.send(Sender)] == [r2, r3, r4, r1]


def test_bound_method_results(sig):
    obj = Callable()
    sig.connect(obj.a)
    sig.connect(obj.b, weak=False)
    result = sig.send(Sender, val=1)
    assert result == [(obj.a, ("a", 1)), (obj.b, ("b", 1))]
    for rec, _ in result:
        assert inspect.ismethod(rec)
        assert rec.__self__ is obj
    assert result[0][0].__func__ is Callable.a
    assert result[1][0].__func__ is Callable.b


def test_callable_object_receiver(sig):
    obj = Callable()
    sig.connect(obj)
    assert sig.send(Sender, val=5) == [(obj, 5)]
    assert sig.send(Sender, val=5)[0][0] is obj


def test_lambda_and_builtin_style_receivers(sig):
    f = lambda **kwargs: "lambda"  # noqa: E731
    sig.connect(f)
    assert sig.send(None) == [(f, "lambda")]


def test_classmethod_and_staticmethod_receivers(sig):
    class K:
        @classmethod
        def cm(cls, **kwargs):
            return ("cm", cls)

        @staticmethod
        def sm(**kwargs):
            return "sm"

    sig.connect(K.cm)
    sig.connect(K.sm)
    assert sig.send(None) == [(K.cm, ("cm", K)), (K.sm, "sm")]


def test_send_with_signal_keyword_raises_type_error(sig):
    sig.connect(receiver_1_arg)
    with pytest.raises(TypeError, match="multiple values for keyword argument 'signal'"):
        sig.send(Sender, signal="x", val=1)


def test_send_robust_with_signal_keyword_returns_type_error(sig, caplog):
    sig.connect(receiver_1_arg)
    sig.connect(receiver_2)
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        result = sig.send_robust(Sender, signal="x", val=1)
    assert [r for r, _ in result] == [receiver_1_arg, receiver_2]
    for _, err in result:
        assert isinstance(err, TypeError)
        assert "multiple values for keyword argument 'signal'" in str(err)
    assert len(caplog.records) == 2


def test_send_with_signal_keyword_and_no_receivers(sig):
    assert sig.send(Sender, signal="x") == []
    assert sig.send_robust(Sender, signal="x") == []


# -- unweakrefable and unhashable senders ----------------------------------------------


def _odd_senders():
    return [
        pytest.param(lambda: object(), id="object()"),
        pytest.param(lambda: 42, id="int"),
        pytest.param(lambda: 10**30, id="bigint"),
        pytest.param(lambda: "a string", id="str"),
        pytest.param(lambda: (1, 2), id="tuple"),
        pytest.param(lambda: SlotsSender(), id="slots-instance"),
        pytest.param(lambda: [1, 2], id="list"),
        pytest.param(lambda: {"a": 1}, id="dict"),
        pytest.param(lambda: {1, 2}, id="set"),
        pytest.param(lambda: Sender(), id="plain-instance"),
        pytest.param(lambda: Callable().a, id="bound-method"),
    ]


@pytest.mark.parametrize("make_sender", _odd_senders())
def test_unusual_senders(engine, make_sender):
    sig = engine.Signal()
    sender = make_sender()
    other = make_sender()
    sig.connect(receiver_1_arg, sender=sender)
    sig.connect(receiver_2)
    assert sig.has_listeners(sender) is True
    assert sig.send(sender=sender, val="test") == [
        (receiver_1_arg, "test"),
        (receiver_2, ("receiver_2", "test")),
    ]
    assert sig.send_robust(sender=sender, val="r") == [
        (receiver_1_arg, "r"),
        (receiver_2, ("receiver_2", "r")),
    ]
    if other is not sender and make_id(other) != make_id(sender):
        assert sig.send(sender=other, val="o") == [(receiver_2, ("receiver_2", "o"))]
    assert sig.disconnect(receiver_1_arg, sender=sender) is True
    assert sig.disconnect(receiver_1_arg, sender=sender) is False
    assert sig.send(sender=sender, val="x") == [(receiver_2, ("receiver_2", "x"))]
    assert sig.disconnect(receiver_2) is True
    assert sig.has_listeners(sender) is False
    assert_clean(sig)


def test_unweakrefable_sender_with_caching(engine):
    """fastsignal accepts non-weakrefable senders on a caching signal (Django raises)."""
    sig = engine.Signal(use_caching=True)
    sender = object()
    sig.connect(receiver_1_arg, sender=sender)
    sig.connect(receiver_2, sender=None)
    assert sig.send(sender, val=1) == [(receiver_1_arg, 1), (receiver_2, ("receiver_2", 1))]
    assert sig.send(None, val=2) == [(receiver_2, ("receiver_2", 2))]
    assert sig.send([1], val=3) == [(receiver_2, ("receiver_2", 3))]
    assert sig.has_listeners(None) is True
    assert sig.has_listeners(sender) is True


def test_equal_but_distinct_senders_are_distinct(sig):
    a = [1]
    b = [1]
    assert a == b
    sig.connect(receiver_1_arg, sender=a)
    assert sig.send(b, val=1) == []
    assert sig.send(a, val=1) == [(receiver_1_arg, 1)]
    assert sig.disconnect(receiver_1_arg, sender=b) is False
    assert sig.disconnect(receiver_1_arg, sender=a) is True


# -- garbage collection (the rest is in test_weakrefs.py) ------------------------------


def test_garbage_collected_receiver(sig):
    a = Callable()
    sig.connect(a.a, sender=Sender)
    del a
    collect()
    assert sig.send(sender=Sender, val="test") == []
    assert_clean(sig)


def test_garbage_collected_sender_drops_its_receivers(sig):
    sender = Sender()
    sig.connect(receiver_1_arg, sender=sender)
    sig.connect(receiver_2, sender=sender, weak=False)
    assert len(sig.receivers) == 2
    del sender
    collect()
    assert_clean(sig)


def test_new_sender_does_not_inherit_a_dead_senders_receivers(sig):
    """Django 6: receivers of a collected sender never reach a new object at its address."""

    def first_receiver(attempt, **kwargs):
        return ("first", attempt)

    def second_receiver(attempt, **kwargs):
        return ("second", attempt)

    sender = Sender()
    sig.connect(first_receiver, sender)
    sig.connect(receiver_2, sender, weak=False)
    assert sig.send(sender, attempt=1) == [
        (first_receiver, ("first", 1)),
        (receiver_2, ("receiver_2", None)),
    ]
    old_id = id(sender)
    del sender
    collect()

    # Find a new object at the dead sender's address (CPython reuses it at once
    # most of the time); keep the misses alive so that the search moves on.
    misses = []
    sender = Sender()
    while id(sender) != old_id and len(misses) < 10_000:
        misses.append(sender)
        sender = Sender()
    del misses
    reused = id(sender) == old_id

    assert sig.send(sender, attempt=2) == []
    assert sig.has_listeners(sender) is False
    sig.connect(second_receiver, sender)
    assert sig.send(sender, attempt=3) == [(second_receiver, ("second", 3))]
    assert len(sig.receivers) == 1
    if not reused:  # CPython's allocator gives the address back practically always
        pytest.skip("no new sender was allocated at the dead sender's address")


def test_new_sender_at_reused_address_without_intermediate_operation(sig):
    """Connect for the new object right away: the dead entry must not block it."""

    def first_receiver(**kwargs):
        return "first"

    sender = Sender()
    sig.connect(first_receiver, sender)
    sig.send(sender)  # build the prepared receivers of that sender
    old_id = id(sender)
    del sender
    collect()
    misses = []
    sender = Sender()
    while id(sender) != old_id and len(misses) < 10_000:
        misses.append(sender)
        sender = Sender()
    if id(sender) != old_id:  # CPython's allocator gives the address back practically always
        pytest.skip("no new sender was allocated at the dead sender's address")
    # The same receiver for the new sender has the same lookup key as the dead entry.
    sig.connect(first_receiver, sender)
    assert sig.send(sender) == [(first_receiver, "first")]
    assert len(sig.receivers) == 1
    assert sig.disconnect(first_receiver, sender) is True
    assert_clean(sig)


def test_cached_signal_does_not_keep_senders_alive(engine):
    import weakref

    sig = engine.Signal(use_caching=True)

    class sender:
        pass

    wref = weakref.ref(sender)
    sig.connect(receiver_1_arg)
    assert sig.send(sender, val="garbage") == [(receiver_1_arg, "garbage")]
    del sender
    collect()
    assert wref() is None
    assert sig.disconnect(receiver_1_arg) is True


# -- registration --------------------------------------------------------------------


def test_multiple_registration(sig):
    a = Callable()
    for _ in range(6):
        sig.connect(a)
    result = sig.send(sender=Sender, val="test")
    assert len(result) == 1
    assert len(sig.receivers) == 1
    del a
    del result
    collect()
    assert_clean(sig)


def test_multiple_registration_weak_and_strong_is_one(sig):
    sig.connect(receiver_1_arg)
    sig.connect(receiver_1_arg, weak=False)
    assert len(sig.receivers) == 1
    assert sig.send(None, val=1) == [(receiver_1_arg, 1)]


def test_same_receiver_for_different_senders_is_distinct(sig):
    sig.connect(receiver_1_arg, sender=Sender)
    sig.connect(receiver_1_arg, sender=object)
    sig.connect(receiver_1_arg)
    assert len(sig.receivers) == 3
    # Sender-specific and any-sender registrations both fire for that sender.
    assert sig.send(Sender, val=1) == [(receiver_1_arg, 1), (receiver_1_arg, 1)]
    assert sig.disconnect(receiver_1_arg, sender=Sender) is True
    assert sig.send(Sender, val=1) == [(receiver_1_arg, 1)]
    assert sig.send(object, val=2) == [(receiver_1_arg, 2), (receiver_1_arg, 2)]


def test_uid_registration(sig):
    def uid_based_receiver_1(**kwargs):
        return 1

    def uid_based_receiver_2(**kwargs):
        return 2

    sig.connect(uid_based_receiver_1, dispatch_uid="uid")
    sig.connect(uid_based_receiver_2, dispatch_uid="uid")
    assert len(sig.receivers) == 1
    assert sig.send(None) == [(uid_based_receiver_1, 1)]
    assert sig.disconnect(dispatch_uid="uid") is True
    assert_clean(sig)


def test_uid_and_receiver_identity_are_separate_keys(sig):
    sig.connect(receiver_1_arg, dispatch_uid="uid")
    sig.connect(receiver_1_arg)
    assert len(sig.receivers) == 2
    assert sig.disconnect(receiver_1_arg) is True
    assert sig.send(None, val=1) == [(receiver_1_arg, 1)]
    assert sig.disconnect(receiver_1_arg) is False
    assert sig.disconnect(dispatch_uid="uid") is True
    assert_clean(sig)


def test_empty_string_uid_is_ignored(sig):
    sig.connect(receiver_1_arg, dispatch_uid="")
    sig.connect(receiver_2, dispatch_uid="")
    assert len(sig.receivers) == 2  # both keyed by receiver identity
    sig.connect(receiver_1_arg)
    assert len(sig.receivers) == 2
    assert sig.disconnect(dispatch_uid="") is False
    assert sig.disconnect(receiver_1_arg, dispatch_uid="") is True
    assert sig.disconnect(receiver_2) is True
    assert_clean(sig)


def test_falsy_uids_are_ignored(sig):
    sig.connect(receiver_1_arg, dispatch_uid=0)
    sig.connect(receiver_2, dispatch_uid=0)
    sig.connect(receiver_2, dispatch_uid=())
    assert len(sig.receivers) == 2
    assert sig.disconnect(receiver_2) is True
    assert sig.disconnect(receiver_1_arg) is True


def test_same_uid_for_different_senders_is_distinct(sig):
    def r1(**kwargs):
        return 1

    def r2(**kwargs):
        return 2

    sig.connect(r1, sender=Sender, dispatch_uid="uid")
    sig.connect(r2, sender=object, dispatch_uid="uid")
    sig.connect(r2, sender=Sender, dispatch_uid="uid")  # taken for Sender
    assert len(sig.receivers) == 2
    assert sig.send(Sender) == [(r1, 1)]
    assert sig.send(object) == [(r2, 2)]
    assert sig.disconnect(dispatch_uid="uid") is False  # no any-sender registration
    assert sig.disconnect(dispatch_uid="uid", sender=object) is True
    assert sig.send(object) == []
    assert sig.send(Sender) == [(r1, 1)]
    assert sig.disconnect(r1, sender=Sender) is False  # registered under its uid
    assert sig.disconnect(dispatch_uid="uid", sender=Sender) is True
    assert_clean(sig)


def test_uid_disconnect_without_sender(sig):
    sig.connect(receiver_1_arg, dispatch_uid="u")
    sig.connect(receiver_2, sender=Sender, dispatch_uid="u")
    assert sig.disconnect(dispatch_uid="u") is True
    assert sig.send(Sender, val=1) == [(receiver_2, ("receiver_2", 1))]
    assert sig.disconnect(dispatch_uid="u") is False


@pytest.mark.parametrize("uid", [("a", 1), 17, 2.5, frozenset({"x"}), b"bytes"])
def test_non_string_uids(sig, uid):
    def r1(**kwargs):
        return 1

    def r2(**kwargs):
        return 2

    sig.connect(r1, dispatch_uid=uid)
    sig.connect(r2, dispatch_uid=uid)
    assert sig.send(None) == [(r1, 1)]
    assert sig.disconnect(dispatch_uid=uid) is True
    assert sig.disconnect(dispatch_uid=uid) is False
    assert_clean(sig)


def test_uid_receiver_is_weak_by_default(sig):
    def make():
        def r(**kwargs):
            return "r"

        return r

    r = make()
    sig.connect(r, dispatch_uid="uid")
    assert sig.send(None) == [(r, "r")]
    del r
    collect()
    assert_clean(sig)
    # The uid is free again.
    sig.connect(receiver_1_arg, dispatch_uid="uid")
    assert sig.send(None, val=1) == [(receiver_1_arg, 1)]


# -- send_robust -----------------------------------------------------------------------


def test_send_robust_success(sig):
    sig.connect(receiver_1_arg)
    assert sig.send_robust(sender=Sender, val="test") == [(receiver_1_arg, "test")]
    sig.disconnect(receiver_1_arg)
    assert_clean(sig)


def test_send_robust_no_receivers(sig):
    assert sig.send_robust(sender=Sender, val="test") == []


def test_send_robust_ignored_sender(sig):
    sig.connect(receiver_1_arg)
    assert sig.send_robust(sender=Sender, val="test") == [(receiver_1_arg, "test")]
    sig.connect(receiver_2, sender=object)
    assert sig.send_robust(sender=Sender, val="test") == [(receiver_1_arg, "test")]


def test_send_robust_fail(sig, caplog):
    def fails(val, **kwargs):
        raise ValueError("this")

    sig.connect(fails)
    sig.connect(receiver_1_arg)
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        result = sig.send_robust(sender=Sender, val="test")
    assert [r for r, _ in result] == [fails, receiver_1_arg]
    err = result[0][1]
    assert isinstance(err, ValueError)
    assert err.args == ("this",)
    assert isinstance(err.__traceback__, types.TracebackType)
    assert result[1][1] == "test"  # later receivers still run

    records = [r for r in caplog.records if r.name == "django.dispatch"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        "Error calling test_send_robust_fail.<locals>.fails in Signal.send_robust() (this)"
    )
    assert record.exc_info is not None
    exc_type, exc_value, exc_tb = record.exc_info
    assert exc_type is ValueError
    assert exc_value is err
    assert str(exc_value) == "this"
    assert isinstance(exc_tb, types.TracebackType)
    sig.disconnect(fails)
    sig.disconnect(receiver_1_arg)
    assert_clean(sig)


def test_send_robust_traceback_reaches_the_receiver(sig):
    def fails(**kwargs):
        raise KeyError("deep")

    sig.connect(fails)
    [(_, err)] = sig.send_robust(None)
    frames = []
    tb = err.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert frames[-1] == "fails"


def test_send_robust_bound_method_failure_logs_qualname(sig, caplog):
    class Failing:
        def method(self, **kwargs):
            raise RuntimeError("boom")

    obj = Failing()
    sig.connect(obj.method)
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        [(rec, err)] = sig.send_robust(None)
    assert rec == obj.method
    assert isinstance(err, RuntimeError)
    assert caplog.records[0].getMessage() == (
        "Error calling test_send_robust_bound_method_failure_logs_qualname.<locals>."
        "Failing.method in Signal.send_robust() (boom)"
    )


def test_send_robust_does_not_catch_base_exceptions(sig):
    def interrupts(**kwargs):
        raise KeyboardInterrupt

    called = []
    sig.connect(interrupts)
    sig.connect(lambda **kw: called.append(1), weak=False)
    with pytest.raises(KeyboardInterrupt):
        sig.send_robust(None)
    assert called == []


def test_send_propagates_and_stops(sig):
    called = []

    def first(**kwargs):
        called.append("first")

    def fails(**kwargs):
        raise ValueError("stop")

    def last(**kwargs):
        called.append("last")

    for r in (first, fails, last):
        sig.connect(r)
    with pytest.raises(ValueError, match="stop"):
        sig.send(None)
    assert called == ["first"]


def test_send_robust_partial_failure_logs_repr(sig, caplog):
    """Django crashes here (a partial has no ``__qualname__``); fastsignal logs its repr."""

    def fails(tag, **kwargs):
        raise ValueError(tag)

    p = functools.partial(fails, "tagged")
    sig.connect(p, weak=False)
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        [(rec, err)] = sig.send_robust(None)
    assert rec is p
    assert isinstance(err, ValueError) and err.args == ("tagged",)
    [record] = caplog.records
    assert record.getMessage() == f"Error calling {p!r} in Signal.send_robust() (tagged)"
    assert record.exc_info[1] is err


def test_send_robust_callable_object_failure_logs_repr(sig, caplog):
    """A callable instance has no ``__qualname__`` (Django crashes); its repr is logged."""

    class Odd:
        def __call__(self, **kwargs):
            raise ValueError("odd")

    obj = Odd()
    odder = Odd()
    odder.__qualname__ = 12  # not a str: ignored too
    sig.connect(obj)
    sig.connect(odder)
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        result = sig.send_robust(None)
    assert [r for r, _ in result] == [obj, odder]
    assert all(isinstance(err, ValueError) for _, err in result)
    assert [r.getMessage() for r in caplog.records] == [
        f"Error calling {obj!r} in Signal.send_robust() (odd)",
        f"Error calling {odder!r} in Signal.send_robust() (odd)",
    ]


# -- functools.partial -----------------------------------------------------------------


def test_partial_receiver_strong(sig):
    def base(tag, **kwargs):
        return tag

    p = functools.partial(base, "p1")
    sig.connect(p, weak=False)
    assert sig.send(None) == [(p, "p1")]
    wref = __import__("weakref").ref(p)
    del p
    collect()
    assert wref() is not None  # kept alive by the signal
    assert sig.send(None)[0][1] == "p1"
    assert sig.disconnect(wref()) is True
    collect()
    assert wref() is None


def test_partial_receiver_weak(sig):
    def base(tag, **kwargs):
        return tag

    p = functools.partial(base, "p2")
    sig.connect(p)
    assert sig.send(None) == [(p, "p2")]
    assert sig.send_robust(None) == [(p, "p2")]
    del p
    collect()
    assert sig.send(None) == []
    assert_clean(sig)


def test_two_partials_of_one_function_are_distinct(sig):
    def base(tag, **kwargs):
        return tag

    p1 = functools.partial(base, 1)
    p2 = functools.partial(base, 2)
    sig.connect(p1)
    sig.connect(p2)
    assert sig.send(None) == [(p1, 1), (p2, 2)]


# -- disconnection ---------------------------------------------------------------------


def test_disconnection(sig):
    receiver_1 = Callable()
    receiver_2 = Callable()
    receiver_3 = Callable()
    sig.connect(receiver_1)
    sig.connect(receiver_2)
    sig.connect(receiver_3)
    assert sig.disconnect(receiver_1) is True
    del receiver_2
    collect()
    assert sig.disconnect(receiver_3) is True
    assert_clean(sig)


def test_values_returned_by_disconnection(sig):
    receiver_1 = Callable()
    receiver_2 = Callable()
    sig.connect(receiver_1)
    assert sig.disconnect(receiver_1) is True
    assert sig.disconnect(receiver_2) is False
    assert sig.disconnect(receiver_1) is False
    assert_clean(sig)


def test_disconnect_needs_matching_sender(sig):
    sig.connect(receiver_1_arg, sender=Sender)
    assert sig.disconnect(receiver_1_arg) is False
    assert sig.disconnect(receiver_1_arg, sender=object) is False
    assert sig.send(Sender, val=1) == [(receiver_1_arg, 1)]
    assert sig.disconnect(receiver_1_arg, sender=Sender) is True
    assert_clean(sig)


def test_disconnect_middle_keeps_order(sig):
    rs = []
    for i in range(5):

        def r(i=i, **kwargs):
            return i

        rs.append(r)
        sig.connect(r, weak=False)
    assert sig.disconnect(rs[2]) is True
    assert sig.send(None) == [(rs[0], 0), (rs[1], 1), (rs[3], 3), (rs[4], 4)]
    assert sig.disconnect(rs[4]) is True
    assert sig.disconnect(rs[0]) is True
    assert sig.send(None) == [(rs[1], 1), (rs[3], 3)]
    assert [item[0] for item in sig.receivers] == [(id(rs[1]), id(None)), (id(rs[3]), id(None))]


def test_disconnect_dead_receiver_returns_false(sig):
    a = Callable()
    sig.connect(a.a)
    method = Callable.a
    del a
    collect()
    assert sig.disconnect(method) is False
    assert_clean(sig)


def test_disconnect_with_nothing(sig):
    assert sig.disconnect() is False
    assert sig.disconnect(None) is False
    assert sig.disconnect(dispatch_uid="missing") is False


# -- has_listeners ---------------------------------------------------------------------


def test_has_listeners(sig):
    assert sig.has_listeners() is False
    assert sig.has_listeners(sender=object()) is False
    receiver_1 = Callable()
    sig.connect(receiver_1)
    assert sig.has_listeners() is True
    assert sig.has_listeners(sender=object()) is True
    sig.disconnect(receiver_1)
    assert sig.has_listeners() is False
    assert sig.has_listeners(sender=object()) is False


def test_has_listeners_sender_specific(sig):
    sig.connect(receiver_1_arg, sender=Sender)
    assert sig.has_listeners(Sender) is True
    assert sig.has_listeners() is False
    assert sig.has_listeners(object) is False


def test_has_listeners_false_after_receiver_dies(sig):
    a = Callable()
    sig.connect(a.a, sender=Sender)
    sig.connect(a)
    assert sig.has_listeners(Sender) is True
    del a
    collect()
    assert sig.has_listeners(Sender) is False
    assert sig.has_listeners() is False


# -- the receiver decorator ------------------------------------------------------------


def test_receiver_single_signal(sig):
    state = []

    @receiver(sig)
    def f(val, **kwargs):
        state.append(val)
        return val

    sig.send(sender=None, val=True)
    assert state == [True]
    assert sig.send(None, val=2) == [(f, 2)]


def test_receiver_returns_the_function_unchanged(sig):
    def f(**kwargs):
        pass

    assert receiver(sig)(f) is f


@pytest.mark.parametrize("container", [list, tuple])
def test_receiver_signal_list(engine, container):
    signals = [engine.Signal() for _ in range(3)]
    state = []

    @receiver(container(signals))
    def f(val, **kwargs):
        state.append(val)

    signals[0].send(sender=None, val="a")
    signals[2].send(sender=None, val="c")
    signals[1].send(sender=None, val="b")
    assert state == ["a", "c", "b"]


def test_receiver_passes_connect_arguments(engine):
    s1, s2 = engine.Signal(), engine.Signal()

    @receiver([s1, s2], sender=Sender, dispatch_uid="deco", weak=False)
    def f(**kwargs):
        return "f"

    @receiver(s1, sender=Sender, dispatch_uid="deco")
    def g(**kwargs):
        return "g"

    assert s1.send(Sender) == [(f, "f")]
    assert s2.send(Sender) == [(f, "f")]
    assert s1.send(None) == []
    assert s1.disconnect(dispatch_uid="deco", sender=Sender) is True


def test_receiver_decorator_with_django_signal_list_and_ours(engine):
    import django.dispatch

    ours = engine.Signal()
    theirs = django.dispatch.Signal()

    @receiver([ours, theirs])
    def f(**kwargs):
        return "f"

    assert ours.send(None) == [(f, "f")]
    assert theirs.send(None) == [(f, "f")]


# -- argument checks -------------------------------------------------------------------


@override_settings(DEBUG=True)
def test_cannot_connect_no_kwargs(sig):
    def receiver_no_kwargs(sender):
        pass

    with pytest.raises(
        ValueError, match=r"^Signal receivers must accept keyword arguments \(\*\*kwargs\)\.$"
    ):
        sig.connect(receiver_no_kwargs)
    assert_clean(sig)


@override_settings(DEBUG=True)
def test_cannot_connect_method_without_kwargs(sig):
    class K:
        def m(self, sender):
            pass

    with pytest.raises(ValueError, match="must accept keyword arguments"):
        sig.connect(K().m)
    assert_clean(sig)


@override_settings(DEBUG=True)
def test_debug_accepts_kwargs_receivers(sig):
    sig.connect(receiver_1_arg)
    keep = Callable()
    sig.connect(keep)
    sig.connect(Callable().a)
    assert len(sig.receivers) == 3
    collect()
    assert sig.send(None, val=1) == [(receiver_1_arg, 1), (keep, 1)]


def test_without_debug_no_kwargs_check(sig):
    def receiver_no_kwargs(sender):
        return "called"

    sig.connect(receiver_no_kwargs)
    assert len(sig.receivers) == 1
    with pytest.raises(TypeError):
        sig.send(None)


@override_settings(DEBUG=True)
def test_cannot_connect_non_callable_debug(sig):
    with pytest.raises(TypeError, match=r"^Signal receivers must be callable\.$"):
        sig.connect(object())
    assert_clean(sig)


@pytest.mark.parametrize("value", [object(), None, 3, "text"])
def test_cannot_connect_non_callable_without_debug(sig, value):
    """Unlike Django, fastsignal rejects non-callables whatever DEBUG says."""
    from django.conf import settings

    assert settings.DEBUG is False
    with pytest.raises(TypeError, match=r"^Signal receivers must be callable\.$"):
        sig.connect(value)
    with pytest.raises(TypeError, match=r"^Signal receivers must be callable\.$"):
        sig.connect(value, weak=False, dispatch_uid="x")
    assert_clean(sig)


def test_weak_connect_of_unweakrefable_receiver_raises(sig):
    with pytest.raises(TypeError):
        sig.connect(SlotsCallable())
    assert_clean(sig)
    obj = SlotsCallable()
    sig.connect(obj, weak=False)
    assert sig.send(None) == [(obj, "slots")]


def test_failed_connect_leaves_signal_usable(sig):
    sig.connect(receiver_1_arg)
    with pytest.raises(TypeError):
        sig.connect(SlotsCallable())
    with pytest.raises(TypeError):
        sig.connect(42)
    assert sig.send(None, val=1) == [(receiver_1_arg, 1)]
    assert len(sig.receivers) == 1


# -- async receivers (smoke: sync first, then async ones, as Django does) --------------


def test_send_with_async_receivers(sig):
    async def async_rec(**kwargs):
        await asyncio.sleep(0)
        return "async"

    def sync_rec(**kwargs):
        return "sync"

    sig.connect(async_rec)
    sig.connect(sync_rec)
    assert sig.send(None) == [(sync_rec, "sync"), (async_rec, "async")]
    assert sig.has_listeners() is True
    sync_list, async_list = sig._live_receivers(None)
    assert sync_list == [sync_rec]
    assert async_list == [async_rec]


def test_send_robust_with_failing_async_receiver(sig, caplog):
    async def async_fails(**kwargs):
        raise ValueError("async boom")

    def sync_rec(**kwargs):
        return "sync"

    sig.connect(async_fails)
    sig.connect(sync_rec)
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        result = sig.send_robust(None)
    assert result[0] == (sync_rec, "sync")
    assert result[1][0] is async_fails
    assert isinstance(result[1][1], ValueError)
    assert "async boom" in caplog.records[0].getMessage()


def test_asend(sig):
    async def async_rec(val, **kwargs):
        return ("async", val)

    def sync_rec(val, **kwargs):
        return ("sync", val)

    sig.connect(async_rec)
    sig.connect(sync_rec)
    assert asyncio.run(sig.asend(None, val=1)) == [
        (sync_rec, ("sync", 1)),
        (async_rec, ("async", 1)),
    ]
    assert asyncio.run(sig.asend_robust(None, val=2)) == [
        (sync_rec, ("sync", 2)),
        (async_rec, ("async", 2)),
    ]
    assert asyncio.run(engine_signal_without_receivers(sig)) == []


async def engine_signal_without_receivers(sig):
    fresh = type(sig)()
    return await fresh.asend(None)


# -- calling send ----------------------------------------------------------------------


@pytest.mark.parametrize("connected", [False, True])
def test_send_argument_errors(sig, connected):
    if connected:
        sig.connect(receiver_1_arg)
    for send in (sig.send, sig.send_robust):
        with pytest.raises(TypeError, match="missing 1 required positional argument: 'sender'"):
            send()
        with pytest.raises(TypeError, match="takes 2 positional arguments but 3 were given"):
            send(Sender, 2)
        with pytest.raises(TypeError, match="got multiple values for argument 'sender'"):
            send(Sender, sender=Sender)


def test_send_calling_conventions(engine, sig):
    def rec(**kwargs):
        return sorted(kwargs)

    sig.connect(rec)
    expected = [(rec, ["sender", "signal", "val"])]
    assert sig.send(Sender, val=1) == expected
    assert sig.send(sender=Sender, val=1) == expected
    assert sig.send(val=1, sender=Sender) == expected
    assert sig.send(**{"sender": Sender, "val": 1}) == expected
    assert engine.Signal.send(sig, Sender, val=1) == expected
    assert engine.Signal.send_robust(sig, sender=Sender, val=1) == expected
    assert functools.partial(sig.send, Sender)(val=1) == expected
    assert sig.send_robust(Sender, val=1) == expected
    assert sig.send(Sender) == [(rec, ["sender", "signal"])]


def test_send_keyword_names_reach_receivers_in_any_order(sig):
    seen = []

    def rec(**kwargs):
        seen.append(kwargs)

    sig.connect(rec)
    sig.send(Sender, a=1, b=2)
    sig.send(b=2, sender=Sender, a=1)
    sig.send(a=1, b=2, sender=Sender)
    assert seen == [{"signal": sig, "sender": Sender, "a": 1, "b": 2}] * 3


@pytest.mark.parametrize("connected", [False, True])
def test_send_with_self_keyword_raises_type_error(sig, connected):
    """``send(self, sender, **named)``: a ``self`` keyword collides, as in Django."""
    if connected:
        sig.connect(receiver_2)
    with pytest.raises(TypeError, match="multiple values for argument 'self'"):
        sig.send(Sender, self=1)
    with pytest.raises(TypeError, match="multiple values for argument 'self'"):
        sig.send_robust(Sender, self=1)


def test_bound_method_sender_at_a_reused_address(engine):
    """A bound-method sender is keyed by ``(id(__self__), id(__func__))``, whatever its
    own address, even at the address of an earlier sender keyed by ``id()``."""

    class Owner:
        def m(self, **kwargs):
            pass

    class Slots3:  # the size of a bound-method object: likely to reuse its memory
        __slots__ = ("a", "b", "c")

    sig = engine.Signal()
    owner = Owner()
    held = owner.m  # kept alive: a dead sender's receivers are dropped (Django 6)
    sig.connect(receiver_2, sender=held)
    sig.connect(receiver_1_arg)
    s = Slots3()
    sig.send(s, val=0)
    address = id(s)
    del s
    misses = []
    method = owner.m
    while id(method) != address and len(misses) < 100_000:
        misses.append(method)
        method = owner.m
    if id(method) != address:
        pytest.skip("no bound method was allocated at the dead sender's address")
    assert method is not held
    assert [r for r, _ in sig.send(method, val=1)] == [receiver_2, receiver_1_arg]


# -- the frame receivers are called from -----------------------------------------------


def _frame_reference_classes():
    from django.dispatch import Signal as DjangoSignal

    classes = [pytest.param(DjangoSignal, id="django")]
    django61 = django61_signal_class()
    if django61 is not None and django61 is not DjangoSignal:
        classes.append(pytest.param(django61, id="django61"))
    return classes


def _caller_of_send(signal_class, method):
    """Where a receiver's ``warnings.warn(stacklevel=3)`` points, and the sending line."""

    def warns(sender, **kwargs):
        warnings.warn("from a receiver", UserWarning, stacklevel=3)
        return sys._getframe(2).f_code.co_name

    signal = signal_class()
    signal.connect(warns)
    send = getattr(signal, method)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line, [(_, caller)] = sys._getframe().f_lineno, send(Sender)
    [warning] = caught
    return (warning.filename, warning.lineno, caller), (__file__, line, "_caller_of_send")


@pytest.mark.parametrize("method", ["send", "send_robust"])
def test_receivers_are_called_from_one_python_frame(sig, method):
    """A receiver sees one Python frame between itself and the caller of ``send``, as
    in Django: its warnings' ``stacklevel`` counts on it (Django's
    ``complex_setting_changed`` points at the ``override_settings`` line that way)."""
    seen, expected = _caller_of_send(type(sig), method)
    assert seen == expected


@pytest.mark.parametrize("signal_class", _frame_reference_classes())
@pytest.mark.parametrize("method", ["send", "send_robust"])
def test_django_calls_receivers_from_one_python_frame(signal_class, method):
    """The reference for the test above: Django 5.2's and 6.1's dispatchers."""
    seen, expected = _caller_of_send(signal_class, method)
    assert seen == expected


def test_the_receivers_frame_is_named_as_the_send_method(sig):
    """Tracebacks and profilers show ``send`` or ``send_robust``, as with Django."""

    def caller(**kwargs):
        return sys._getframe(1).f_code.co_name

    sig.connect(caller)
    assert sig.send(Sender) == [(caller, "send")]
    assert sig.send_robust(Sender) == [(caller, "send_robust")]


def test_a_kept_frame_of_a_compiled_send_cannot_call_its_receivers_again(engine):
    """The compiled send's frame holds a call that refers to the caller's arguments:
    it runs once, during the send, and refuses afterwards (no stale memory read)."""
    if engine.name != "compiled":
        pytest.skip("the pure-Python send is its own frame")
    calls = []

    def grabs(sender, **kwargs):
        frame = sys._getframe(1).f_locals
        run, delivery = frame["run"], frame["delivery"]
        calls.append((run, delivery))
        with pytest.raises(RuntimeError, match="runs once, during that send"):
            run(delivery)  # again, from inside the send

    sig = engine.Signal()
    sig.connect(grabs)
    assert sig.send(Sender, value=[1, 2]) == [(grabs, None)]
    [(run, delivery)] = calls
    with pytest.raises(RuntimeError, match="runs once, during that send"):
        run(delivery)  # after the send
    with pytest.raises(RuntimeError, match="runs once, during that send"):
        run(type(delivery)())  # a delivery made from Python


def test_connect_and_disconnect_are_the_engines_functions(engine):
    """``connect`` and ``disconnect`` resolve straight to the engine: with the compiled
    engine, no Python frame of fastsignal's runs on their common path."""
    assert engine.Signal.connect is engine.module.connect
    assert engine.Signal.disconnect is engine.module.disconnect
    sig = engine.Signal()
    sig.connect(receiver_1_arg)
    assert sig.send(None, val=1) == [(receiver_1_arg, 1)]
    assert sig.disconnect(receiver_1_arg) is True
    assert sig.disconnect(receiver_1_arg) is False


@pytest.mark.parametrize("weak", [True, False])
def test_connect_makes_weak_references_through_weakref_ref(sig, weak):
    """As Django's connect does, at each call (Django's ``test_lazy_model_signal``
    replaces ``weakref.ref`` with a mock and counts the calls)."""
    from unittest import mock

    def callback(sender, **kwargs):
        return "called"

    with mock.patch("weakref.ref", wraps=weakref.ref) as ref:
        sig.connect(callback, weak=weak)
        assert ref.called is weak
        assert sig.send(None) == [(callback, "called")]
        assert sig.disconnect(callback)
    assert sig.send(None) == []


def test_function_given_func_and_self_is_keyed_as_django_keys_it(engine):
    # Django's make_id() keys anything with a __func__ by (id(__self__), id(__func__)),
    # a function given those attributes too: two such functions are one receiver, and
    # one given __func__ alone cannot be keyed (AttributeError), as with Django 6.1.
    from django.dispatch import Signal as DjangoSignal

    references = [DjangoSignal]
    if django61_signal_class() is not None:
        references.append(django61_signal_class())

    class Owner:
        def method(self, **kwargs):
            return "method"

    owner = Owner()

    def outcomes(signal_class):
        def first(**kwargs):
            return "first"

        def second(**kwargs):
            return "second"

        def lone(**kwargs):
            return "lone"

        for function in (first, second):
            function.__self__, function.__func__ = owner, Owner.method
        lone.__func__ = Owner.method
        signal = signal_class()
        results = []
        for step in (
            lambda: signal.connect(first, weak=False),
            lambda: signal.connect(second, weak=False),
            lambda: [response for _, response in signal.send(None)],
            lambda: [key for key, *_ in signal.receivers],
            lambda: signal.connect(lone, weak=False),
            lambda: signal.disconnect(second),
            lambda: signal.disconnect(lone),
            lambda: len(signal.receivers),
        ):
            try:
                results.append(step())
            except Exception as error:
                results.append((type(error), str(error)))
        return results

    expected = outcomes(references[0])
    assert expected[2] == ["first"]
    for reference in references[1:]:
        assert outcomes(reference) == expected
    assert outcomes(engine.Signal) == expected
