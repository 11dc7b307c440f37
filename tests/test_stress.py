"""Thread stress test of the concurrency contract of ``connect``, ``disconnect`` and ``send``.

Eight threads share three signals. Four workers each own ten receivers that they
connect, disconnect, reconnect and (for weak ones) let die, and they send; three
senders send in tight loops, each mostly from one sender on one signal (repeated
sends from the same sender are what reuses prepared snapshots); one thread keeps
the garbage collector busy with reference cycles that have ``__del__`` and hold
weakly connected receivers. Receivers are functions, bound methods and callable
objects, strong and weak (the owning worker keeps its weak ones alive while they
are connected). Senders are classes, a plain instance and a bound method (sent
as a fresh bound-method object each time, connected with a kept-alive one: they
share the key ``(id(obj), id(func))``). Lookup keys are adversarial:
``dispatch_uid`` objects with Python-level ``__hash__``/``__eq__`` that collide on
purpose and call ``time.sleep(0)`` to switch threads in the middle of the
engine's dict operations, ``Enum`` members and frozen dataclasses (whose
``__hash__``/``__eq__`` are Python code too), and plain receiver identities.
``sys.setswitchinterval(1e-6)`` is in force meanwhile.

Every call is stamped by one global logical clock (``itertools.count()``);
every receiver keeps the history of its connect-called, connect-returned,
disconnect-called and disconnect-returned events. Each send is checked against
those histories, from the list it returns (each receiver answers with its own
record):

- a receiver whose ``connect()`` returned before the send started, and whose
  ``disconnect()`` was not called (nor its last reference dropped) before the
  send ended, is called by it;
- a receiver whose ``disconnect()`` returned ``True`` before the send started
  (or that was never connected), and that was not connected again before the
  send ended, is not called by it;
- no receiver is called twice by one send, nor for a sender or signal it was
  not connected to; ``disconnect()`` returns ``True`` for a connected receiver
  and ``False`` for one that is not; a redundant ``connect()`` changes nothing;
- nothing raises, in any thread: the first exception is re-raised here.

A fourth signal has receivers set by assignment: an assigner thread assigns
``receivers`` lists of "anchor" receivers (a new list; the registry's own list
edited in place, then ``sender_receivers_cache.clear()`` under ``signal.lock``;
or an assignment and a send while it holds ``signal.lock``), a churn thread
connects and disconnects other receivers there meanwhile (slow lookup keys,
priorities, weak receivers that die) and connects receivers for senders that
die at once, and a sender thread sends from ``None``, a class and new objects
(which often take a dead sender's address). On every send there:

- if the last assignment or ``clear()`` returned before the send started and
  the next one was not called before it ended, the send calls exactly the
  anchors that it set;
- no receiver connected for a sender that died is called by a send from
  another object.

Duration: ``FASTSIGNAL_STRESS_SECONDS`` (seconds per engine, default 2.5), e.g.
``FASTSIGNAL_STRESS_SECONDS=60 pytest tests/test_stress.py -s``. With ``-s`` the
test prints the threads, seconds, sends and invariant checks made.
"""

import gc
import itertools
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from enum import Enum

import pytest

pytestmark = pytest.mark.slow  # seconds of threads: the full suite only

STRESS_SECONDS = float(os.environ.get("FASTSIGNAL_STRESS_SECONDS") or 2.5)
SWITCH_INTERVAL = 1e-6
N_SIGNALS = 3
N_WORKERS = 4
N_SENDERS = 3  # plus one garbage-collector thread: 8 threads in all
# and three on the assigned signal (assigner, churn, sender): 11 threads
SLOTS_PER_WORKER = 10
MAX_REPORTED = 12  # violations described in the failure message

# -- the logical clock and receiver histories -------------------------------------------

CONNECT_CALLED = "connect-called"
CONNECT_RETURNED = "connect-returned"
DISCONNECT_CALLED = "disconnect-called"
DISCONNECT_RETURNED = "disconnect-returned"  # always with True: the owner checks it
DROPPED = "dropped"  # the owner let go of a weak receiver still connected

_clock = itertools.count()
# An event's time is drawn and its history appended under this lock, and so is
# a send's end time: every event stamped before a send ended is then visible to
# the check that follows it.
_record_lock = threading.Lock()


