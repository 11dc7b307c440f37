"""Receiver priorities: higher runs first, equal priorities keep connection order."""

import gc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsignal import receiver
from fastsignal._common import ReceiverItem


class Sender:
    pass


def named(name):
    def handler(sender, **kwargs):
        return name

    handler.__qualname__ = name
    return handler


def order(signal, sender=None):
    return [response for _, response in signal.send(sender)]


@pytest.fixture
def sig(engine):
    return engine.Signal()


def test_higher_priority_runs_first_and_ties_keep_connection_order(sig):
    handlers = {name: named(name) for name in "abcde"}
    sig.connect(handlers["a"], weak=False)
    sig.connect(handlers["b"], weak=False, priority=10)
    sig.connect(handlers["c"], weak=False, priority=-5)
    sig.connect(handlers["d"], weak=False, priority=10)
    sig.connect(handlers["e"], weak=False)
    assert order(sig) == ["b", "d", "a", "e", "c"]
    assert [r for _, r in sig.send_robust(None)] == ["b", "d", "a", "e", "c"]


def test_default_priority_keeps_connection_order(sig):
    handlers = [named(str(i)) for i in range(5)]
    for handler in handlers:
        sig.connect(handler, weak=False)
    assert order(sig) == ["0", "1", "2", "3", "4"]
    assert all(type(item) is tuple for item in sig.receivers)


def test_priorities_merge_sender_specific_and_any_sender_receivers(sig):
    sender = Sender()
    sig.connect(named("any-low"), weak=False, priority=-1)
    sig.connect(named("own-high"), sender=sender, weak=False, priority=5)
    sig.connect(named("any-high"), weak=False, priority=5)
    sig.connect(named("own-zero"), sender=sender, weak=False)
    assert order(sig, sender) == ["own-high", "any-high", "own-zero", "any-low"]
    assert order(sig, Sender()) == ["any-high", "any-low"]
    assert sig.has_listeners(sender)


def test_receivers_lists_items_in_call_order_and_carries_priority(sig):
    sig.connect(named("low"), weak=False)
    receivers_before = sig.receivers
    sig.connect(named("high"), weak=False, priority=3)
    items = sig.receivers
    assert [item[1].__qualname__ for item in items] == [
        "high",
        "low",
    ]
    assert type(items[0]) is ReceiverItem and items[0].priority == 3
    assert type(items[1]) is tuple
    assert len(receivers_before) == 1  # a list read earlier is not reordered under its reader


def test_muting_by_reassigning_the_list_keeps_priorities(sig):
    sig.connect(named("low"), weak=False, priority=-1)
    sig.connect(named("high"), weak=False, priority=1)
    paused = sig.receivers
    sig.receivers = []
    assert order(sig) == []
    sig.connect(named("meanwhile"), weak=False)
    sig.receivers = paused + sig.receivers
    assert order(sig) == ["high", "meanwhile", "low"]


def test_disconnect_of_a_prioritised_receiver(sig):
    high = named("high")
    sig.connect(named("low"), weak=False)
    sig.connect(high, weak=False, priority=2)
    assert order(sig) == ["high", "low"]
    assert sig.disconnect(high)
    assert order(sig) == ["low"]
    sig.connect(named("later"), weak=False)
    assert order(sig) == ["low", "later"]
    assert [type(item) for item in sig.receivers] == [tuple, tuple]


def test_weak_prioritised_receiver_dies(sig):
    doomed = named("doomed")
    sig.connect(doomed, priority=7)
    sig.connect(named("kept"), weak=False)
    assert order(sig) == ["doomed", "kept"]
    del doomed
    gc.collect()
    assert order(sig) == ["kept"]
    assert len(sig.receivers) == 1


