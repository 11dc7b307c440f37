"""Changes made while a send is running, re-entrant sends, and concurrent use from threads."""

import random
import sys
import threading

import pytest

from helpers import Callable, Sender, collect


@pytest.fixture
def sig(engine):
    return engine.Signal()


def names(results):
    return [resp for _, resp in results]


def named(name):
    def rec(**kwargs):
        return name

    rec.__name__ = name
    return rec


# -- mutation during a send ------------------------------------------------------------


@pytest.mark.parametrize("robust", [False, True])
def test_receiver_disconnects_itself(sig, robust):
    first, last = named("first"), named("last")

    def once(signal, **kwargs):
        assert signal.disconnect(once) is True
        return "once"

    sig.connect(first)
    sig.connect(once)
    sig.connect(last)
    send = sig.send_robust if robust else sig.send
    assert names(send(None)) == ["first", "once", "last"]  # the ongoing send completes
    assert names(send(None)) == ["first", "last"]
    assert len(sig.receivers) == 2


def test_receiver_disconnects_itself_sender_specific(sig):
    """The pattern of Django's ``test_disconnect_in_dispatch``."""

    class Handler:
        def __init__(self, param):
            self.param = param
            self._run = False

        def __call__(self, signal, **kwargs):
            self._run = True
            signal.disconnect(receiver=self, sender=Sender)

    a, b = Handler(1), Handler(2)
    sig.connect(a, sender=Sender, weak=False)
    sig.connect(b, sender=Sender, weak=False)
    sig.send(sender=Sender)
    assert a._run and b._run
    assert sig.receivers == []
    assert sig.has_listeners(Sender) is False


def test_receiver_disconnects_a_later_one(sig):
    first, victim, last = named("first"), named("victim"), named("last")

    def killer(signal, **kwargs):
        signal.disconnect(victim)
        return "killer"

    for r in (first, killer, victim, last):
        sig.connect(r)
    assert names(sig.send(Sender)) == ["first", "killer", "victim", "last"]
    assert names(sig.send(Sender)) == ["first", "killer", "last"]


def test_receiver_disconnects_an_earlier_one(sig):
    first, last = named("first"), named("last")

    def killer(signal, **kwargs):
        signal.disconnect(first)
        return "killer"

    for r in (first, killer, last):
        sig.connect(r)
    assert names(sig.send(None)) == ["first", "killer", "last"]
    assert names(sig.send(None)) == ["killer", "last"]


@pytest.mark.parametrize("new_sender", [None, Sender])
def test_receiver_connects_another(sig, new_sender):
    first, newcomer = named("first"), named("newcomer")

    def connector(signal, **kwargs):
        signal.connect(newcomer, sender=new_sender)
        return "connector"

    sig.connect(first)
    sig.connect(connector, sender=Sender)
    assert names(sig.send(Sender)) == ["first", "connector"]
    assert names(sig.send(Sender)) == ["first", "connector", "newcomer"]
    assert names(sig.send(Sender)) == ["first", "connector", "newcomer"]
    assert len(sig.receivers) == 3


def test_receiver_mutes_the_signal(sig):
    """Replacing ``receivers`` during a send does not disturb that send."""
    first, last = named("first"), named("last")
    paused = []

    def muter(signal, **kwargs):
        paused.append(signal.receivers)
        signal.receivers = []
        return "muter"

    for r in (first, muter, last):
        sig.connect(r)
    assert names(sig.send(None)) == ["first", "muter", "last"]
    assert sig.send(None) == []
    sig.receivers = paused[0] + sig.receivers
    with sig.lock:
        sig.sender_receivers_cache.clear()
    assert names(sig.send(None)) == ["first", "muter", "last"]


def test_receiver_raises_in_send(sig):
    calls = []

    def first(**kwargs):
        calls.append("first")
        return "first"

    def boom(**kwargs):
        calls.append("boom")
        raise RuntimeError("boom")

    def last(**kwargs):
        calls.append("last")
        return "last"

    for r in (first, boom, last):
        sig.connect(r)
    with pytest.raises(RuntimeError, match="boom"):
        sig.send(None)
    assert calls == ["first", "boom"]
    # The signal is still usable: no lock held, nothing lost.
    assert not sig.lock.locked()
    sig.disconnect(boom)
    after = named("after")
    sig.connect(after)
    assert names(sig.send(None)) == ["first", "last", "after"]
    assert len(sig.receivers) == 3