def record(life, kind):
    with _record_lock:
        life.events.append((next(_clock), kind))


def connected_throughout(events, start, end):
    """Whether ``connect()`` had returned at ``start`` and nothing happened until ``end``."""
    for index in range(len(events) - 1, -1, -1):  # the list only grows: no copy
        stamp, kind = events[index]
        if stamp > end:
            continue
        if stamp > start:
            return False  # a disconnect (or drop) was called during the send
        return kind == CONNECT_RETURNED
    return False


def disconnected_throughout(events, start, end):
    """Whether the receiver was not connected at ``start`` (never was, or ``disconnect()``
    had returned) and ``connect()`` was not called again before ``end``."""
    for index in range(len(events) - 1, -1, -1):
        stamp, kind = events[index]
        if stamp > end:
            continue
        if stamp > start:
            if kind == CONNECT_CALLED:
                return False
            continue
        return kind == DISCONNECT_RETURNED
    return True  # never connected before the send ended


# -- adversarial lookup keys ---------------------------------------------------------------


class SlowUid:
    """A ``dispatch_uid`` whose ``__hash__`` and ``__eq__`` are Python code that collides
    on purpose (dicts must call ``__eq__``) and gives up the GIL mid-lookup."""

    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __hash__(self):
        if self.n & 1:
            time.sleep(0)  # a thread switch inside the engine's dict operation
        return hash(self.n % 5)

    def __eq__(self, other):
        if type(other) is not SlowUid:
            return NotImplemented
        if not self.n & 2:
            time.sleep(0)
        return self.n == other.n

    def __repr__(self):
        return f"SlowUid({self.n})"


@dataclass(frozen=True)
class DataUid:
    """A frozen dataclass ``dispatch_uid``: generated Python ``__hash__``/``__eq__``."""

    owner: int
    n: int


EnumUid = Enum("EnumUid", [f"U{index}" for index in range(N_WORKERS * SLOTS_PER_WORKER)])

_uid_numbers = itertools.count(1)

# -- senders -------------------------------------------------------------------------------


class ClassSender:
    """Sent as the class itself."""


class OtherClassSender:
    pass


class PlainSender:
    pass


class MethodOwner:
    def emit(self, **kwargs):
        return None


PLAIN_INSTANCE = PlainSender()
METHOD_OWNER = MethodOwner()
# Kept alive: a receiver connected for a sender is dropped when the sender dies.
HELD_METHOD = METHOD_OWNER.emit
SENDER_LABELS = ("class", "instance", "method", "other-class")


def sender_for_connect(label):
    if label is None:
        return None
    return {
        "class": ClassSender,
        "instance": PLAIN_INSTANCE,
        "method": HELD_METHOD,
        "other-class": OtherClassSender,
    }[label]


def sender_for_call(label):
    """The sender to send from (or to disconnect with): a fresh bound method each time."""
    if label == "method":
        return METHOD_OWNER.emit
    return sender_for_connect(label)


# -- receivers -----------------------------------------------------------------------------


class MethodReceiver:
    def __init__(self, life):
        self.life = life

    def on_signal(self, **kwargs):
        return self.life


class CallableReceiver:
    def __init__(self, life):
        self.life = life

    def __call__(self, **kwargs):
        return self.life


def make_function_receiver(life):
    def receiver(**kwargs):
        return life

    return receiver


class Slot:
    """A worker's receiver position: fixed signal, sender, kind of receiver and of key.

    Its ``life`` is the receiver object of the moment; a weak receiver dropped while
    connected ends its life, and a new receiver (with a new key) takes the slot.
    """

    def __init__(self, worker, index):
        self.key = (worker, index)
        self.signal_index = (worker + index) % N_SIGNALS
        self.sender_label = (None, "class", "instance", None, "method", "class", "other-class")[
            index % 7
        ]
        self.kind, self.weak = (
            ("function", False),
            ("function", True),
            ("method", True),
            ("callable", True),
            ("method", False),
        )[(index + worker) % 5]
        self.uid_kind = ("slow", "enum", None, "data", "slow")[(index + 2 * worker) % 5]
        self.enum_uid = EnumUid[f"U{worker * SLOTS_PER_WORKER + index}"]
        # Enum members are reused by the slot's next life, so only disconnect those.
        self.droppable = self.weak and self.uid_kind != "enum"
        self.generation = 0
        self.life = None