def test_receiver_decorator_and_on_commit_take_priority(sig):
    @receiver(sig, priority=1, weak=False)
    def first(sender, **kwargs):
        return "first"

    @receiver(sig, weak=False)
    def second(sender, **kwargs):
        return "second"

    @receiver(sig, priority=2, on_commit=True, weak=False)
    def deferred(sender, **kwargs):
        return "deferred"

    assert order(sig)[:2] == ["first", "second"]
    item = sig.receivers[0]
    assert type(item) is ReceiverItem and item.on_commit and item.priority == 2


@pytest.mark.parametrize("bad", ["1", 1.5, None, True])
def test_priority_must_be_an_int(sig, bad):
    with pytest.raises(TypeError, match=r"^priority must be an int, got "):
        sig.connect(named("x"), weak=False, priority=bad)
    assert sig.receivers == []


def test_large_priorities(sig):
    sig.connect(named("huge"), weak=False, priority=2**80)
    sig.connect(named("tiny"), weak=False, priority=-(2**80))
    sig.connect(named("zero"), weak=False)
    assert order(sig) == ["huge", "zero", "tiny"]


def test_priority_on_django_model_signals_once_installed(engine):
    pytest.importorskip("django")
    from django.contrib.auth.models import Group
    from django.db.models.signals import post_save

    import fastsignal.django as fsd

    installed_here = not fsd.is_installed()
    fsd.install()
    first, second = named("first"), named("second")
    try:
        post_save.connect(second, sender=Group, weak=False)
        post_save.connect(first, sender="auth.Group", weak=False, priority=1)
        responses = [r for _, r in post_save.send(sender=Group, instance=None, created=True)]
        assert responses.index("first") < responses.index("second")
    finally:
        post_save.disconnect(first, sender=Group)
        post_save.disconnect(second, sender=Group)
        if installed_here:
            fsd.uninstall()


operations = st.lists(
    st.tuples(
        st.sampled_from(["connect", "disconnect"]),
        st.integers(0, 5),  # which receiver
        st.sampled_from([None, "own"]),  # which sender
        st.integers(-2, 2),  # priority
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(program=operations)
def test_call_order_matches_a_sorted_model(engine, program):
    """Any sequence of connects and disconnects: sends call receivers sorted by
    priority (highest first), then by when they were connected."""
    sig = engine.Signal()
    own = Sender()
    handlers = [named(f"r{i}") for i in range(6)]
    model = {}  # (receiver index, sender) -> (priority, connection number)
    for number, (operation, index, sender_name, priority) in enumerate(program):
        sender = own if sender_name else None
        key = (index, sender_name)
        if operation == "connect":
            sig.connect(handlers[index], sender=sender, weak=False, priority=priority)
            model.setdefault(key, (priority, number))
        else:
            assert sig.disconnect(handlers[index], sender=sender) == (key in model)
            model.pop(key, None)

    def expected(for_own):
        keys = [k for k in model if k[1] is None or for_own]
        keys.sort(key=lambda k: (-model[k][0], model[k][1]))
        return [f"r{k[0]}" for k in keys]

    assert order(sig, own) == expected(True)
    assert order(sig, Sender()) == expected(False)
    assert [item[1].__qualname__ for item in sig.receivers] == [
        f"r{k[0]}" for k in sorted(model, key=lambda k: (-model[k][0], model[k][1]))
    ]


def test_call_order_is_decided_from_the_entries_not_the_counter():
    """A read racing a mutation may see the ``ranked`` counter out of step with the
    entries (it is updated in a separate step): the order must not depend on it."""
    from fastsignal import PySignal
    from fastsignal._engine_py import registry_of

    sig = PySignal()
    sig.connect(named("low"), weak=False)
    sig.connect(named("high"), weak=False, priority=5)
    indexes = registry_of(sig).indexes
    indexes.ranked = 0
    indexes.prepared.clear()
    indexes.any_snapshot = None
    registry_of(sig).list = None
    assert order(sig) == ["high", "low"]
    assert [item[1].__qualname__ for item in sig.receivers] == ["high", "low"]
