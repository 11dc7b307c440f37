"""Regression tests for reliability defects of the engines, each on both engines.

One section per defect:

1. ``Registry.remove`` read the word before the receivers list's item array
   (``list[-1]`` compiled without wraparound): disconnecting the last receiver
   did not update the list a caller held, and a heap where that word happened
   to be the item being removed made it pop the wrong item.
2. Lost updates in the lock-free snapshot caches: a send that ran while a
   mutation's dict operation was running user code (a ``dispatch_uid``'s
   ``__hash__``) cached what it saw, and the cache outlived the mutation.
3. The compiled last-sender memo was consulted before the sender's key was
   derived: a sender that became method-like (``__func__``/``__self__``), or a
   new class and instance at the addresses of old ones, got a stale answer.
4. The compiled call-plan cache was updated in three stores: a finalizer run by
   releasing the previous keyword-name tuple could leave names and plan of two
   different calls paired.
5. Index updates were not exception-safe: a ``dispatch_uid`` whose hash raised
   midway left the receiver half connected (or half disconnected).
6. Introspection and argument errors of ``send``/``send_robust``, worded as
   Django's.
7. No use of ``PyWeakref_GetObject`` (deprecated from Python 3.13).
8. Bad input fails early and clearly (``TypeError``, ``ModuleNotFoundError``),
   changing nothing.
9. Receivers that send the signal that called them (save loops) raise
   ``SignalRecursionError`` naming the loop, with a short traceback.

Some tests depend on the memory allocator (a heap spray, address reuse): they
check with ``ctypes`` or ``id()`` that the layout they need was obtained, retry
a bounded number of times, and skip (never pass vacuously) when they cannot get it.
"""

import ctypes
import enum
import gc
import inspect
import logging
import os
import queue
import re
import subprocess
import sys
import textwrap
import threading
import traceback
from contextlib import contextmanager
from pathlib import Path

import pytest

import fastsignal
from fastsignal import receiver

from helpers import deref


def rx(**kwargs):
    return "rx"


def ry(**kwargs):
    return "ry"


def rz(**kwargs):
    return "rz"


def r_any(**kwargs):
    return "any"


def r_meth(**kwargs):
    return "meth"


def r_base(**kwargs):
    return "base"


def r_new(**kwargs):
    return "new"


class PlainSender:
    """Instances are plain objects: keyed by address until they gain ``__func__``."""


class MethodOwner:
    def method(self, **kwargs):
        return "method"


def answers(signal, sender=None, **named):
    return [response for _, response in signal.send(sender, **named)]


def robust_answers(signal, sender=None, **named):
    return [response for _, response in signal.send_robust(sender, **named)]


def listed(signal):
    return [deref(item) for item in signal.receivers]


def django_signal_class():
    """Django's own ``Signal`` (skips when fastsignal is installed into Django)."""
    django_dispatcher = pytest.importorskip("django.dispatch.dispatcher")
    import fastsignal.django as fsd

    if fsd.is_installed():
        pytest.skip("fastsignal is installed into Django: Django's Signal is not its own")
    return django_dispatcher.Signal