class Life:
    """One receiver object of a slot and the history of its connections."""

    def __init__(self, slot):
        slot.generation += 1
        self.name = f"slot{slot.key}#{slot.generation}({slot.kind}, weak={slot.weak}, "
        self.signal_index = slot.signal_index
        self.sender_label = slot.sender_label
        self.kind = slot.kind
        self.weak = slot.weak
        self.events = []
        self.connected = False
        self.ever_connected = False
        self.uid_kind = slot.uid_kind
        if slot.uid_kind == "slow":
            self.uid = SlowUid(next(_uid_numbers))
        elif slot.uid_kind == "data":
            self.uid = DataUid(slot.key[0], next(_uid_numbers))
        elif slot.uid_kind == "enum":
            self.uid = slot.enum_uid
        else:
            self.uid = None
        self.name += f"uid={self.uid!r}, sender={self.sender_label})"
        if self.kind == "function":
            self.holder = make_function_receiver(self)
        elif self.kind == "method":
            self.holder = MethodReceiver(self)
        else:
            self.holder = CallableReceiver(self)

    def receiver(self):
        """A receiver to pass to connect/disconnect (a fresh bound method each time)."""
        return self.holder.on_signal if self.kind == "method" else self.holder

    def equal_uid(self):
        """An equal but (where possible) distinct ``dispatch_uid`` object."""
        if type(self.uid) is SlowUid:
            return SlowUid(self.uid.n)
        if type(self.uid) is DataUid:
            return DataUid(self.uid.owner, self.uid.n)
        return self.uid

    def __repr__(self):
        return f"<{self.name}>"


# -- the garbage collector thread's objects ------------------------------------------------

GC_RESPONSE = "from a cycle"
_finalized = itertools.count()


class Cycle:
    """Part of a reference cycle, with a finalizer; its method is connected weakly."""

    def __init__(self, n):
        self.n = n
        self.me = self
        self.others = []

    def on_signal(self, **kwargs):
        # A send resolves the weak reference before calling: the object is then
        # referenced, so the collector must not have cleared (or freed) it.
        if "me" not in self.__dict__:
            raise AssertionError("a receiver was called on an object the collector cleared")
        return GC_RESPONSE

    def __del__(self):
        next(_finalized)
        if self.n % 3 == 0:
            time.sleep(0)  # finalizers may run inside any thread's engine call


# -- the assigned signal's receivers and senders -------------------------------------------

ANCHOR = "anchor"
DEAD_SENDER_RESPONSE = "connected for a sender that died"
ANCHOR_STATES = ((0, 1, 2), (3, 4, 5), (0, 2, 4), (1, 3, 5), (0, 1, 2, 3, 4, 5), ())


def make_anchor(index):
    def anchor(**kwargs):
        return (ANCHOR, index)

    return anchor


ANCHORS = [make_anchor(index) for index in range(6)]
# receivers items as Django 6 lays them out: ((lookup key, sender key), receiver,
# sender_ref, is_async); strong, for any sender.
ANCHOR_ITEMS = [((id(anchor), id(None)), anchor, None, False) for anchor in ANCHORS]


def for_the_dead(**kwargs):
    return DEAD_SENDER_RESPONSE


def churn_receiver(**kwargs):
    return "churn"


class ChurnMethod:
    def on_signal(self, **kwargs):
        return "churn"


class Mortal:
    """A sender that dies soon: new ones often take a dead one's address."""

    __slots__ = ("__weakref__",)


class Assignment:
    """One assignment (or in-place edit and ``clear()``) of the assigned signal."""

    __slots__ = ("called", "returned", "state")

    def __init__(self, called, state):
        self.called = called
        self.returned = None
        self.state = frozenset(state)


# -- the stress run ------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.sends = 0
        self.must_call_checks = 0  # receivers checked as connected throughout a send
        self.call_checks = 0  # responses checked against histories
        self.mutations = 0
        self.assignments = 0  # assignments of the assigned signal's receivers
        self.clears = 0  # in-place edits followed by clear()
        self.assigned_checks = 0  # sends checked against the last assignment
        self.dead_sender_checks = 0  # sends from new objects checked for dead senders
        self.violations = 0
        self.kinds = Counter()  # (violation, kind of dispatch_uid) -> count


