"""Lifetimes: weak and strong receivers, weakly referenced senders, no leaks through sends."""

import functools
import logging
import weakref

import pytest

from helpers import Callable, Sender, assert_clean, collect, receiver_1_arg


@pytest.fixture
def sig(engine):
    return engine.Signal()


def make_function(value="dynamic"):
    def dynamic(**kwargs):
        return value

    return dynamic


# -- bound methods -------------------------------------------------------------------


def test_bound_methods_of_one_object_are_one_receiver(sig):
    obj = Callable()
    sig.connect(obj.a)
    sig.connect(obj.a)
    sig.connect(obj.a, weak=False)
    assert len(sig.receivers) == 1
    assert sig.send(None, val=1) == [(obj.a, ("a", 1))]
    # A fresh bound-method object disconnects it.
    fresh = obj.a
    assert sig.disconnect(fresh) is True
    assert sig.disconnect(obj.a) is False
    assert_clean(sig)


def test_different_methods_and_objects_are_distinct(sig):
    o1, o2 = Callable(), Callable()
    sig.connect(o1.a)
    sig.connect(o1.b)
    sig.connect(o2.a)
    assert sig.send(None, val=0) == [(o1.a, ("a", 0)), (o1.b, ("b", 0)), (o2.a, ("a", 0))]
    assert sig.disconnect(o2.a) is True
    assert sig.send(None, val=0) == [(o1.a, ("a", 0)), (o1.b, ("b", 0))]


def test_weak_bound_method_dies_with_its_object(sig):
    obj = Callable()
    sig.connect(obj.a)
    sig.connect(obj.b, sender=Sender)
    assert len(sig.send(Sender)) == 2
    wref = weakref.ref(obj)
    del obj
    collect()
    assert wref() is None
    assert sig.send(Sender) == []
    assert sig.send_robust(Sender) == []
    assert_clean(sig)


def test_weak_bound_method_does_not_keep_object_alive_after_sends(sig):
    obj = Callable()
    sig.connect(obj.a, sender=Sender)
    for _ in range(3):
        sig.send(Sender, val=1)
        sig.send_robust(Sender, val=1)
        sig.has_listeners(Sender)
        sig._live_receivers(Sender)
    wref = weakref.ref(obj)
    del obj
    collect()
    assert wref() is None


def test_bound_method_of_dead_class_function(sig):
    """The receiver also dies when the method's function goes (the class is collected)."""

    def make():
        class Local:
            def m(self, **kwargs):
                return "m"

        return Local()

    obj = make()
    sig.connect(obj.m)
    assert sig.send(None) == [(obj.m, "m")]
    cls_ref = weakref.ref(type(obj))
    obj_ref = weakref.ref(obj)
    del obj
    collect()
    assert obj_ref() is None and cls_ref() is None
    assert_clean(sig)


# -- strong receivers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_receiver",
    [
        pytest.param(lambda: make_function(), id="closure"),
        pytest.param(lambda: Callable(), id="callable-object"),
        pytest.param(lambda: functools.partial(receiver_1_arg, val="p"), id="partial"),
    ],
)
def test_strong_receivers_are_kept_alive(sig, make_receiver):
    rec = make_receiver()
    wref = weakref.ref(rec)
    sig.connect(rec, weak=False)
    del rec
    collect()
    assert wref() is not None
    assert sig.has_listeners() is True
    assert [r for r, _ in sig.send(None)] == [wref()]
    assert sig.disconnect(wref()) is True
    collect()
    assert wref() is None
    assert_clean(sig)


def test_strong_bound_method_keeps_object_alive(sig):
    obj = Callable()
    wref = weakref.ref(obj)
    sig.connect(obj.a, weak=False)
    del obj
    collect()
    assert wref() is not None
    assert sig.send(None, val=2) == [(wref().a, ("a", 2))]
    assert sig.disconnect(wref().a) is True
    collect()
    assert wref() is None


# -- weak receivers are not kept alive -------------------------------------------------


@pytest.mark.parametrize(
    "make_receiver",
    [
        pytest.param(lambda: make_function(), id="closure"),
        pytest.param(lambda: Callable(), id="callable-object"),
        pytest.param(lambda: functools.partial(receiver_1_arg, val="p"), id="partial"),
    ],
)
@pytest.mark.parametrize("use_caching", [False, True])
@pytest.mark.parametrize("for_sender", [False, True])
def test_weak_receiver_not_kept_alive(engine, make_receiver, use_caching, for_sender):
    sig = engine.Signal(use_caching=use_caching)
    rec = make_receiver()
    wref = weakref.ref(rec)
    sender = Sender if for_sender else None
    send_from = Sender
    sig.connect(rec, sender=sender)
    sig.connect(receiver_1_arg)  # another receiver that stays
    for _ in range(3):
        assert len(sig.send(send_from, val=0)) == 2
        assert len(sig.send_robust(send_from, val=0)) == 2
        assert sig.has_listeners(send_from)
        sig._live_receivers(send_from)
    del rec
    collect()
    assert wref() is None
    assert sig.send(send_from, val=1) == [(receiver_1_arg, 1)]
    assert len(sig.receivers) == 1


