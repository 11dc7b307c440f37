"""Django's semi-private attributes that third-party code relies on.

``receivers`` (read by debug toolbars, replaced by factory_boy's ``mute_signals``),
``lock``, ``use_caching``, ``sender_receivers_cache``, ``_live_receivers`` (wrapped
by monitoring SDKs) and ``_clear_dead_receivers``.
"""

import threading
import weakref

import pytest

from fastsignal._common import make_id

from helpers import Callable, Sender, collect, deref


@pytest.fixture
def sig(engine):
    return engine.Signal()


def names(results):
    return [getattr(r, "__name__", r) for r, _ in results]


def r_a(**kwargs):
    return "a"


def r_b(**kwargs):
    return "b"


def r_c(**kwargs):
    return "c"


def r_d(**kwargs):
    return "d"


# -- receivers -------------------------------------------------------------------------


def test_receivers_is_a_real_list(sig):
    assert type(sig.receivers) is list
    assert sig.receivers == []
    sig.connect(r_a)
    assert type(sig.receivers) is list
    assert len(sig.receivers) == 1


def test_receivers_items_layout(sig):
    obj = Callable()
    sig.connect(r_a)
    sig.connect(r_b, sender=Sender, weak=False)
    sig.connect(obj.a, sender=obj)
    sig.connect(r_c, dispatch_uid="uid-c")
    sender = object()
    sig.connect(r_d, sender=sender)
    items = sig.receivers
    assert len(items) == 5

    # Lookup keys, as Django builds them.
    assert items[0][0] == (id(r_a), id(None))
    assert items[1][0] == (id(r_b), id(Sender))
    assert items[2][0] == ((id(obj), id(Callable.a)), id(obj))
    assert items[2][0] == (make_id(obj.a), make_id(obj))
    assert items[3][0] == ("uid-c", id(None))
    assert items[4][0] == (id(r_d), id(sender))

    # The receiver, or a weak reference to it.
    assert isinstance(items[0][1], weakref.ReferenceType) and items[0][1]() is r_a
    assert items[1][1] is r_b
    assert isinstance(items[2][1], weakref.WeakMethod)
    assert items[2][1]() == obj.a
    assert [deref(item) for item in items] == [r_a, r_b, obj.a, r_c, r_d]

    # Django 6 layout: (key, receiver_or_ref, sender_ref, is_async).
    for item in items:
        assert len(item) == 4
        assert item[3] is False
    assert items[0][2] is None
    assert isinstance(items[1][2], weakref.ReferenceType) and items[1][2]() is Sender
    assert items[2][2]() is obj
    assert items[4][2] is None  # object() is not weakly referenceable


def test_receivers_is_async_flag(sig):
    async def coro_receiver(**kwargs):
        return "async"

    sig.connect(coro_receiver)
    sig.connect(r_a)
    assert [item[3] for item in sig.receivers] == [True, False]


def test_debug_toolbar_style_iteration(sig):
    """Walk the list like django-debug-toolbar's signals panel does."""
    obj = Callable()
    sig.connect(r_a)
    sig.connect(obj.a)
    sig.connect(obj, weak=False)
    found = []
    for item in sig.receivers:
        rec = item[1]
        if isinstance(rec, weakref.ReferenceType):
            rec = rec()
        if rec is None:
            continue
        found.append(getattr(rec, "__name__", type(rec).__name__))
    assert found == ["r_a", "a", "Callable"]


def test_receivers_list_stays_in_step(sig):
    sig.connect(r_a)
    items = sig.receivers
    sig.connect(r_b)
    assert len(sig.receivers) == 2
    assert [deref(i) for i in sig.receivers] == [r_a, r_b]
    sig.disconnect(r_a)
    assert [deref(i) for i in sig.receivers] == [r_b]
    sig.disconnect(r_b)
    assert sig.receivers == []
    del items


def test_receivers_dead_items_removed_after_api_call(sig):
    obj = Callable()
    sig.connect(obj.a)
    sig.connect(r_a)
    del obj
    collect()
    # Clean-up is lazy, as in Django: an API call applies it.
    sig.has_listeners()
    assert [deref(i) for i in sig.receivers] == [r_a]


# -- muting by replacing the list (factory_boy's mute_signals) -------------------------