class Stress:
    def __init__(self, engine):
        self.engine = engine
        self.signals = [engine.Signal() for _ in range(N_SIGNALS)]
        self.assigned_signal = engine.Signal()
        for anchor in ANCHORS:
            self.assigned_signal.connect(anchor, weak=False)
        self.assignments = [Assignment(-1, range(len(ANCHORS)))]
        self.assignments[0].returned = -1
        self.current = [{} for _ in range(N_SIGNALS)]  # slot key -> that slot's life
        self.stop = threading.Event()
        self.errors = []  # (thread name, exception)
        self.violations = []  # descriptions, the first MAX_REPORTED
        self.stats = []

    def violation(self, stats, message, what="other", life=None):
        stats.violations += 1
        stats.kinds[what, life.uid_kind if life is not None else None] += 1
        if len(self.violations) < MAX_REPORTED:
            self.violations.append(message)

    # -- sends -----------------------------------------------------------------------

    def checked_send(self, stats, signal_index, label, robust):
        signal = self.signals[signal_index]
        sender = sender_for_call(label)
        start = next(_clock)
        candidates = list(self.current[signal_index].values())
        if robust:
            responses = signal.send_robust(sender, payload=start)
        else:
            responses = signal.send(sender, payload=start)
        with _record_lock:
            end = next(_clock)
        del sender
        stats.sends += 1
        where = f"send [{start}, {end}] from {label} on signal {signal_index}"
        called = set()
        for _receiver, response in responses:
            if isinstance(response, BaseException):
                self.violation(stats, f"{where}: a receiver answered {response!r}", "raised")
                continue
            if type(response) is not Life:
                continue
            life = response
            stats.call_checks += 1
            if id(life) in called:
                self.violation(stats, f"{where}: {life} called twice", "called twice", life)
            called.add(id(life))
            if life.signal_index != signal_index or life.sender_label not in (None, label):
                self.violation(
                    stats, f"{where}: called {life}, connected elsewhere", "misdirected", life
                )
            elif disconnected_throughout(life.events, start, end):
                self.violation(
                    stats,
                    f"{where}: called {life}, disconnected; history {life.events[-4:]}",
                    "called after disconnect",
                    life,
                )
        for life in candidates:
            if life.sender_label not in (None, label):
                continue
            stats.must_call_checks += 1
            if id(life) not in called and connected_throughout(life.events, start, end):
                self.violation(
                    stats,
                    f"{where}: missed {life}, connected; history {life.events[-4:]}",
                    "missed while connected",
                    life,
                )

    # -- connections -------------------------------------------------------------------

    def new_life(self, slot):
        life = Life(slot)
        slot.life = life
        self.current[slot.signal_index][slot.key] = life
        return life

    def mutate(self, stats, slot, rng):
        life = slot.life
        signal = self.signals[slot.signal_index]
        stats.mutations += 1
        if not life.connected:
            if life.ever_connected and rng.random() < 0.1:
                found = signal.disconnect(
                    None if life.uid is not None else life.receiver(),
                    sender=sender_for_call(life.sender_label),
                    dispatch_uid=life.equal_uid(),
                )
                if found is not False:
                    self.violation(
                        stats,
                        f"disconnect() of disconnected {life} gave {found!r}",
                        "disconnect() result",
                        life,
                    )
                return
            record(life, CONNECT_CALLED)
            signal.connect(
                life.receiver(),
                sender=sender_for_connect(life.sender_label),
                weak=life.weak,
                dispatch_uid=life.uid,
            )
            record(life, CONNECT_RETURNED)
            life.connected = life.ever_connected = True
            return
        choice = rng.random()
        if choice < 0.1:
            # Connecting again does nothing: the receiver stays connected throughout.
            signal.connect(
                life.receiver(),
                sender=sender_for_connect(life.sender_label),
                weak=life.weak,
                dispatch_uid=life.equal_uid(),
            )
        elif slot.droppable and choice < 0.35:
            record(life, DROPPED)
            life.holder = None  # the weak receiver dies (or soon will)
            self.new_life(slot)
        else:
            record(life, DISCONNECT_CALLED)
            found = signal.disconnect(
                None if life.uid is not None else life.receiver(),
                sender=sender_for_call(life.sender_label),
                dispatch_uid=life.equal_uid(),
            )
            if found is True:
                record(life, DISCONNECT_RETURNED)
            else:
                self.violation(
                    stats,
                    f"disconnect() of connected {life} gave {found!r}",
                    "disconnect() result",
                    life,
                )
            life.connected = False

    # -- the assigned signal -----------------------------------------------------------

    def checked_assigned_send(self, stats, sender, robust=False):
        signal = self.assigned_signal
        fresh_object = type(sender) is Mortal
        start = next(_clock)
        if robust:
            responses = signal.send_robust(sender)
        else:
            responses = signal.send(sender)
        with _record_lock:
            end = next(_clock)
            log = self.assignments[-8:]
        stats.sends += 1
        anchors = []
        for _receiver, response in responses:
            if isinstance(response, BaseException):
                self.violation(stats, f"assigned signal: a receiver answered {response!r}")
            elif type(response) is tuple and response[0] == ANCHOR:
                anchors.append(response[1])
            elif response == DEAD_SENDER_RESPONSE and fresh_object:
                self.violation(
                    stats,
                    f"send [{start}, {end}] from a new object called a receiver connected "
                    "for a sender that died",
                    "dead sender's receiver",
                )
        if fresh_object:
            stats.dead_sender_checks += 1
        where = f"assigned signal: send [{start}, {end}] from {sender!r}"
        if len(set(anchors)) != len(anchors):
            self.violation(stats, f"{where}: an anchor called twice: {anchors}", "called twice")
        # The last assignment that returned before the send started, if the next
        # one was not called before it ended.
        for index in range(len(log) - 1, -1, -1):
            last = log[index]
            if last.returned is not None and last.returned < start:
                following = log[index + 1 :]
                if any(later.called < end for later in following):
                    return  # overlapped by the next one: either may be seen
                stats.assigned_checks += 1
                if set(anchors) != last.state:
                    self.violation(
                        stats,
                        f"{where}: called anchors {sorted(anchors)}, but the assignment "
                        f"[{last.called}, {last.returned}] set {sorted(last.state)}",
                        "assignment not honoured",
                    )
                return

    def assigner(self, stats, index):
        rng = random.Random(300 + index)
        signal = self.assigned_signal
        while not self.stop.is_set():
            state = rng.choice(ANCHOR_STATES)
            items = [ANCHOR_ITEMS[i] for i in state]
            how = rng.random()
            with _record_lock:
                assignment = Assignment(next(_clock), state)
                self.assignments.append(assignment)
            if how < 0.4:
                signal.receivers = items
                stats.assignments += 1
            elif how < 0.7:
                # As code written for Django does: edit the list, clear() under the lock.
                current = signal.receivers
                with signal.lock:
                    if signal.receivers is current:  # the registry's own list
                        current[:] = items
                        signal.sender_receivers_cache.clear()
                        stats.clears += 1
                    else:
                        signal.receivers = items
                        stats.assignments += 1
            else:
                # Assign and send while this thread holds the lock.
                with signal.lock:
                    signal.receivers = items
                    stats.assignments += 1
                    with _record_lock:
                        assignment.returned = next(_clock)
                    self.checked_assigned_send(stats, rng.choice((None, ClassSender)))
                continue
            with _record_lock:
                assignment.returned = next(_clock)
            for _ in range(rng.randint(0, 3)):
                self.checked_assigned_send(stats, rng.choice((None, ClassSender, Mortal())))

    def churn(self, stats, index):
        """Mutations of the assigned signal: connects and disconnects with slow lookup keys
        and priorities, weak receivers that die, senders that die."""
        rng = random.Random(400 + index)
        signal = self.assigned_signal
        connected = []  # dispatch_uids of churn receivers connected by this thread
        keep = []  # owners of weakly connected methods, kept alive a while
        while not self.stop.is_set():
            stats.mutations += 1
            choice = rng.random()
            if choice < 0.3:
                mortal = Mortal()
                uid = SlowUid(next(_uid_numbers)) if rng.random() < 0.5 else None
                signal.connect(for_the_dead, sender=mortal, weak=False, dispatch_uid=uid)
                del mortal  # dies now: its receivers must never reach another object
            elif choice < 0.65 or not connected:
                uid = SlowUid(next(_uid_numbers))
                if rng.random() < 0.4:
                    owner = ChurnMethod()
                    signal.connect(owner.on_signal, dispatch_uid=uid)
                    keep.append(owner)
                    if len(keep) > 4:
                        del keep[rng.randrange(len(keep))]  # a weak receiver dies
                else:
                    priority = rng.choice((0, 0, 1, -1))
                    signal.connect(churn_receiver, weak=False, dispatch_uid=uid, priority=priority)
                connected.append(uid)
            else:
                uid = connected.pop(rng.randrange(len(connected)))
                signal.disconnect(dispatch_uid=SlowUid(uid.n))
            if len(connected) > 12:
                uid = connected.pop(0)
                signal.disconnect(dispatch_uid=SlowUid(uid.n))
            # Out of the lock a while: locks are not fair, and the assigner waits
            # for this one.
            time.sleep(0.0001)

    def assigned_sender(self, stats, index):
        rng = random.Random(500 + index)
        while not self.stop.is_set():
            sender = rng.choice((None, ClassSender, Mortal, Mortal))
            if sender is Mortal:
                sender = Mortal()
            self.checked_assigned_send(stats, sender, robust=rng.random() < 0.3)
            del sender

    # -- threads -------------------------------------------------------------------------

    def worker(self, stats, index):
        rng = random.Random(index)
        slots = [Slot(index, j) for j in range(SLOTS_PER_WORKER)]
        for slot in slots:
            self.new_life(slot)
        home = (index % N_SIGNALS, ("class", "instance")[index % 2])
        while not self.stop.is_set():
            for _ in range(rng.randint(1, 3)):
                self.mutate(stats, rng.choice(slots), rng)
            for _ in range(rng.randint(1, 6)):
                self.send_somewhere(stats, rng, home, home_share=0.6)

    def sender(self, stats, index):
        rng = random.Random(100 + index)
        home = (index % N_SIGNALS, ("class", "instance", "class")[index % 3])
        while not self.stop.is_set():
            self.send_somewhere(stats, rng, home, home_share=0.9)

    def send_somewhere(self, stats, rng, home, home_share):
        """A checked send: from ``home`` (signal, sender) that often, else anywhere."""
        if rng.random() < home_share:
            signal_index, label = home
        else:
            signal_index = rng.randrange(N_SIGNALS)
            label = rng.choice(SENDER_LABELS)
        self.checked_send(stats, signal_index, label, robust=rng.random() < 0.3)

    def collector(self, stats, index):
        rng = random.Random(200 + index)
        n = 0
        while not self.stop.is_set():
            n += 1
            cycle = Cycle(n)
            cycle.others = [Cycle(n + k) for k in range(1, 4)]
            for other in cycle.others:
                other.others = [cycle]
            signal = rng.choice(self.signals)
            signal.connect(cycle.on_signal, sender=rng.choice((None, ClassSender, PLAIN_INSTANCE)))
            stats.mutations += 1
            del cycle, other
            if n % 16 == 0:
                gc.collect()

    def run_thread(self, name, target, index):
        stats = Stats()
        self.stats.append(stats)

        def run():
            try:
                target(stats, index)
            except BaseException as exc:
                self.errors.append((name, exc))
                self.stop.set()

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def run(self, seconds):
        threads = [self.run_thread(f"worker-{i}", self.worker, i) for i in range(N_WORKERS)]
        threads += [self.run_thread(f"sender-{i}", self.sender, i) for i in range(N_SENDERS)]
        threads.append(self.run_thread("gc", self.collector, 0))
        threads.append(self.run_thread("assigner", self.assigner, 0))
        threads.append(self.run_thread("churn", self.churn, 0))
        threads.append(self.run_thread("assigned-sender", self.assigned_sender, 0))
        self.stop.wait(seconds)
        self.stop.set()
        deadline = time.monotonic() + 60
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        hung = [thread.name for thread in threads if thread.is_alive()]
        return threads, hung


