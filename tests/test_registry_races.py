"""The registry under interleavings that a thread switch, a finalizer, a garbage
collection or a signal handler can produce, made deterministic.

Each test plants a hook where the engine runs user code (a ``dispatch_uid``'s
``__eq__``, a garbage-collector callback, a ``__del__``, a profile function, a
signal handler) and makes the interleaving happen there, on every supported
CPython version. The two rules of the concurrency contract:

- every assignment to ``receivers`` and every ``sender_receivers_cache.clear()``
  that returns before a send starts is honoured by that send;
- no send, from any thread, finalizer or signal handler, waits on a lock its own
  thread holds.

And the rule Django 6 keeps: a new object at a dead sender's address never gets
the dead sender's receivers.
"""

import gc
import os
import signal as signals
import subprocess
import sys
import textwrap
import threading

import pytest

NONE_ID = id(None)


class HookedUid:
    """A ``dispatch_uid`` that runs ``hook`` once, when armed, the next time a dict
    operation compares its lookup key with another ``HookedUid``'s.

    Every ``HookedUid`` hashes alike, so the lookup keys of two of them with the
    same sender key collide: a dict operation on one of them (the engine's
    ``entries.setdefault(key, ...)`` or ``entries.pop(key)``, the one step of a
    mutation that runs user code) compares it with the other one's when that
    one was indexed first (a ``decoy``). The comparison runs whether the key is
    a new tuple or the stored one. A hook in ``__hash__`` would not run for a
    stored one: from CPython 3.14 a tuple caches its hash.
    """

    def __init__(self, name):
        self.name = name
        self.hook = None

    def arm(self, hook):
        self.hook = hook

    def run_hook(self):
        if self.hook is not None:
            hook, self.hook = self.hook, None
            hook()

    def __hash__(self):
        return hash(HookedUid)

    def __eq__(self, other):
        if not isinstance(other, HookedUid):
            return NotImplemented
        self.run_hook()
        other.run_hook()
        return other.name == self.name


def make_receiver(name):
    def receiver(sender, **kwargs):
        return name

    receiver.__qualname__ = name
    return receiver


def answers(sig, sender=None):
    return [response for _, response in sig.send(sender)]


def run_with_deadline(func, seconds=20):
    """Run ``func`` in a daemon thread; fail if it is still running after ``seconds``
    (it waits on a lock its own thread holds: the thread is left blocked)."""
    outcome = []

    def target():
        try:
            outcome.append(("ok", func()))
        except BaseException as err:  # reported below
            outcome.append(("error", err))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "deadlock: the send waits on a lock its own thread holds"
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value


# -- assignments made while a mutation is under way ---------------------------------------


@pytest.mark.parametrize("mutation", ["disconnect", "prioritised connect", "dead clean-up"])
@pytest.mark.parametrize("assignment", ["mute", "unmute"])
def test_assignment_during_a_mutation_is_honoured(engine, mutation, assignment):
    """``signal.receivers = ...`` made while a mutation runs user code (here a
    ``dispatch_uid``'s ``__eq__``; another thread or a finalizer in real life)
    is honoured by the next send: the mutation does not drop the assigned list.
    The mutation is one that removes an item from the middle of the list, or
    connects a receiver with a priority."""
    sig = engine.Signal()
    uid = HookedUid("hooked")

    class Owner:
        def hooked(self, sender, **kwargs):
            return "hooked"

    owner = Owner()
    sig.connect(make_receiver("a"), weak=False)
    sig.connect(make_receiver("c"), weak=False)
    if assignment == "mute":
        assigned, expected = [], []
    else:  # muted now, unmuted by the assignment (factory_boy's way)
        assigned, expected = sig.receivers, ["a", "c"]
        sig.receivers = []
        assert answers(sig) == []
    sig.connect(make_receiver("decoy"), dispatch_uid=HookedUid("decoy"), weak=False)
    if mutation == "dead clean-up":
        sig.connect(owner.hooked, dispatch_uid=uid)  # weak: dies below
    elif mutation == "disconnect":
        sig.connect(make_receiver("hooked"), dispatch_uid=uid, weak=False)
    sig.connect(make_receiver("z"), weak=False)  # the removed one is not the last
    assert len(sig.receivers) > 0  # the registry keeps its list: the mutation edits it

    def assign():
        sig.receivers = assigned

    uid.arm(assign)
    if mutation == "disconnect":
        assert sig.disconnect(dispatch_uid=uid) is True
    elif mutation == "prioritised connect":
        sig.connect(make_receiver("first"), dispatch_uid=uid, weak=False, priority=5)
    else:
        del owner
        gc.collect()
        sig.send(None)  # cleans up the dead receiver: the pop of its key assigns
    assert uid.hook is None, "the hook did not run"
    # The assignment returned before this send started: it is what the send sees.
    assert answers(sig) == expected