def test_reentrant_send(sig):
    depth = []

    def recursive(signal, sender, **kwargs):
        depth.append(sender)
        if sender < 3:
            inner = signal.send(sender + 1)
            return ["r", *[resp for _, resp in inner]]
        return "bottom"

    def plain(sender, **kwargs):
        return ("plain", sender)

    sig.connect(recursive)
    sig.connect(plain)
    result = sig.send(0)
    assert depth == [0, 1, 2, 3]
    assert result[1] == (plain, ("plain", 0))
    assert sig.send_robust(3) == [(recursive, "bottom"), (plain, ("plain", 3))]


def test_receiver_that_connects_and_disconnects_during_robust_send(sig):
    made = []

    def churn(signal, **kwargs):
        rec = named(f"temp{len(made)}")
        made.append(rec)
        signal.connect(rec)
        if len(made) > 1:
            signal.disconnect(made[-2])
        return "churn"

    sig.connect(churn)
    assert names(sig.send_robust(None)) == ["churn"]
    assert names(sig.send_robust(None)) == ["churn", "temp0"]
    assert names(sig.send_robust(None)) == ["churn", "temp1"]
    assert len(sig.receivers) == 2


def test_receiver_dying_between_sends_is_skipped(sig):
    """A weak receiver that dies between sends is simply skipped."""
    holder = [Callable()]
    sig.connect(holder[0].a)
    other = named("other")
    sig.connect(other)
    assert len(sig.send(None)) == 2
    holder.clear()
    collect()
    assert names(sig.send(None)) == ["other"]


# -- threads ---------------------------------------------------------------------------


def test_threads_connect_disconnect_while_sending(engine):
    sig = engine.Signal()
    permanent = [named(f"perm{i}") for i in range(3)]
    for rec in permanent:
        sig.connect(rec)
    perm_names = [r.__name__ for r in permanent]
    errors = []
    stop = threading.Event()
    n_mutators, n_senders, rounds = 3, 3, 300

    def mutator(index):
        rng = random.Random(index)
        local = [named(f"t{index}_{i}") for i in range(5)]
        senders = [None, Sender, index]
        try:
            for _ in range(rounds):
                rec = rng.choice(local)
                sender = rng.choice(senders)
                if rng.random() < 0.5:
                    sig.connect(rec, sender=sender, weak=rng.random() < 0.5)
                else:
                    sig.disconnect(rec, sender=sender)
                if rng.random() < 0.1:
                    sig.connect(rec, dispatch_uid=("uid", index), sender=sender)
                    sig.disconnect(dispatch_uid=("uid", index), sender=sender)
            for rec in local:
                for sender in senders:
                    sig.disconnect(rec, sender=sender)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def sender_thread(index):
        rng = random.Random(100 + index)
        try:
            while not stop.is_set():
                sender = rng.choice([None, Sender, 0, 1, 2])
                send = sig.send_robust if rng.random() < 0.5 else sig.send
                result = send(sender)
                got = [resp for _, resp in result]
                perm = [g for g in got if g.startswith("perm")]
                assert perm == perm_names, got
                for rec, resp in result:
                    assert rec.__name__ == resp
                sig.has_listeners(sender)
        except Exception as exc:
            errors.append(exc)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        senders = [threading.Thread(target=sender_thread, args=(i,)) for i in range(n_senders)]
        mutators = [threading.Thread(target=mutator, args=(i,)) for i in range(n_mutators)]
        for t in senders + mutators:
            t.start()
        for t in mutators:
            t.join(60)
        stop.set()
        for t in senders:
            t.join(60)
    finally:
        sys.setswitchinterval(old_interval)
    assert not errors, errors[:3]
    assert not sig.lock.locked()
    # Only the permanent receivers are left, in order, for every sender.
    for sender in (None, Sender, 0, 1, 2, object()):
        assert names(sig.send(sender)) == perm_names
    assert len(sig.receivers) == 3
    assert sig.has_listeners() is True


def test_threads_sending_while_receivers_die(engine):
    sig = engine.Signal()
    sig.connect(named("stay"), weak=False)
    errors = []
    stop = threading.Event()

    def sender_thread():
        try:
            while not stop.is_set():
                got = [resp for _, resp in sig.send(Sender)]
                assert got[0] == "stay", got
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender_thread) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(200):
            objs = [Callable() for _ in range(3)]
            for obj in objs:
                sig.connect(obj.a, sender=Sender if i % 2 else None)
            del objs, obj
            if i % 50 == 0:
                collect()
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors[:3]
    collect()
    assert sig.has_listeners() is True
    assert len(sig.receivers) == 1