def test_mute_pattern(sig):
    sig.connect(r_a)
    sig.connect(r_b, sender=Sender)
    sig.connect(r_c)
    assert names(sig.send(Sender)) == ["r_a", "r_b", "r_c"]

    # __enter__
    paused = sig.receivers
    sig.receivers = []
    assert sig.send(Sender) == []
    assert sig.send_robust(Sender) == []
    assert sig.has_listeners(Sender) is False
    assert sig.has_listeners() is False

    # Connecting while muted works and is effective at once.
    sig.connect(r_d)
    assert names(sig.send(Sender)) == ["r_d"]
    assert len(sig.receivers) == 1

    # __exit__
    sig.receivers = paused + sig.receivers
    with sig.lock:
        sig.sender_receivers_cache.clear()
    assert names(sig.send(Sender)) == ["r_a", "r_b", "r_c", "r_d"]
    assert names(sig.send(None)) == ["r_a", "r_c", "r_d"]
    assert len(sig.receivers) == 4

    # Everything behaves as connected normally afterwards.
    assert sig.disconnect(r_b, sender=Sender) is True
    assert sig.disconnect(r_a) is True
    assert names(sig.send(Sender)) == ["r_c", "r_d"]
    sig.connect(r_a)
    assert names(sig.send(Sender)) == ["r_c", "r_d", "r_a"]


def test_mute_pattern_with_use_caching(engine):
    sig = engine.Signal(use_caching=True)
    sig.connect(r_a, sender=Sender)
    sig.connect(r_b)
    assert names(sig.send(Sender)) == ["r_a", "r_b"]
    paused = sig.receivers
    sig.receivers = []
    assert sig.send(Sender) == []
    sig.receivers = paused + sig.receivers
    with sig.lock:
        sig.sender_receivers_cache.clear()
    assert names(sig.send(Sender)) == ["r_a", "r_b"]


def test_mute_pattern_nested(sig):
    sig.connect(r_a)
    outer = sig.receivers
    sig.receivers = []
    sig.connect(r_b)
    inner = sig.receivers
    sig.receivers = []
    assert sig.send(None) == []
    sig.receivers = inner + sig.receivers
    with sig.lock:
        sig.sender_receivers_cache.clear()
    assert names(sig.send(None)) == ["r_b"]
    sig.receivers = outer + sig.receivers
    with sig.lock:
        sig.sender_receivers_cache.clear()
    assert names(sig.send(None)) == ["r_a", "r_b"]


def test_mute_pattern_weak_receivers_still_die(sig):
    obj = Callable()
    sig.connect(obj.a)
    sig.connect(r_a)
    paused = sig.receivers
    sig.receivers = []
    sig.receivers = paused + sig.receivers
    with sig.lock:
        sig.sender_receivers_cache.clear()
    assert len(sig.send(None)) == 2
    del paused
    del obj
    collect()
    assert names(sig.send(None)) == ["r_a"]
    assert len(sig.receivers) == 1


def test_mute_pattern_with_sends_while_muted_keeps_bound_methods(sig):
    """Items adopted back after the registry forgot them: weak bound methods survive.

    (Regression: the adopted item's weak method was watched through a temporary
    bound method, so it looked dead at once and was dropped.)
    """
    obj = Callable()
    sig.connect(obj.a)
    sig.connect(obj.b, sender=Sender)
    sig.connect(r_a)
    paused = sig.receivers
    sig.receivers = []
    assert sig.send(Sender) == []  # the registry now holds nothing
    assert sig.has_listeners(Sender) is False
    sig.receivers = paused + sig.receivers
    with sig.lock:
        sig.sender_receivers_cache.clear()
    assert [r for r, _ in sig.send(Sender, val=1)] == [obj.a, obj.b, r_a]
    sig.has_listeners()
    assert len(sig.receivers) == 3
    # ... and they still die with their object.
    del paused
    del obj
    collect()
    assert names(sig.send(Sender)) == ["r_a"]
    assert len(sig.receivers) == 1


def test_mute_restore_while_a_paused_receiver_died(sig):
    obj = Callable()
    sig.connect(obj.a)
    sig.connect(r_a)
    paused = sig.receivers
    sig.receivers = []
    del obj
    collect()
    sig.receivers = paused + sig.receivers
    with sig.lock:
        sig.sender_receivers_cache.clear()
    assert names(sig.send(None)) == ["r_a"]
    sig.has_listeners()
    assert len(sig.receivers) == 1