@pytest.mark.parametrize("mutation", ["disconnect", "prioritised connect"])
def test_assignment_during_the_adoption_a_mutation_starts_with(engine, mutation):
    """A mutation first adopts a list assigned before it; a list assigned while
    that adoption runs user code stays to be adopted: the mutation edits it in
    place, never drops it."""
    sig = engine.Signal()
    uid = HookedUid("hooked")
    sig.connect(make_receiver("decoy"), dispatch_uid=HookedUid("decoy"), weak=False)
    sig.connect(make_receiver("hooked"), dispatch_uid=uid, weak=False)
    b = make_receiver("b")
    sig.connect(b, weak=False)
    sig.connect(make_receiver("c"), weak=False)
    items = sig.receivers
    # Adopted by the mutation below, which indexes uid's key after the decoy's.
    sig.receivers = list(items)
    assigned = [items[3]]  # c only

    def assign():
        sig.receivers = assigned

    uid.arm(assign)
    if mutation == "disconnect":
        assert sig.disconnect(b) is True  # b: not the last item
        expected = ["c"]
    else:
        sig.connect(make_receiver("first"), weak=False, priority=5)
        expected = ["first", "c"]  # the connect is kept in the assigned list
    assert uid.hook is None, "the hook did not run"
    assert answers(sig) == expected


def test_assignment_during_a_connect_is_not_extended_by_it(engine):
    """A list assigned while a connect runs is adopted as assigned (the connect
    overlapped it): the connect does not append to the caller's list."""
    sig = engine.Signal()
    sig.connect(make_receiver("a"), weak=False)
    sig.connect(make_receiver("decoy"), dispatch_uid=HookedUid("decoy"), weak=False)
    sig.receivers  # noqa: B018  (the registry keeps its list from now on)
    uid = HookedUid("late")
    assigned = []

    def assign():
        sig.receivers = assigned

    uid.arm(assign)
    sig.connect(make_receiver("late"), dispatch_uid=uid, weak=False)
    assert uid.hook is None, "the hook did not run"
    assert assigned == []
    assert answers(sig) == []


def test_finalizer_run_by_an_assignment_that_disconnects(engine):
    """An assignment releases the list it replaces; when that list held the last
    reference to something with a finalizer (here an item appended in place, without
    ``clear()``), the finalizer runs when the old list is released. One that
    disconnects must not drop the list being assigned: the next send honours it."""
    sig = engine.Signal()
    sig.connect(make_receiver("a"), weak=False)
    sig.connect(make_receiver("b"), dispatch_uid="b", weak=False)
    sig.connect(make_receiver("z"), weak=False)
    items = sig.receivers  # the registry's own list, in step

    class Finalized:
        def __call__(self, sender, **kwargs):
            return "finalized"

        def __del__(self):
            finalized.append(sig.disconnect(dispatch_uid="b"))

    finalized = []
    dying = Finalized()
    items.append(((id(dying), NONE_ID), dying, None, False))  # held by this list only
    # As long as the list it replaces, so that no length change marks it pending.
    assigned = [items[0], items[2], ((1, NONE_ID), make_receiver("x"), None, False)]
    del dying, items
    sig.receivers = assigned
    assert len(finalized) == 1, "the finalizer did not run"
    assert answers(sig) == ["a", "z", "x"]


class ConnectsWhenFinalized:
    """A strongly connected receiver whose finalizer connects ``late`` to ``sig``."""

    def __init__(self, sig, late):
        self.sig, self.late = sig, late

    def __call__(self, sender, **kwargs):
        return "finalized"

    def __del__(self):
        self.sig.connect(self.late, weak=False)


@pytest.mark.parametrize("then", ["send", "connect", "disconnect"])
def test_finalizer_of_a_receiver_an_assignment_left_out_connects(engine, then):
    """A strong receiver left out of an assigned ``receivers`` list is released by
    the adoption, which runs under the lock; its finalizer connects. As in Django
    (where the assignment itself releases it), that connect must neither wait on
    the lock its own thread holds nor be lost."""
    sig = engine.Signal()
    kept = make_receiver("kept")
    sig.connect(kept, weak=False)
    sig.connect(ConnectsWhenFinalized(sig, make_receiver("late")), weak=False)
    assert answers(sig) == ["kept", "finalized"]
    sig.receivers = [sig.receivers[0]]
    other = make_receiver("other")
    actions = {
        "send": lambda: sig.send(None),
        "connect": lambda: sig.connect(other, weak=False),
        "disconnect": lambda: sig.disconnect(other),
    }
    run_with_deadline(actions[then])
    assert answers(sig)[:1] == ["kept"]
    assert "late" in answers(sig)