def test_weak_receiver_not_kept_alive_by_failed_robust_send(sig, monkeypatch):
    # A captured log record would keep the traceback (and so the receiver) alive.
    monkeypatch.setattr(logging.getLogger("django.dispatch"), "disabled", True)

    def fails(**kwargs):
        raise ValueError("x")

    rec = functools.partial(fails)
    wref = weakref.ref(rec)
    sig.connect(rec)
    result = sig.send_robust(None)
    del result
    del rec
    collect()
    assert wref() is None
    assert_clean(sig)


def test_weak_receiver_not_kept_alive_by_receivers_list(sig):
    rec = make_function()
    wref = weakref.ref(rec)
    sig.connect(rec)
    items = sig.receivers
    assert len(items) == 1
    del rec
    collect()
    assert wref() is None
    del items
    assert_clean(sig)


def test_new_function_at_reused_address_is_not_connected(sig):
    rec = make_function("old")
    old_id = id(rec)
    sig.connect(rec)
    del rec
    collect()
    misses = []
    rec = make_function("new")
    while id(rec) != old_id and len(misses) < 10_000:
        misses.append(rec)
        rec = make_function("new")
    del misses
    assert sig.send(None) == []
    assert sig.has_listeners() is False
    sig.connect(rec)
    assert sig.send(None) == [(rec, "new")]
    assert len(sig.receivers) == 1


# -- senders ---------------------------------------------------------------------------


@pytest.mark.parametrize("use_caching", [False, True])
@pytest.mark.parametrize("weak_receiver", [True, False])
def test_sender_not_kept_alive(engine, use_caching, weak_receiver):
    sig = engine.Signal(use_caching=use_caching)
    sender = Sender()
    wref = weakref.ref(sender)
    sig.connect(receiver_1_arg, sender=sender, weak=weak_receiver)
    sig.connect(Callable.a.__get__(Callable()), weak=False)  # unrelated strong receiver
    for _ in range(3):
        assert len(sig.send(sender, val=1)) == 2
        assert len(sig.send_robust(sender, val=1)) == 2
        assert sig.has_listeners(sender)
        sig._live_receivers(sender)
    del sender
    collect()
    assert wref() is None
    assert sig.has_listeners() is True
    assert len(sig.receivers) == 1


@pytest.mark.parametrize("use_caching", [False, True])
def test_class_sender_not_kept_alive(engine, use_caching):
    sig = engine.Signal(use_caching=use_caching)

    class LocalSender:
        pass

    wref = weakref.ref(LocalSender)
    sig.connect(receiver_1_arg, sender=LocalSender)
    sig.connect(receiver_1_arg)
    assert len(sig.send(LocalSender, val=1)) == 2
    del LocalSender
    collect()
    assert wref() is None
    assert len(sig.send(Sender, val=1)) == 1
    assert len(sig.receivers) == 1


def test_strong_receiver_released_when_its_sender_dies(sig):
    sender = Sender()
    rec = make_function()
    rec_ref = weakref.ref(rec)
    sig.connect(rec, sender=sender, weak=False)
    sig.send(sender)
    del rec
    collect()
    assert rec_ref() is not None
    del sender
    collect()
    assert sig.has_listeners() is False  # applies the pending clean-up
    collect()
    assert rec_ref() is None
    assert sig.receivers == []


def test_sender_death_spares_other_senders(sig):
    s1, s2 = Sender(), Sender()
    sig.connect(receiver_1_arg, sender=s1)
    sig.connect(receiver_1_arg, sender=s2)
    sig.connect(receiver_1_arg)
    assert len(sig.send(s1, val=1)) == 2
    del s1
    collect()
    assert sig.send(s2, val=2) == [(receiver_1_arg, 2), (receiver_1_arg, 2)]
    assert len(sig.receivers) == 2


def test_weak_receiver_killed_by_earlier_receiver_still_called(engine):
    """Django resolves every receiver before calling the first: one that an earlier
    receiver kills during the send is still called in that send."""
    sig = engine.Signal()
    holder = [Callable()]
    method = holder[0].a

    def killer(**kwargs):
        holder.clear()
        return "killer"

    sig.connect(killer)
    sig.connect(method)
    del method
    result = sig.send(None, val=1)
    assert [resp for _, resp in result] == ["killer", ("a", 1)]
    del result
    collect()
    assert sig.send(None, val=1) == [(killer, "killer")]


@pytest.mark.parametrize(
    "make_sender",
    [
        pytest.param(lambda: None, id="None"),
        pytest.param(lambda: Sender, id="class"),
        pytest.param(lambda: Sender(), id="instance"),
        pytest.param(lambda: object(), id="object()"),
    ],
)
@pytest.mark.parametrize("use_caching", [False, True])
def test_disconnected_strong_receiver_is_released_after_sends(engine, make_sender, use_caching):
    """Nothing prepared for sends (snapshots, last-sender reuse) outlives a disconnect."""
    sig = engine.Signal(use_caching=use_caching)
    sender = make_sender()
    rec = make_function()
    wref = weakref.ref(rec)
    sig.connect(rec, sender=sender, weak=False)
    sig.connect(receiver_1_arg)
    for _ in range(3):
        assert len(sig.send(sender, val=1)) == 2
        assert len(sig.send_robust(sender, val=1)) == 2
        assert sig.has_listeners(sender)
    del rec
    assert sig.disconnect(wref(), sender=sender) is True
    collect()
    assert wref() is None
    assert sig.send(sender, val=2) == [(receiver_1_arg, 2)]