def test_assigned_list_identity(sig):
    sig.connect(r_a)
    new = list(sig.receivers)
    sig.receivers = new
    assert sig.receivers is new
    assert names(sig.send(None)) == ["r_a"]
    assert sig.receivers is new
    sig.connect(r_b)  # appended to the adopted list
    assert sig.receivers is new
    assert len(new) == 2


def test_assigning_a_list_without_clearing_cache(sig):
    """Assignment alone is enough (Django's non-caching signals need nothing else)."""
    sig.connect(r_a)
    paused = sig.receivers
    sig.receivers = []
    assert sig.send(None) == []
    sig.receivers = paused
    assert names(sig.send(None)) == ["r_a"]


def test_in_place_list_changes_are_seen(sig):
    sig.connect(r_a)
    sig.connect(r_b)
    items = sig.receivers
    removed = items.pop(0)
    assert names(sig.send(None)) == ["r_b"]
    items.append(removed)
    assert names(sig.send(None)) == ["r_b", "r_a"]
    items.clear()
    assert sig.send(None) == []
    assert sig.has_listeners() is False


def test_adopted_list_deduplicated_first_wins(sig):
    """Documented fastsignal difference: an adopted list is de-duplicated by key."""
    sig.connect(r_a)
    sig.connect(r_b)
    items = sig.receivers
    sig.receivers = items + items
    assert names(sig.send(None)) == ["r_a", "r_b"]
    sig.connect(r_a)  # already there
    assert names(sig.send(None)) == ["r_a", "r_b"]


def test_adopted_list_from_another_signal(engine):
    """Items copied from one signal work in another (a plain Django-layout list)."""
    s1, s2 = engine.Signal(), engine.Signal()
    s1.connect(r_a)
    s1.connect(r_b, sender=Sender, weak=False)
    s2.receivers = list(s1.receivers)
    assert names(s2.send(Sender)) == ["r_a", "r_b"]
    assert s2.disconnect(r_b, sender=Sender) is True
    assert names(s2.send(Sender)) == ["r_a"]
    assert names(s1.send(Sender)) == ["r_a", "r_b"]


def test_adopting_django_5_layout_items(sig):
    """Three-item tuples, as Django 5.2 stores them, are accepted."""
    sig.receivers = [
        ((id(r_a), id(None)), weakref.ref(r_a), False),
        ((id(r_b), id(None)), r_b, False),
    ]
    assert names(sig.send(None)) == ["r_a", "r_b"]


def test_adopting_garbage_raises_type_error(sig):
    sig.receivers = [object()]
    with pytest.raises(TypeError, match=r"signal\.receivers items must be"):
        sig.send(None)


def test_delete_receivers_attribute_mutes(sig):
    sig.connect(r_a)
    del sig.receivers
    assert sig.send(None) == []
    assert sig.receivers == []


# -- lock, use_caching, sender_receivers_cache ----------------------------------------


def test_lock_is_a_lock(sig):
    lock = sig.lock
    assert isinstance(lock, type(threading.Lock()))
    assert sig.lock is lock
    with sig.lock:
        assert lock.locked()
        assert sig.receivers == []  # reading the list does not take the lock
    assert not lock.locked()
    sig.connect(r_a)
    assert sig.lock is lock
    assert not lock.locked()


def test_use_caching_attribute(engine):
    assert engine.Signal().use_caching is False
    assert engine.Signal(use_caching=True).use_caching is True


def test_use_caching_behaves_the_same(engine):
    plain, cached = engine.Signal(), engine.Signal(use_caching=True)
    obj = Callable()
    other = Sender()
    for s in (plain, cached):
        s.connect(r_a)
        s.connect(r_b, sender=Sender)
        s.connect(obj.a, sender=other)
        s.connect(r_c)
    for sender in (Sender, other, Callable, Sender):
        assert names(plain.send(sender)) == names(cached.send(sender))
        assert plain.has_listeners(sender) == cached.has_listeners(sender)
    for s in (plain, cached):
        s.disconnect(r_a)
    assert names(plain.send(Sender)) == names(cached.send(Sender)) == ["r_b", "r_c"]
    del obj
    collect()
    assert names(plain.send(other)) == names(cached.send(other)) == ["r_c"]


def test_sender_receivers_cache_clear_outside_lock(sig):
    sig.connect(r_a)
    sig.sender_receivers_cache.clear()
    assert names(sig.send(None)) == ["r_a"]
    assert names(sig.send(Sender)) == ["r_a"]