def test_finalizer_of_a_receiver_whose_sender_died_connects(engine):
    """A receiver connected strongly for a sender goes when the sender dies, at the
    next clean-up, under the lock; its finalizer connects: no wait, nothing lost."""
    sig = engine.Signal()

    class Sender:
        pass

    sender = Sender()
    sig.connect(ConnectsWhenFinalized(sig, make_receiver("late")), sender=sender, weak=False)
    assert answers(sig, sender) == ["finalized"]
    del sender
    gc.collect()
    run_with_deadline(lambda: sig.send(None))
    assert answers(sig) == ["late"]


def test_clear_during_an_adoption_is_honoured(engine):
    """``sender_receivers_cache.clear()`` after an in-place edit of ``receivers``
    made while an adoption runs user code is honoured by the next send."""
    sig = engine.Signal()
    uid = HookedUid("a")
    sig.connect(make_receiver("decoy"), dispatch_uid=HookedUid("decoy"), weak=False)
    sig.connect(make_receiver("a"), dispatch_uid=uid, weak=False)
    sig.connect(make_receiver("b"), weak=False)
    items = sig.receivers
    c_item = ((id(items), NONE_ID), make_receiver("c"), None, False)

    def edit_then_clear():
        items[2] = c_item
        sig.sender_receivers_cache.clear()

    # Adopted by the next send, which indexes uid's key after the decoy's.
    sig.receivers = items
    uid.arm(edit_then_clear)
    # The clear() came during this send: it may or may not see the edit.
    assert answers(sig) in (["decoy", "a", "b"], ["decoy", "a", "c"])
    assert uid.hook is None, "the hook did not run"
    assert answers(sig) == ["decoy", "a", "c"]


def test_assignment_by_a_finalizer_during_a_read_of_receivers(engine):
    """A garbage-collector callback (a finalizer in real life) that assigns
    ``receivers`` while a read of ``receivers`` builds the list: the read must not
    store its list over the assignment."""
    sig = engine.Signal()
    sig.connect(make_receiver("a"), weak=False)
    sig.connect(make_receiver("b"), weak=False)
    assigned = []
    fired = []

    def on_gc(phase, info):
        if phase == "start" and not fired:
            frame, in_read = sys._getframe(1), False
            while frame is not None and not in_read:
                in_read, frame = frame.f_code.co_name == "get_list", frame.f_back
            fired.append(in_read)
            sig.receivers = assigned

    get_list = engine.module.registry_of(sig).get_list
    thresholds = gc.get_threshold()
    gc.collect()
    gc.callbacks.append(on_gc)
    gc.set_threshold(1)
    try:
        get_list()
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(on_gc)
    assert fired, "no collection ran"
    if engine.name == "python":  # the compiled read runs no Python code: no frame to see
        assert fired == [True], "the collection ran outside the read"
    assert answers(sig) == []
    assert sig.receivers == []


# -- no send waits on a lock its own thread holds ------------------------------------------


@pytest.mark.parametrize("pending", ["assignment", "clear", "dead sender"])
def test_send_while_this_thread_holds_the_lock(engine, pending):
    """Code that holds ``signal.lock`` (as Django's own code and test factories do)
    and sends, directly or from a finalizer, neither deadlocks nor misses what is
    pending."""
    sig = engine.Signal()
    a = make_receiver("a")
    sig.connect(a, weak=False)

    class Sender:
        pass

    if pending == "dead sender":
        dying = Sender()
        sig.connect(make_receiver("for the dead"), sender=dying, weak=False)
        del dying
        gc.collect()
        expected = ["a"]
    elif pending == "clear":
        items = sig.receivers
        items[0] = ((id(items), NONE_ID), make_receiver("b"), None, False)
        expected = ["b"]
    else:
        expected = []

    def hold_the_lock_and_send():
        with sig.lock:
            if pending == "assignment":
                sig.receivers = []
            elif pending == "clear":
                sig.sender_receivers_cache.clear()
            return answers(sig, Sender()), sig.has_listeners(), answers(sig)

    assert run_with_deadline(hold_the_lock_and_send) == (expected, bool(expected), expected)
    assert answers(sig) == expected


