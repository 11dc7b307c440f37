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


# -- the stress run ------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.sends = 0
        self.must_call_checks = 0  # receivers checked as connected throughout a send
        self.call_checks = 0  # responses checked against histories
        self.mutations = 0
        self.violations = 0
        self.kinds = Counter()  # (violation, kind of dispatch_uid) -> count


class Stress:
    def __init__(self, engine):
        self.engine = engine
        self.signals = [engine.Signal() for _ in range(N_SIGNALS)]
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
        self.stop.wait(seconds)
        self.stop.set()
        deadline = time.monotonic() + 60
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        hung = [thread.name for thread in threads if thread.is_alive()]
        return threads, hung


def test_concurrent_connect_disconnect_send(engine):
    """Under eight threads of connects, disconnects, weak-receiver deaths, garbage
    collection and sends, every send calls exactly the receivers whose connection
    spans it, never one whose disconnect returned before it, and nothing raises."""
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
    checks = total.must_call_checks + total.call_checks
    print(
        f"\nstress [{engine.name}]: {len(threads)} threads x {STRESS_SECONDS:g} s: "
        f"{total.sends} sends, {checks} invariant checks "
        f"({total.must_call_checks} must-call, {total.call_checks} responses), "
        f"{total.mutations} connects/disconnects, {total.violations} violations"
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
    assert next(_finalized) > finalized_before + 1