# -- _live_receivers and _clear_dead_receivers ----------------------------------------


def test_live_receivers_shape(sig):
    async def coro_receiver(**kwargs):
        pass

    obj = Callable()
    sig.connect(r_a)
    sig.connect(coro_receiver)
    sig.connect(obj.a, sender=Sender)
    sync_list, async_list = sig._live_receivers(Sender)
    assert type(sync_list) is list and type(async_list) is list
    assert sync_list == [r_a, obj.a]
    assert async_list == [coro_receiver]
    assert sig._live_receivers(None) == ([r_a], [coro_receiver])
    del obj, sync_list, async_list
    collect()
    assert sig._live_receivers(Sender) == ([r_a], [coro_receiver])


def test_live_receivers_empty(sig):
    assert sig._live_receivers(None) == ([], [])
    assert sig._live_receivers(Sender) == ([], [])


def test_clear_dead_receivers_under_lock(sig):
    obj = Callable()
    sig.connect(obj.a)
    sig.connect(r_a)
    del obj
    collect()
    with sig.lock:
        sig._clear_dead_receivers()
        assert [deref(i) for i in sig.receivers] == [r_a]
    assert names(sig.send(None)) == ["r_a"]
    with sig.lock:
        sig._clear_dead_receivers()  # nothing to do
    assert not sig.lock.locked()


def _wrapping_live_receivers(base, calls):
    """A ``_live_receivers`` that wraps each receiver, as Sentry's SDK does."""

    def _live_receivers(self, sender):
        sync_receivers, async_receivers = base(self, sender)
        wrapped = []
        for rec in sync_receivers:

            def wrapper(*args, _rec=rec, **kwargs):
                calls.append(getattr(_rec, "__name__", _rec))
                return _rec(*args, **kwargs)

            wrapped.append(wrapper)
        return wrapped, async_receivers

    return _live_receivers


def _check_live_receivers_honoured(sig, calls):
    sig.connect(r_a)
    sig.connect(r_b, sender=Sender)
    result = sig.send(Sender)
    assert [resp for _, resp in result] == ["a", "b"]
    assert calls == ["r_a", "r_b"]
    assert [resp for _, resp in sig.send_robust(None)] == ["a"]
    assert calls == ["r_a", "r_b", "r_a"]
    assert sig.has_listeners(Sender) is True


def test_subclass_overriding_live_receivers(engine):
    calls = []

    class Monitored(engine.Signal):
        _live_receivers = _wrapping_live_receivers(engine.Signal._live_receivers, calls)

    sig = Monitored()
    _check_live_receivers_honoured(sig, calls)


def test_subclass_live_receivers_hiding_everything(engine):
    class Silent(engine.Signal):
        def _live_receivers(self, sender):
            return [], []

    sig = Silent()
    sig.connect(r_a)
    assert sig.send(None) == []
    assert sig.send_robust(None) == []
    assert sig.has_listeners() is False


def test_class_patch_of_live_receivers(engine, monkeypatch):
    calls = []
    original = engine.Signal.__dict__["_live_receivers"]
    monkeypatch.setattr(engine.Signal, "_live_receivers", _wrapping_live_receivers(original, calls))
    sig = engine.Signal()
    _check_live_receivers_honoured(sig, calls)
    monkeypatch.undo()
    assert engine.Signal.__dict__["_live_receivers"] is original
    # Back to normal after the patch is removed.
    calls.clear()
    assert [resp for _, resp in sig.send(Sender)] == ["a", "b"]
    assert calls == []


def test_patch_of_live_receivers_after_sends(engine, monkeypatch):
    """A patch applied after the signal has sent (and prepared its lists) is honoured."""
    calls = []
    sig = engine.Signal()
    sig.connect(r_a)
    sig.connect(r_b, sender=Sender)
    for _ in range(3):
        sig.send(Sender)
    original = engine.Signal.__dict__["_live_receivers"]
    monkeypatch.setattr(engine.Signal, "_live_receivers", _wrapping_live_receivers(original, calls))
    assert [resp for _, resp in sig.send(Sender)] == ["a", "b"]
    assert calls == ["r_a", "r_b"]


def test_instance_patch_of_live_receivers(sig):
    calls = []
    sig.connect(r_a)
    original = sig._live_receivers

    def patched(sender):
        calls.append(sender)
        return original(sender)

    sig._live_receivers = patched
    sig.send(Sender)
    assert calls == [Sender]