def run_with_deadline(function, seconds=5.0):
    """Run ``function`` in a daemon thread; fail (rather than hang) if it deadlocks.

    The tests that re-enter a signal from inside its own mutation run this way:
    a regression that waits for the lock the mutation holds must fail the test,
    not stop the run.
    """
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as err:  # re-raised in the test's thread
            outcome["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"deadlock: {function.__name__} did not return within {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# -- 1. Registry.remove: the held receivers list -----------------------------------------


@pytest.mark.parametrize("weak", [False, True], ids=["strong", "weak"])
def test_disconnecting_the_last_receiver_updates_the_held_list_in_place(engine, weak):
    sig = engine.Signal()
    for each in (rx, ry, rz):
        sig.connect(each, weak=weak)
    items = sig.receivers
    rx_item, ry_item, rz_item = items

    assert sig.disconnect(rz) is True
    # As Django (and the Python engine) do: the list the caller holds loses the item.
    assert items == [rx_item, ry_item]
    assert rz_item not in items
    assert sig.receivers is items
    assert listed(sig) == [rx, ry]
    assert answers(sig) == ["rx", "ry"]
    with sig.lock:
        sig.sender_receivers_cache.clear()
    assert answers(sig) == ["rx", "ry"]
    assert listed(sig) == [rx, ry]

    assert sig.disconnect(ry) is True
    assert items == [rx_item]
    with sig.lock:
        sig.sender_receivers_cache.clear()
    assert answers(sig) == ["rx"]
    assert sig.disconnect(rx) is True
    assert items == []
    assert sig.receivers == []
    assert not sig.has_listeners()
    assert sig.send(None) == []


def _word_before_items(lst):
    """The machine word just before ``lst``'s item array: what ``lst[-1]`` read when
    compiled with ``wraparound=False`` (index -1 taken literally)."""
    word = ctypes.sizeof(ctypes.c_void_p)
    # PyListObject ends with ob_item and allocated, whatever the object header.
    ob_item = ctypes.c_void_p.from_address(id(lst) + list.__basicsize__ - 2 * word).value
    assert ob_item, "the list has no item array"
    return ctypes.c_size_t.from_address(ob_item - word).value


def _list_after_spray(first, second, attempts=20):
    """Return ``([first, second], spray)``, the list's item array placed right after a
    heap block whose last word is ``first`` (checked with ``ctypes``).

    The list is built by two appends, so its array has four slots: the size class
    of the spray's four-item lists. Freeing every other sprayed list leaves free
    blocks that each follow a block ending with ``first``; the list takes one.
    Keep ``spray`` alive while the layout matters.
    """
    if sys.implementation.name != "cpython":
        pytest.skip("the heap spray reads CPython's list layout")
    if os.environ.get("PYTHONMALLOC", "pymalloc").split("_")[0] not in ("", "pymalloc"):
        pytest.skip("the heap spray needs CPython's small-object allocator")
    for _ in range(attempts):
        spray = [[first, first, first, first] for _ in range(10_000)]
        del spray[1::2]
        candidate = []
        candidate.append(first)
        candidate.append(second)
        if _word_before_items(candidate) == id(first):
            return candidate, spray
        del candidate, spray
    pytest.skip("could not place a list's item array right after a sprayed block")


@pytest.mark.parametrize("target", ["first", "last"])
def test_disconnect_after_heap_spray_removes_the_right_item(engine, target):
    """The word before the item array is the first receiver's item.

    The old compiled code took that word for the list's last item. Disconnecting
    the first receiver then popped the LAST item (the list showed the
    disconnected receiver, and re-adopting it reconnected that one and dropped
    the other); disconnecting the last receiver left it in the held list.
    """
    sig = engine.Signal()
    sig.connect(rx, weak=False)
    sig.connect(ry, weak=False)
    rx_item, ry_item = sig.receivers
    items, spray = _list_after_spray(rx_item, ry_item)
    sig.receivers = items
    assert answers(sig) == ["rx", "ry"]  # the registry adopts the list...
    assert sig.receivers is items  # ...and keeps it
    if _word_before_items(items) != id(rx_item):  # the adoption's allocations moved it
        pytest.skip("the heap layout changed before the disconnect")

    if target == "first":
        assert sig.disconnect(rx) is True
        remaining, remaining_item = ry, ry_item
    else:
        assert sig.disconnect(ry) is True
        assert items == [rx_item]  # the held list, updated in place
        remaining, remaining_item = rx, rx_item
    assert sig.receivers == [remaining_item]
    assert listed(sig) == [remaining]
    assert answers(sig) == [remaining()]
    with sig.lock:
        sig.sender_receivers_cache.clear()
    assert answers(sig) == [remaining()]
    assert listed(sig) == [remaining]
    assert sig.has_listeners()
    del spray


# -- 2. Lost updates in the lock-free caches ---------------------------------------------


class ReentrantUid:
    """A dispatch_uid whose ``__hash__`` sends ``signal`` from ``sender`` first.

    Re-entrancy stands in for another thread that sends while a mutation runs the
    uid's Python code: single-threaded and deterministic. Equal to (and hashed
    like) any ReentrantUid of the same value.
    """

    def __init__(self, value, signal, sender):
        self.value = value
        self.signal = signal
        self.sender = sender
        self.inside = False
        self.sent = []

    def __hash__(self):
        if not self.inside:
            self.inside = True
            try:
                self.sent.append(answers(self.signal, self.sender))
            finally:
                self.inside = False
        return hash(self.value)

    def __eq__(self, other):
        return isinstance(other, ReentrantUid) and other.value == self.value


SENDER_KINDS = ["class", "instance"]


def make_sender(kind):
    if kind == "class":
        return type("SomeSender", (), {})
    return PlainSender()


@pytest.mark.parametrize("kind", SENDER_KINDS)
@pytest.mark.parametrize("for_sender", [False, True], ids=["any-sender", "own-sender"])
def test_send_from_uid_hash_during_mutation_loses_no_update(engine, kind, for_sender):
    sender = make_sender(kind)

    def scenario():
        sig = engine.Signal()
        sig.connect(r_base, weak=False)
        connect_sender = sender if for_sender else None
        # Fill every cache (prepared snapshots, the memo of the last sender).
        assert answers(sig, sender) == ["base"]
        assert answers(sig, sender) == ["base"]

        uid = ReentrantUid("u", sig, sender)
        sig.connect(r_new, sender=connect_sender, weak=False, dispatch_uid=uid)
        assert uid.sent, "the uid's __hash__ ran no send: the scenario did not happen"
        for _ in range(3):
            assert answers(sig, sender) == ["base", "new"]
        assert sig.has_listeners(sender)

        other = ReentrantUid("u", sig, sender)
        assert sig.disconnect(sender=connect_sender, dispatch_uid=other) is True
        assert other.sent
        for _ in range(3):
            assert answers(sig, sender) == ["base"]
        assert listed(sig) == [r_base]

    run_with_deadline(scenario)


class EnumUid(enum.Enum):
    """Plain Enum members hash with ``Enum.__hash__``, which is Python code."""

    A = "a"


_ENUM_HASH_CODE = enum.Enum.__hash__.__code__


@pytest.mark.parametrize("for_sender", [False, True], ids=["any-sender", "own-sender"])
def test_send_from_another_thread_during_enum_uid_hash_loses_no_update(engine, for_sender):
    """Another thread sends exactly while the mutation runs ``Enum.__hash__``.

    A profile hook (this thread only) catches each call of ``Enum.__hash__`` on
    the uid and, right there, lets a sender thread send once and waits for it:
    a deterministic interleaving of two real threads.
    """
    if EnumUid.__hash__ is not enum.Enum.__hash__:
        pytest.skip("Enum.__hash__ is not Python code on this version")
    sender = type("ThreadSender", (), {})
    sig = engine.Signal()
    sig.connect(r_base, weak=False)
    assert answers(sig, sender) == ["base"]
    assert answers(sig, sender) == ["base"]
    connect_sender = sender if for_sender else None

    requests, done = queue.Queue(), queue.Queue()
    errors = []

    def send_on_request():
        while requests.get() is not None:
            try:
                answers(sig, sender)
            except BaseException as err:  # reported by the test
                errors.append(err)
            done.put(None)

    state = {"hashes": 0, "blocked": False}

    def hook(frame, event, arg):
        if (
            event == "call"
            and frame.f_code is _ENUM_HASH_CODE
            and frame.f_locals.get("self") is EnumUid.A
            and not state["blocked"]
        ):
            state["hashes"] += 1
            requests.put(True)
            try:
                done.get(timeout=3)
            except queue.Empty:
                state["blocked"] = True  # the send waited for the mutation

    def with_hook(function, *args, **kwargs):
        previous = sys.getprofile()
        sys.setprofile(hook)
        try:
            return function(*args, **kwargs)
        finally:
            sys.setprofile(previous)

    thread = threading.Thread(target=send_on_request, daemon=True)
    thread.start()
    try:
        with_hook(sig.connect, r_new, sender=connect_sender, weak=False, dispatch_uid=EnumUid.A)
        assert state["hashes"], "Enum.__hash__ was not seen: the scenario did not happen"
        for _ in range(3):
            assert answers(sig, sender) == ["base", "new"]
        assert with_hook(sig.disconnect, sender=connect_sender, dispatch_uid=EnumUid.A) is True
        for _ in range(3):
            assert answers(sig, sender) == ["base"]
    finally:
        requests.put(None)
        thread.join(5)
    assert not state["blocked"], "a send blocked while a mutation was under way"
    assert not errors, errors


# -- 3. The last-sender memo and the sender's key ----------------------------------------


@pytest.mark.parametrize("with_any", [True, False], ids=["with-any", "method-only"])
@pytest.mark.parametrize("kind", ["instance", "class"])
def test_sender_that_becomes_method_like_is_keyed_as_make_id_says(engine, kind, with_any):
    """A sender given ``__self__``/``__func__`` is keyed ``(id(__self__), id(__func__))``
    from then on (Django's make_id decides at every send), and by its address again
    once they are removed."""
    owner = MethodOwner()
    bound = owner.method  # kept alive: the sender of the receiver below
    sig = engine.Signal()
    if with_any:
        sig.connect(r_any, weak=False)
    sig.connect(r_meth, sender=bound, weak=False)
    before = ["any"] if with_any else []

    sender = PlainSender() if kind == "instance" else type("MethodLike", (), {})
    assert answers(sig, sender) == before
    assert answers(sig, sender) == before  # from the memo, in the compiled engine
    assert sig.has_listeners(sender) is with_any

    sender.__self__ = owner
    sender.__func__ = MethodOwner.method  # a class's own attribute: the plain function
    assert fastsignal._common.make_id(sender) == fastsignal._common.make_id(bound)
    assert answers(sig, sender) == before + ["meth"]
    assert answers(sig, sender) == before + ["meth"]
    assert sig.has_listeners(sender) is True
    assert robust_answers(sig, sender) == before + ["meth"]

    del sender.__self__, sender.__func__
    assert answers(sig, sender) == before
    assert answers(sig, sender) == before
    assert sig.has_listeners(sender) is with_any

    DjangoSignal = django_signal_class()
    theirs = DjangoSignal()
    if with_any:
        theirs.connect(r_any, weak=False)
    theirs.connect(r_meth, sender=bound, weak=False)
    assert answers(theirs, sender) == before
    sender.__self__, sender.__func__ = owner, MethodOwner.method
    assert answers(theirs, sender) == before + ["meth"]


@pytest.mark.parametrize("where", ["own", "base", "metaclass"])
def test_class_sender_keyed_as_make_id_says_wherever_func_comes_from(engine, where):
    """A class sender gets ``__func__`` in its own ``__dict__``, a base class's, or
    its metaclass's: every send and ``has_listeners`` key it as Django's make_id
    does, with ``__self__`` (a bound-method key) and without it (AttributeError)."""
    owner = MethodOwner()
    bound = owner.method
    DjangoSignal = django_signal_class()
    ours, theirs = engine.Signal(), DjangoSignal()
    for signal in (ours, theirs):
        signal.connect(r_any, weak=False)
        signal.connect(r_meth, sender=bound, weak=False)
    meta = type("Meta", (type,), {})
    base = type("Base", (), {})
    sender = (meta if where == "metaclass" else type)("Sender", (base,), {})
    holder = {"own": sender, "base": base, "metaclass": meta}[where]
    for signal in (ours, theirs):
        assert answers(signal, sender) == ["any"]
        assert signal.has_listeners(sender)

    holder.__func__ = staticmethod(MethodOwner.method)  # __func__ alone: make_id raises
    for signal in (ours, theirs):
        with pytest.raises(AttributeError):
            signal.send(sender)
        with pytest.raises(AttributeError):
            signal.has_listeners(sender)

    holder.__self__ = owner
    for signal in (ours, theirs):
        assert answers(signal, sender) == ["any", "meth"]
        assert signal.has_listeners(sender)

    del holder.__func__, holder.__self__
    for signal in (ours, theirs):
        assert answers(signal, sender) == ["any"]


@pytest.mark.parametrize("kind", ["instance", "class"])
def test_new_sender_at_a_reused_address_is_keyed_as_make_id_says(engine, kind):
    """A class (and an instance of it) sent, freed, and replaced at the same
    addresses by a class (and instance) whose ``make_id`` is a bound-method key.

    The old compiled memo matched the address (and the type's address) and
    answered for the old sender. Each attempt compares with Django's Signal; at
    least one attempt must reuse the addresses for the test to count.
    """
    DjangoSignal = django_signal_class()
    owner = MethodOwner()
    bound = owner.method
    ours, theirs = engine.Signal(), DjangoSignal()
    for signal in (ours, theirs):
        signal.connect(r_any, weak=False)
        signal.connect(r_meth, sender=bound, weak=False)

    reused = 0
    for _ in range(40):
        old_class = type("Reused", (), {})
        old = old_class() if kind == "instance" else old_class
        assert answers(ours, old) == ["any"]
        addresses = (id(old_class), id(old))
        del old, old_class
        gc.collect(1)  # the young generations hold them: cheap, and enough

        new_class = type("Reused", (), {})
        if kind == "instance":
            # Instances until one lands at the old address (pymalloc reuses freed blocks).
            extra = []
            new = new_class()
            while id(new) != addresses[1] and len(extra) < 200:
                extra.append(new)
                new = new_class()
            del extra
        else:
            new = new_class
        if (id(new_class), id(new)) == addresses:
            reused += 1
        # Method-like through its class: make_id(new) is bound's key.
        new_class.__func__ = staticmethod(MethodOwner.method)
        new_class.__self__ = owner
        expected = answers(theirs, new)
        assert expected == ["any", "meth"]
        assert answers(ours, new) == expected
        assert ours.has_listeners(new)
        del new, new_class
        gc.collect(1)
    if not reused:
        pytest.skip("could not provoke address reuse of a class and its instance")


# -- 4. The call-plan cache ------------------------------------------------------------------


def test_finalizer_run_by_releasing_keyword_names_sees_a_whole_call_plan(engine):
    """A keyword name that is a str subclass with ``__del__`` that sends.

    The plan of ``y`` exists (plain names), so the send with ``StrSub("y")``
    finds it and leaves only the most-recent-names slot holding the StrSub's
    tuple. The next send with other names releases it: ``__del__`` sends with
    ``x=1`` in the middle of the cache update. The old compiled code then paired
    the ``x`` names with the outer call's plan: the next ``x=1`` send passed
    ``z=1``.
    """
    sig = engine.Signal()
    calls = []

    def record(signal, sender, **kwargs):
        # str(): no reference to the StrSub is kept (the Python engine passes it).
        calls.append(sorted((str(name), value) for name, value in kwargs.items()))
        return "recorded"

    sig.connect(record, weak=False)
    sender = PlainSender()

    def send_x():  # one call site: the same keyword-names tuple every time
        return sig.send(sender, x=1)

    deleted = []

    class StrSub(str):
        def __del__(self):
            deleted.append(len(calls))
            send_x()

    assert answers(sig, sender, y=1) == ["recorded"]
    assert answers(sig, sender, **{StrSub("y"): 2}) == ["recorded"]
    assert answers(sig, sender, z=3) == ["recorded"]
    # Equal names from another call site replace the cached plan that holds
    # the StrSub's tuple (the compiled engine keeps one per distinct names).
    assert answers(sig, sender, y=4) == ["recorded"]
    gc.collect()
    assert deleted, "the StrSub keyword name was never released"
    assert send_x() == [(record, "recorded")]
    assert calls[-1] == [("x", 1)]
    # Each send passed its own names (the finalizer's x=1 ran at some point before).
    assert sorted(calls[:-1]) == [[("x", 1)], [("y", 1)], [("y", 2)], [("y", 4)], [("z", 3)]]
    assert sig.send_robust(sender, x=1) == [(record, "recorded")]
    assert calls[-1] == [("x", 1)]


# -- 5. Exception safety of index updates --------------------------------------------------


class HashInterrupt(BaseException):
    """What a RaisingHashUid raises: a BaseException, as KeyboardInterrupt is."""


class ValueUid:
    """Equal to (and hashed like) any ValueUid of the same value."""

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, ValueUid) and other.value == self.value

    def __hash__(self):
        return hash(self.value)


class RaisingHashUid(ValueUid):
    """A ValueUid whose ``__hash__`` raises HashInterrupt on call ``after + 1``
    (``after`` calls succeed); ``heal()`` makes it well-behaved (a dict key's
    hash must not fail while it is stored)."""

    def __init__(self, value, after):
        super().__init__(value)
        self.budget = after
        self.raised = False

    def __hash__(self):
        if self.budget is not None:
            if self.budget <= 0:
                self.raised = True
                raise HashInterrupt(self.value)
            self.budget -= 1
        return hash(self.value)

    def heal(self):
        self.budget = None


def observe(sig, receiver_, sender):
    """Where ``receiver_`` shows: (in receivers, has_listeners, called by a send)."""
    return (
        receiver_ in listed(sig),
        sig.has_listeners(sender),
        receiver_ in [r for r, _ in sig.send(sender)],
    )


@pytest.mark.parametrize("list_read", [False, True], ids=["no-list", "list-read"])
@pytest.mark.parametrize("for_sender", [False, True], ids=["any-sender", "own-sender"])
@pytest.mark.parametrize("after", range(5))
def test_connect_interrupted_by_uid_hash_is_all_or_nothing(engine, after, for_sender, list_read):
    sender = PlainSender()
    connect_sender = sender if for_sender else None
    sig = engine.Signal()
    assert answers(sig, sender) == []
    if list_read:
        assert sig.receivers == []
    uid = RaisingHashUid("u", after)
    try:
        sig.connect(rx, sender=connect_sender, weak=False, dispatch_uid=uid)
    except HashInterrupt:
        connected = False
    else:
        connected = True
    assert uid.raised is not connected
    uid.heal()
    assert observe(sig, rx, sender) == (connected,) * 3
    assert len(sig.receivers) == connected

    # A retry with a well-behaved, equal uid connects (once).
    sig.connect(rx, sender=connect_sender, weak=False, dispatch_uid=ValueUid("u"))
    assert observe(sig, rx, sender) == (True, True, True)
    assert answers(sig, sender) == ["rx"]
    assert listed(sig) == [rx]
    assert sig.disconnect(sender=connect_sender, dispatch_uid=ValueUid("u")) is True
    assert observe(sig, rx, sender) == (False, False, False)


@pytest.mark.parametrize("list_read", [False, True], ids=["no-list", "list-read"])
@pytest.mark.parametrize("for_sender", [False, True], ids=["any-sender", "own-sender"])
@pytest.mark.parametrize("after", range(5))
def test_disconnect_interrupted_by_uid_hash_is_all_or_nothing(engine, after, for_sender, list_read):
    sender = PlainSender()
    connect_sender = sender if for_sender else None
    sig = engine.Signal()
    sig.connect(ry, weak=False)  # a bystander, connected for every sender
    sig.connect(rx, sender=connect_sender, weak=False, dispatch_uid=ValueUid("u"))
    assert answers(sig, sender) == ["ry", "rx"]
    if list_read:
        assert listed(sig) == [ry, rx]
    uid = RaisingHashUid("u", after)
    try:
        result = sig.disconnect(sender=connect_sender, dispatch_uid=uid)
    except HashInterrupt:
        still = True
    else:
        assert result is True
        still = False
    assert uid.raised is still
    uid.heal()
    assert observe(sig, rx, sender) == (still, True, still)
    assert answers(sig, sender) == (["ry", "rx"] if still else ["ry"])

    # A retry with a well-behaved, equal uid finishes the job.
    assert sig.disconnect(sender=connect_sender, dispatch_uid=ValueUid("u")) is still
    assert observe(sig, rx, sender) == (False, True, False)
    assert answers(sig, sender) == ["ry"]
    assert listed(sig) == [ry]
    assert sig.disconnect(ry) is True
    assert not sig.has_listeners(sender)
    assert sig.send(sender) == []


# -- 6. Introspection and argument errors -----------------------------------------------------


@pytest.mark.parametrize("method", ["send", "send_robust"])
def test_send_introspection(engine, method):
    sig = engine.Signal()
    function = getattr(type(sig), method)
    assert str(inspect.signature(getattr(sig, method))) == "(sender, **named)"
    assert list(inspect.signature(function).parameters) == ["self", "sender", "named"]
    assert function.__module__ == engine.module.__name__
    assert function.__qualname__ == f"Signal.{method}"
    assert function.__name__ == method
    assert function.__doc__


@pytest.mark.parametrize("name", ["connect", "disconnect", "send", "send_robust", "has_listeners"])
def test_both_engines_document_their_methods_alike(name):
    """The compiled engine's public functions carry the pure-Python engine's
    docstrings word for word: ``help()`` and the API reference (taken from the
    pure-Python engine) say the same whichever engine is in use. They are
    compared as ``inspect.cleandoc`` gives them: from 3.13, CPython strips a
    docstring's indentation at compile time, and Cython keeps it."""
    if not fastsignal.COMPILED:
        pytest.skip("the compiled engine is not in use")
    from fastsignal import _engine_c, _engine_py

    compiled = inspect.cleandoc(getattr(_engine_c, name).__doc__)
    assert compiled == inspect.cleandoc(getattr(_engine_py, name).__doc__)


ARGUMENT_ERRORS = [
    ((), {}),  # missing sender
    ((), {"x": 1}),  # missing sender, with named arguments
    ((PlainSender,), {"sender": PlainSender}),  # sender given twice
    ((PlainSender, 2), {}),  # too many positionals
    ((PlainSender, 2, 3), {"x": 1}),
    ((PlainSender,), {"self": 2}),  # self= keyword
    ((), {"self": 2}),
    ((), {"sender": PlainSender, "self": 2}),
]


@pytest.mark.parametrize("connected", [False, True], ids=["empty", "connected"])
@pytest.mark.parametrize("method", ["send", "send_robust"])
def test_send_argument_errors_are_worded_as_djangos(engine, method, connected):
    DjangoSignal = django_signal_class()
    ours, theirs = engine.Signal(), DjangoSignal()
    if connected:
        for signal in (ours, theirs):
            signal.connect(rx, weak=False)
    for args, kwargs in ARGUMENT_ERRORS:
        with pytest.raises(TypeError) as expected:
            getattr(theirs, method)(*args, **kwargs)
        with pytest.raises(TypeError) as got:
            getattr(ours, method)(*args, **kwargs)
        assert str(got.value) == str(expected.value), (args, kwargs)
        assert str(got.value).startswith(f"Signal.{method}() "), (args, kwargs)
    # The signal is unharmed.
    assert answers(ours, PlainSender, x=1) == (["rx"] if connected else [])


def test_send_robust_errors_name_send_robust(engine):
    sig = engine.Signal()
    with pytest.raises(TypeError) as info:
        sig.send_robust()
    assert (
        str(info.value) == "Signal.send_robust() missing 1 required positional argument: 'sender'"
    )
    with pytest.raises(TypeError) as info:
        sig.send()
    assert str(info.value) == "Signal.send() missing 1 required positional argument: 'sender'"


# -- 7. No PyWeakref_GetObject -------------------------------------------------------------------

WEAK_RECEIVERS_SCRIPT = textwrap.dedent(
    """
    import gc, sys, warnings
    warnings.simplefilter("error", DeprecationWarning)
    import fastsignal
    from fastsignal import Signal

    assert fastsignal.COMPILED is {compiled}, fastsignal.COMPILED

    class Owner:
        def method(self, **kwargs):
            return "method"

    def function(**kwargs):
        return "function"

    class Sender:
        pass

    sig = Signal()
    owner = Owner()
    sender = Sender()
    sig.connect(function)
    sig.connect(owner.method)
    sig.connect(function, sender=sender, dispatch_uid="for-sender")
    assert [r for _, r in sig.send(sender)] == ["function", "method", "function"]
    assert [r for _, r in sig.send_robust(None)] == ["function", "method"]
    assert sig.has_listeners(sender)
    del owner, sender
    gc.collect()
    assert [r for _, r in sig.send(None)] == ["function"]
    del function
    gc.collect()
    assert sig.send(None) == []
    assert not sig.has_listeners()
    print(fastsignal.__file__)
    """
)


def test_weak_receivers_under_deprecation_warnings_as_errors(engine):
    env = dict(os.environ)
    env.pop("FASTSIGNAL_NO_EXTENSIONS", None)
    if engine.name == "python":
        env["FASTSIGNAL_NO_EXTENSIONS"] = "1"
    script = WEAK_RECEIVERS_SCRIPT.format(compiled=engine.name == "compiled")
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == Path(fastsignal.__file__)


def test_compiled_source_uses_pyweakref_getobject_only_before_3_13():
    """``PyWeakref_GetObject`` is deprecated from 3.13 (a compile-time deprecation,
    which no runtime warning can catch): the engine may use it only in the branch
    of a ``PY_VERSION_HEX`` test that excludes 3.13 and later."""
    source = Path(fastsignal.__file__).with_name("_engine_c.pyx")
    if not source.exists():
        pytest.skip("the Cython source is not installed")
    lines = source.read_text().splitlines()
    conditions = []  # a stack of [condition, in_else]
    uses = 0
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        assert not re.search(r"cimport\b.*\bPyWeakref_GetObject\b", stripped), (number, line)
        if stripped.startswith("#if"):
            conditions.append([stripped, False])
        elif stripped.startswith("#el"):
            assert conditions, (number, line)
            conditions[-1] = [stripped if stripped.startswith("#elif") else conditions[-1][0], True]
        elif stripped.startswith("#endif"):
            conditions.pop()
        elif re.search(r"\bPyWeakref_GetObject\s*\(", line):
            uses += 1
            guarded = any(
                (re.match(r"#if\s+PY_VERSION_HEX\s*>=\s*0x030[Dd]", cond) and in_else)
                or (re.match(r"#if\s+PY_VERSION_HEX\s*<\s*0x030[Dd]", cond) and not in_else)
                for cond, in_else in conditions
            )
            assert guarded, f"_engine_c.pyx:{number} uses PyWeakref_GetObject on 3.13+: {line}"


# -- 8. Bad input ------------------------------------------------------------------------------


class Unhashable:
    __hash__ = None

    def __eq__(self, other):
        return isinstance(other, Unhashable)


class Holder:
    def method(self, **kwargs):
        return "method"


@pytest.fixture
def populated(engine):
    """A signal with a receiver for every sender, one for PlainSender, and a weak method."""
    sig = engine.Signal()
    holder = Holder()
    sig.connect(rx, weak=False)
    sig.connect(ry, sender=PlainSender, weak=False)
    sig.connect(holder.method)
    sig.keep = holder
    return sig


def signal_state(sig):
    return (
        listed(sig),
        sig.has_listeners(),
        sig.has_listeners(PlainSender),
        answers(sig, PlainSender, x=1),
        robust_answers(sig, None, x=1),
        len(sig.receivers),
    )


BAD_CALLS = {
    "connect": [
        (lambda sig: sig.connect(42), "callable"),
        (lambda sig: sig.connect("rz"), "callable"),
        (lambda sig: sig.connect(None), "callable"),
        (lambda sig: sig.connect(rz, dispatch_uid=["u"]), r"dispatch_uid.*list"),
        (lambda sig: sig.connect(rz, dispatch_uid={"u": 1}), r"dispatch_uid.*dict"),
        (
            lambda sig: sig.connect(rz, sender=PlainSender, dispatch_uid=Unhashable()),
            "dispatch_uid",
        ),
        (lambda sig: sig.connect(rz, weak=False, dispatch_uid={"u"}), "dispatch_uid"),
        (lambda sig: sig.connect(rz, bogus=1), "bogus"),
    ],
    "disconnect": [
        (lambda sig: sig.disconnect(dispatch_uid=["u"]), r"dispatch_uid.*list"),
        (lambda sig: sig.disconnect(rx, dispatch_uid={"u": 1}), "dispatch_uid"),
        (lambda sig: sig.disconnect(sender=PlainSender, dispatch_uid=Unhashable()), "dispatch_uid"),
        (lambda sig: sig.disconnect(rx, bogus=1), "bogus"),
    ],
    "send": [
        (
            lambda sig: sig.send(),
            r"^Signal\.send\(\) missing 1 required positional argument: 'sender'$",
        ),
        (lambda sig: sig.send(PlainSender, 1), r"^Signal\.send\(\) takes 2 positional arguments"),
        (
            lambda sig: sig.send(PlainSender, sender=PlainSender),
            r"^Signal\.send\(\) got multiple values",
        ),
        (lambda sig: sig.send(PlainSender, **{1: 2}), "keywords must be strings"),
    ],
    "send_robust": [
        (lambda sig: sig.send_robust(), r"^Signal\.send_robust\(\) missing 1 required positional"),
        (
            lambda sig: sig.send_robust(PlainSender, 1),
            r"^Signal\.send_robust\(\) takes 2 positional",
        ),
        (
            lambda sig: sig.send_robust(PlainSender, sender=PlainSender),
            r"^Signal\.send_robust\(\) got multiple values",
        ),
        (lambda sig: sig.send_robust(PlainSender, **{1: 2}), "keywords must be strings"),
    ],
    "has_listeners": [
        (lambda sig: sig.has_listeners(PlainSender, 1), r"has_listeners\(\) takes"),
        (lambda sig: sig.has_listeners(bogus=1), "bogus"),
    ],
    "receiver": [
        (lambda sig: receiver(42)(rz), r"\b42\b"),
        (lambda sig: receiver([sig, "x"])(rz), r"'x'"),
        (lambda sig: receiver((sig, None))(rz), r"\bNone\b"),
        (lambda sig: receiver([sig, 1.5], sender=PlainSender)(rz), r"1\.5"),
        (lambda sig: receiver(sig, bogus=1)(rz), "bogus"),
    ],
}
BAD_CALL_CASES = [
    pytest.param(entry, call, match, id=f"{entry}-{index}")
    for entry, calls in BAD_CALLS.items()
    for index, (call, match) in enumerate(calls)
]


@pytest.mark.parametrize("entry, call, match", BAD_CALL_CASES)
def test_wrong_argument_is_a_clear_type_error_and_changes_nothing(populated, entry, call, match):
    before = signal_state(populated)
    with pytest.raises(TypeError, match=match):
        call(populated)
    assert signal_state(populated) == before
    # And the signal keeps working for every operation.
    populated.connect(rz, weak=False)
    assert answers(populated, PlainSender) == ["rx", "ry", "method", "rz"]
    assert populated.disconnect(rz) is True
    assert signal_state(populated) == before


def test_receiver_rejects_a_bad_target_before_decorating(engine):
    sig = engine.Signal()
    with pytest.raises(TypeError, match=r"\b42\b"):
        receiver(42)
    with pytest.raises(TypeError, match=r"'x'"):
        receiver([sig, "x"])
    with pytest.raises(TypeError, match=r"'x'"):

        @receiver((sig, "x"), weak=False)
        def decorated(**kwargs):
            return "decorated"

    # Nothing was connected to the good signal of the list.
    assert sig.receivers == []
    assert not sig.has_listeners()
    assert sig.send(None) == []


@pytest.mark.parametrize("operation", ["connect", "disconnect"])
def test_unhashable_dispatch_uid_is_a_type_error_naming_it(populated, operation):
    before = signal_state(populated)
    for uid in (["u"], {"u": 1}, Unhashable()):
        with pytest.raises(TypeError, match="dispatch_uid") as info:
            if operation == "connect":
                populated.connect(rz, dispatch_uid=uid)
            else:
                populated.disconnect(dispatch_uid=uid)
        assert type(uid).__name__ in str(info.value)
        assert signal_state(populated) == before


def test_async_receiver_without_asgiref_fails_at_connect(populated, monkeypatch):
    monkeypatch.setattr(fastsignal._common, "HAVE_ASGIREF", False)

    async def async_receiver(**kwargs):
        return "async"

    before = signal_state(populated)
    with pytest.raises(ModuleNotFoundError, match="asgiref") as info:
        populated.connect(async_receiver, weak=False)
    assert info.value.name == "asgiref"
    assert signal_state(populated) == before
    with pytest.raises(ModuleNotFoundError, match="asgiref"):
        receiver(populated, sender=PlainSender)(async_receiver)
    assert signal_state(populated) == before
    # Sync receivers still connect.
    populated.connect(rz, weak=False)
    assert answers(populated, None) == ["rx", "method", "rz"]


# -- 9. Save loops -------------------------------------------------------------------------------

# Module-level names: SignalRecursionError's message names a signal by the
# module-level name that holds it.
compiled_loop_signal = fastsignal.Signal()
python_loop_signal = fastsignal.PySignal()
compiled_ping = fastsignal.Signal()
compiled_pong = fastsignal.Signal()
python_ping = fastsignal.PySignal()
python_pong = fastsignal.PySignal()


class LoopSender:
    pass


def signal_recursion_error():
    from fastsignal._common import SignalRecursionError

    return SignalRecursionError


def test_signal_recursion_error_is_exported():
    SignalRecursionError = signal_recursion_error()
    assert fastsignal.SignalRecursionError is SignalRecursionError
    assert "SignalRecursionError" in fastsignal.__all__
    assert issubclass(SignalRecursionError, RecursionError)


@pytest.fixture
def loop_signal(engine):
    sig = globals()[f"{engine.name}_loop_signal"]
    assert sig.receivers == []
    yield sig
    sig.receivers = []


@contextmanager
def recursion_headroom(frames):
    """A recursion limit ``frames`` above the current depth, for the duration."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def check_recursion_error(err, *names, message=None):
    SignalRecursionError = signal_recursion_error()
    assert isinstance(err, SignalRecursionError)
    assert isinstance(err, RecursionError)
    message = str(err) if message is None else message
    for name in names:
        assert name in message, (name, message)
    assert "(repeated" in message, message
    assert len(message) < 2000, message  # the loop is named once, not once per level
    entries = traceback.extract_tb(err.__traceback__)
    assert len(entries) < 50, len(entries)


@pytest.mark.parametrize("outer", ["send", "send_robust"])
def test_receiver_that_sends_its_own_signal_raises_signal_recursion_error(
    engine, loop_signal, outer, caplog
):
    """The receiver sends with ``send``; the outermost call is ``send`` or
    ``send_robust`` (which returns the error as the receiver's response)."""
    SignalRecursionError = signal_recursion_error()
    calls = []

    def send_again(sender, signal, **kwargs):
        calls.append(1)
        return signal.send(sender, **kwargs)

    loop_signal.connect(send_again, weak=False)
    name = f"{engine.name}_loop_signal"
    if outer == "send":
        with pytest.raises(SignalRecursionError) as info:
            loop_signal.send(LoopSender, x=1)
        err = info.value
    else:
        with caplog.at_level(logging.ERROR, logger="django.dispatch"):
            responses = loop_signal.send_robust(LoopSender, x=1)
        assert [receiver_ for receiver_, _ in responses] == [send_again]
        err = responses[0][1]
        assert any(record.exc_info and record.exc_info[1] is err for record in caplog.records)
    check_recursion_error(err, name, "LoopSender", "send_again")
    assert len(calls) > 10

    # The signal still works.
    assert loop_signal.disconnect(send_again) is True
    loop_signal.connect(rx, weak=False)
    assert answers(loop_signal, LoopSender, x=1) == ["rx"]
    assert robust_answers(loop_signal, LoopSender) == ["rx"]
    assert loop_signal.has_listeners(LoopSender)


def test_save_loop_is_named_when_live_receivers_is_replaced(engine, loop_signal):
    """A monitoring tool that wraps ``_live_receivers`` sends through the shared
    path (``call_receivers``), which names the loop as the engines' loops do."""
    SignalRecursionError = signal_recursion_error()

    def send_again(sender, signal, **kwargs):
        return signal.send(sender)

    original = type(loop_signal)._live_receivers
    loop_signal._live_receivers = lambda sender: original(loop_signal, sender)
    loop_signal.connect(send_again, weak=False)
    try:
        with pytest.raises(SignalRecursionError) as info:
            loop_signal.send(LoopSender)
        check_recursion_error(info.value, f"{engine.name}_loop_signal", "send_again")
    finally:
        del loop_signal._live_receivers
        loop_signal.disconnect(send_again)


@pytest.fixture
def ping_pong(engine):
    """Module-level signals ``ping`` and ``pong`` whose receivers send each other."""
    ping = globals()[f"{engine.name}_ping"]
    pong = globals()[f"{engine.name}_pong"]

    def ping_receiver(sender, **kwargs):
        return pong.send(sender)

    def pong_receiver(sender, **kwargs):
        return ping.send(sender)

    ping.connect(ping_receiver, weak=False)
    pong.connect(pong_receiver, weak=False)
    yield ping, pong, ping_receiver, pong_receiver
    ping.receivers = []
    pong.receivers = []


def test_loop_through_two_receivers_names_both(engine, ping_pong):
    SignalRecursionError = signal_recursion_error()
    ping, pong, ping_receiver, pong_receiver = ping_pong
    with recursion_headroom(60), pytest.raises(SignalRecursionError) as info:
        ping.send(LoopSender)
    message = str(info.value)
    check_recursion_error(
        info.value,
        "ping_receiver",
        "pong_receiver",
        f"{engine.name}_ping",
        f"{engine.name}_pong",
        "LoopSender",
        message=message,
    )
    assert message.index("ping_receiver") < message.index("pong_receiver"), message
    # Both still work.
    assert pong.disconnect(pong_receiver) is True
    assert ping.send(LoopSender) == [(ping_receiver, [])]
    assert pong.send(LoopSender) == []


def test_recursion_error_message_names_only_the_links_it_shows(ping_pong, monkeypatch):
    """Every link of a ping-pong chain changes signal, the worst case for naming
    them: the message must look up (in every module) the names of the few links
    it shows, not of each of the ~200 levels."""
    from fastsignal import _common

    SignalRecursionError = signal_recursion_error()
    ping = ping_pong[0]
    with recursion_headroom(200), pytest.raises(SignalRecursionError) as info:
        ping.send(LoopSender)
    assert len(info.value.chain) > 50
    looked_up = []
    real_signal_name = _common.signal_name
    monkeypatch.setattr(
        _common, "signal_name", lambda signal: looked_up.append(signal) or real_signal_name(signal)
    )
    message = str(info.value)
    assert "(repeated" in message
    assert 1 <= len(looked_up) <= 3, f"{len(looked_up)} signal names looked up"


def test_legitimate_nesting_is_untouched(engine):
    first, second, third = engine.Signal(), engine.Signal(), engine.Signal()

    def first_receiver(sender, **kwargs):
        return ("first", second.send(sender, depth=2))

    def second_receiver(sender, **kwargs):
        return ("second", third.send(sender, depth=3))

    def third_receiver(sender, depth, **kwargs):
        return ("third", depth)

    first.connect(first_receiver, weak=False)
    second.connect(second_receiver, weak=False)
    third.connect(third_receiver, weak=False)
    expected = [
        (
            first_receiver,
            ("first", [(second_receiver, ("second", [(third_receiver, ("third", 3))]))]),
        )
    ]
    assert first.send(LoopSender, depth=1) == expected
    assert first.send_robust(LoopSender, depth=1) == expected


RECORDED_SAVES = []


def record_save(sender, instance, created, **kwargs):
    RECORDED_SAVES.append((instance.name, created))


@pytest.fixture
def django_models(engine):
    """fastsignal installed into Django (on ``engine``), auth's tables, a rolled-back
    transaction."""
    pytest.importorskip("django")
    from django.core.management import call_command
    from django.db import connection, transaction

    import fastsignal.django as fsd

    if fsd.is_installed():
        pytest.skip("fastsignal is already installed into Django")
    if "auth_group" not in connection.introspection.table_names():
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    assert fsd.install(engine=engine.module) is True
    try:
        with transaction.atomic():
            yield
            transaction.set_rollback(True)
    finally:
        assert fsd.uninstall() is True


def test_post_save_receiver_that_saves_the_instance_again(django_models):
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.db.models.signals import post_save

    SignalRecursionError = signal_recursion_error()
    saves = []

    def save_profile_again(sender, instance, **kwargs):
        saves.append(instance.pk)
        instance.save()

    post_save.connect(save_profile_again, sender=Group, weak=False)
    try:
        with pytest.raises(SignalRecursionError) as info:
            with transaction.atomic():  # a savepoint: the outer block stays usable
                Group.objects.create(name="looping")
    finally:
        assert post_save.disconnect(save_profile_again, sender=Group) is True
    check_recursion_error(info.value, "post_save", "Group", "save_profile_again")
    assert len(saves) > 3
    assert save_profile_again not in listed(post_save)
    # post_save still works.
    post_save.connect(record_save, sender=Group, weak=False)
    try:
        Group.objects.create(name="saved once")
    finally:
        assert post_save.disconnect(record_save, sender=Group) is True
    assert RECORDED_SAVES[-1] == ("saved once", True)


class DepthError(RecursionError):
    """A receiver's own exception that happens to subclass RecursionError."""


@pytest.mark.parametrize("outer", ["send", "through _live_receivers"])
def test_recursion_error_subclass_from_a_receiver_propagates_unchanged(engine, outer):
    """Django propagates a receiver's exception as it is: a ``RecursionError``
    subclass stays itself (``except DepthError`` catches it, its message is kept)."""
    sig = engine.Signal()
    raised = DepthError("too deep for this receiver")

    def receiver(sender, **kwargs):
        raise raised

    sig.connect(receiver, weak=False)
    if outer != "send":
        original = type(sig)._live_receivers
        sig._live_receivers = lambda sender: original(sig, sender)
    with pytest.raises(DepthError) as info:
        sig.send(LoopSender)
    assert info.value is raised
    assert str(info.value) == "too deep for this receiver"


def test_receivers_own_deep_recursion_propagates_unchanged(engine):
    """A receiver that recurses without end by itself, with no signal loop, raises
    the interpreter's ``RecursionError`` through send, frames and all."""
    sig = engine.Signal()

    def recurse(n):
        return recurse(n + 1) + 1

    def receiver(sender, **kwargs):
        return recurse(0)

    sig.connect(receiver, weak=False)
    with recursion_headroom(300), pytest.raises(RecursionError) as info:
        sig.send(LoopSender)
    err = info.value
    assert type(err) is RecursionError
    names = [entry.name for entry in traceback.extract_tb(err.__traceback__)]
    assert "receiver" in names
    assert names.count("recurse") > 100


def test_signal_recursion_error_is_chained_from_the_original(engine, loop_signal):
    """A save loop's ``SignalRecursionError`` has the interpreter's error as its
    ``__cause__``, whose traceback keeps the frames it unwound through until the
    loop was recognised: the looping receiver's, down to where the limit was hit."""
    SignalRecursionError = signal_recursion_error()

    def send_again(sender, signal, **kwargs):
        return signal.send(sender)

    loop_signal.connect(send_again, weak=False)
    with recursion_headroom(200), pytest.raises(SignalRecursionError) as info:
        loop_signal.send(LoopSender)
    cause = info.value.__cause__
    assert type(cause) is RecursionError
    names = [entry.name for entry in traceback.extract_tb(cause.__traceback__)]
    assert names.count("send_again") >= 2
    check_recursion_error(info.value, f"{engine.name}_loop_signal", "send_again")