def test_concurrent_connect_disconnect_send(engine):
    """Under eleven threads of connects, disconnects, weak-receiver deaths, garbage
    collection, assignments, ``clear()``, dying senders and sends, every send calls
    exactly the receivers whose connection spans it, never one whose disconnect
    returned before it, honours the assignment and ``clear()`` that returned before
    it, never calls a dead sender's receivers for another object, and nothing
    raises or waits on a lock its own thread holds."""
    stress = Stress(engine)
    finalized_before = next(_finalized)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        threads, hung = stress.run(STRESS_SECONDS)
    finally:
        sys.setswitchinterval(previous)
    assert not hung, f"threads still running (deadlocked?): {hung}"

    total = Stats()
    for stats in stress.stats:
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(stats, name))
    checks = (
        total.must_call_checks
        + total.call_checks
        + total.assigned_checks
        + total.dead_sender_checks
    )
    print(
        f"\nstress [{engine.name}, Python {sys.version_info[0]}.{sys.version_info[1]}]: "
        f"{len(threads)} threads x {STRESS_SECONDS:g} s: "
        f"{total.sends} sends, {checks} invariant checks "
        f"({total.must_call_checks} must-call, {total.call_checks} responses, "
        f"{total.assigned_checks} against the last assignment, "
        f"{total.dead_sender_checks} from new objects among dead senders), "
        f"{total.mutations} connects/disconnects, {total.assignments} assignments, "
        f"{total.clears} clear()s, {total.violations} violations"
    )

    if stress.errors:
        name, exc = stress.errors[0]
        exc.add_note(f"raised in thread {name!r} ({len(stress.errors)} thread(s) raised)")
        raise exc
    kinds = ", ".join(
        f"{count} {what} (dispatch_uid: {uid_kind or 'none'})"
        for (what, uid_kind), count in total.kinds.most_common()
    )
    assert total.violations == 0, (
        f"{total.violations} violations in {total.sends} sends on the {engine.name} engine: "
        f"{kinds}. The first ones:\n" + "\n".join(stress.violations)
    )
    # The run exercised what it claims to.
    assert total.sends and total.mutations
    assert total.must_call_checks and total.call_checks
    assert total.assigned_checks and total.dead_sender_checks
    assert total.assignments and total.clears
    assert next(_finalized) > finalized_before + 1