@pytest.mark.parametrize("mutation", ["connect", "disconnect"])
def test_finalizer_that_sends_during_a_mutation(engine, mutation):
    """A finalizer that assigns and sends, run while this thread connects or
    disconnects: the send neither deadlocks nor misses the assignment.

    Garbage collection runs finalizers at the first line of a function (Python
    3.12+ runs a scheduled collection there), where the mutation holds the lock
    but is not yet marked as under way, or at any allocation. A profile
    function makes that happen at every Python call made under the lock, on
    every version (where a scheduled collection lands depends on how many
    objects the interpreter allocates on the way). The compiled engine makes no
    Python call under the lock: it holds it in C only.
    """
    sig = engine.Signal()
    registry = engine.module.registry_of(sig)
    receivers = [make_receiver(f"r{i}") for i in range(5)]
    results = []
    # (function, whether a mutation was marked as under way: the pure-Python
    # registry's seqlock is odd then)
    fired_at = set()

    class Finalized:
        def __del__(self):
            try:
                sig.receivers = []
                results.append(answers(sig))
            except BaseException as err:  # a finalizer's exception would go unseen
                results.append(err)

    def profile(frame, event, arg):
        if event == "call" and sig.lock.locked() and len(results) < 50:
            fired_at.add((frame.f_code.co_name, getattr(registry, "version", 0) % 2 == 1))
            Finalized()  # released at once: its finalizer runs here, under the lock

    def mutate():
        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            for _ in range(3):
                for receiver in receivers:
                    if mutation == "connect":
                        sig.connect(receiver, weak=False)
                    else:
                        sig.disconnect(receiver)
                for receiver in receivers:
                    if mutation == "connect":
                        sig.disconnect(receiver)
                    else:
                        sig.connect(receiver, weak=False)
        finally:
            sys.setprofile(previous)

    run_with_deadline(mutate)
    if engine.name == "python":
        assert (mutation, False) in fired_at, "the finalizer did not run at the mutation's start"
    assert all(result == [] for result in results), results


SIGNAL_HANDLER_SCRIPT = textwrap.dedent(
    """
    import signal as signals
    import sys
    import fastsignal

    Signal = fastsignal.Signal if sys.argv[1] == "compiled" else fastsignal.PySignal
    sig = Signal()
    def receiver(sender, **kwargs):
        return "r"
    sig.connect(receiver, weak=False)
    seen = []
    def handler(signum, frame):
        sig.receivers = []
        seen.append(sig.send(None))
    signals.signal(signals.SIGALRM, handler)
    with sig.lock:
        signals.raise_signal(signals.SIGALRM)
    assert seen == [[]], seen
    assert sig.send(None) == []
    print("done")
    """
)


@pytest.mark.skipif(not hasattr(signals, "SIGALRM"), reason="needs SIGALRM")
def test_signal_handler_that_sends_while_the_lock_is_held(engine):
    """A signal handler that assigns and sends, run while the main thread holds
    the signal's lock (in a subprocess: a deadlock there cannot hang the suite)."""
    env = dict(os.environ)
    if engine.name == "python":
        env["FASTSIGNAL_NO_EXTENSIONS"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", SIGNAL_HANDLER_SCRIPT, engine.name],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"


# -- dead senders --------------------------------------------------------------------------


class MethodLike:
    """A sender keyed as Django keys bound methods: ``(id(__self__), id(__func__))``.
    Two of them with the same ``__self__`` and ``__func__`` are one sender key."""

    def __init__(self, owner, func):
        self.__self__ = owner
        self.__func__ = func


def test_sender_key_of_a_dead_sender_during_its_clean_up(engine):
    """While the clean-up of a dead sender's entries runs user code (a
    ``dispatch_uid``'s ``__eq__``), a send from a new sender with the dead
    sender's key (an object at its address, or here a method-like sender of the
    same ``__self__`` and ``__func__``) calls none of the dead sender's receivers."""
    sig = engine.Signal()
    uid = HookedUid("first to go")
    owner, func = object(), make_receiver("func")
    dying, living = MethodLike(owner, func), MethodLike(owner, func)
    # The decoy's sender lives on: its entry stays indexed, and the pop of the
    # hooked key compares with it.
    sig.connect(make_receiver("decoy"), sender=living, dispatch_uid=HookedUid("decoy"), weak=False)
    # The hooked entry is removed first; the other one is still indexed meanwhile.
    sig.connect(make_receiver("hooked"), sender=dying, dispatch_uid=uid, weak=False)
    sig.connect(make_receiver("for the dead"), sender=dying, weak=False)
    sig.connect(make_receiver("anyone"), weak=False)
    everyone = ["decoy", "hooked", "for the dead", "anyone"]
    assert answers(sig, MethodLike(owner, func)) == everyone
    seen = []
    del dying
    gc.collect()
    uid.arm(lambda: seen.append(answers(sig, MethodLike(owner, func))))
    sig.connect(make_receiver("trigger"), weak=False)  # cleans up first
    assert uid.hook is None, "the hook did not run"
    assert seen == [["decoy", "anyone"]]
    assert answers(sig, MethodLike(owner, func)) == ["decoy", "anyone", "trigger"]