def test_receivers_items_are_built_once_while_threads_read_and_mutate(engine):
    """A receiver's ``signal.receivers`` item is built when first needed (by a read of
    ``receivers`` that takes no lock, or by a mutation that keeps the list in step),
    possibly by several threads at once: every entry ends with one item, the one
    each list holds, so a later disconnect finds it in the list by identity."""
    sig = engine.Signal()
    kept = [_stress_receiver() for _ in range(200)]
    stop = threading.Event()
    errors = []
    seen = []

    def reader():
        try:
            while not stop.is_set():
                seen.append(list(sig.receivers))
                sig.sender_receivers_cache.clear()  # the list is adopted again
        except BaseException as exc:  # reported below
            errors.append(exc)

    def mutator():
        try:
            rng = random.Random(1)
            deadline = time.monotonic() + min(STRESS_SECONDS, 2.0)
            while time.monotonic() < deadline:
                receiver = rng.choice(kept)
                if rng.random() < 0.5:
                    sig.connect(receiver)
                else:
                    sig.disconnect(receiver)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    threads += [threading.Thread(target=mutator) for _ in range(2)]
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads[2:]:
            thread.join()
        stop.set()
        for thread in threads[:2]:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert not errors, errors
    assert seen
    with sig.lock:
        sig._clear_dead_receivers()  # adopts what a clear() left pending
    registry = engine.module.registry_of(sig)
    entries = list(registry.indexes.entries.values()) if engine.name == "python" else None
    items = sig.receivers
    receivers = [item[1]() for item in items]
    assert len(set(map(id, receivers))) == len(items)
    assert all(any(r is k for k in kept) for r in receivers)
    assert sig.receivers is items  # kept: in step
    if entries is not None:
        assert [e.item for e in entries] == items
        assert all(e.item is item for e, item in zip(entries, items, strict=True))
    # Each item is its entry's: a disconnect pops it from the end of the list in step.
    for item in reversed(list(items)):
        assert sig.disconnect(item[1]())
        assert sig.receivers is items
    assert items == [] and sig.send(None) == []


def _stress_receiver():
    def receiver(sender, **kwargs):
        return None

    return receiver
