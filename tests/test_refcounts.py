"""Reference counts and memory: sends take no reference they keep, and hold no weak
receiver alive.

A signal gets strong and weak receivers of every kind (a function, a bound
method, a callable object) and one that raises, connected for one sender only.
Each case then sends many times, by ``send`` or ``send_robust``, from a class
or an instance given positionally or by keyword, with keyword argument values
of our own. Afterwards ``sys.getrefcount`` of every receiver (of the owner of a
bound method), sender and keyword value is what it was, and ``tracemalloc``
sees no memory kept by a further batch of sends.

The compiled engine makes 300,000 sends in all (50,000 a case); the
pure-Python one, about ten times slower, a fifth of that: the reference counts
are compared exactly, so a leak of one reference in any one of those sends
shows. Two cases take the slow roads of a send:
a ``clear()`` before each (each send adopts the list again), and a list
assigned while the sending thread holds ``signal.lock`` (each send indexes it
aside).

Weak receivers: one sent to many times dies as soon as its last strong
reference goes; and one whose object only a dead reference cycle holds is never
called on an object the garbage collector has cleared (a send must hold a strong
reference from the moment it resolves the weak one).
"""

import gc
import logging
import subprocess
import sys
import tracemalloc
import weakref

import pytest

pytestmark = pytest.mark.slow  # many sends: the full suite only

SENDS_PER_CASE = {"compiled": 50_000, "python": 10_000}  # six cases an engine
WARM_UP_SENDS = 1_000
MEMORY_SENDS = {"compiled": 5_000, "python": 2_000}
MEMORY_SLACK = 4_096  # bytes: far below one allocation per send


class ClassSender:
    """Sent as the class itself."""


class InstanceSender:
    """Sent as an instance."""


class FailingSender:
    """The sender for which the failing receiver is connected."""


class Value:
    """A keyword argument value whose references are counted."""


class Owner:
    def method(self, value, **kwargs):
        return value


class CallableReceiver:
    def __call__(self, value, **kwargs):
        return value


def strong_function(value, **kwargs):
    return value


def make_function():
    def weak_function(value, **kwargs):
        return value

    return weak_function


def failing(value, **kwargs):
    raise ValueError("failing receiver")


@pytest.fixture
def quiet_dispatch_log():
    """send_robust logs each failure; a captured record would keep it alive."""
    logger = logging.getLogger("django.dispatch")
    disabled = logger.disabled
    logger.disabled = True
    yield
    logger.disabled = disabled


class World:
    """A signal with one receiver of each kind, and everything whose references count."""

    def __init__(self, engine):
        self.signal = engine.Signal()
        self.weak_function = make_function()
        self.strong_owner = Owner()
        self.weak_owner = Owner()
        self.strong_callable = CallableReceiver()
        self.weak_callable = CallableReceiver()
        self.instance = InstanceSender()
        self.value = Value()
        self.extra = Value()
        connect = self.signal.connect
        connect(strong_function, weak=False)
        connect(self.weak_function)
        connect(self.strong_owner.method, weak=False)
        connect(self.weak_owner.method)
        connect(self.strong_callable, weak=False)
        connect(self.weak_callable)
        connect(failing, sender=FailingSender, weak=False)
        self.watched = {
            "strong function": strong_function,
            "weak function": self.weak_function,
            "strong bound method's owner": self.strong_owner,
            "weak bound method's owner": self.weak_owner,
            "method function": Owner.method,
            "strong callable object": self.strong_callable,
            "weak callable object": self.weak_callable,
            "failing receiver": failing,
            "class sender": ClassSender,
            "instance sender": self.instance,
            "failing receiver's sender": FailingSender,
            "keyword value": self.value,
            "other keyword value": self.extra,
        }

    def refcounts(self):
        gc.collect()  # a failure's traceback may sit in a cycle (the Python engine's frame)
        return {name: sys.getrefcount(obj) for name, obj in self.watched.items()}

    def batch(self, case):
        """A function making ``n`` sends of ``case``, results dropped at once."""
        signal, instance, value, extra = self.signal, self.instance, self.value, self.extra
        send, send_robust = signal.send, signal.send_robust

        if case == "send, class positional":

            def run(n):
                for _ in range(n):
                    send(ClassSender, value=value, extra=extra)

        elif case == "send, instance by keyword":

            def run(n):
                for _ in range(n):
                    send(sender=instance, value=value, extra=extra)

        elif case == "send_robust, instance positional":

            def run(n):
                for _ in range(n):
                    send_robust(instance, value=value, extra=extra)

        elif case == "send, a list assigned behind the held lock":
            # Each send reads around the lock: the assigned list indexed aside.
            items = list(signal.receivers)

            def run(n):
                with signal.lock:
                    signal.receivers = items
                    for _ in range(n):
                        send(ClassSender, value=value, extra=extra)

        elif case == "send after clear()":
            # Each send adopts the list again.
            clear = signal.sender_receivers_cache.clear

            def run(n):
                for _ in range(n):
                    clear()
                    send(ClassSender, value=value, extra=extra)

        else:  # "send_robust, a receiver raises"

            def run(n):
                for _ in range(n):
                    send_robust(sender=FailingSender, value=value, extra=extra)

        return run

    def check_responses(self, case):
        """One send of ``case`` reaches every receiver with the keyword value."""
        if case == "send_robust, a receiver raises":
            responses = self.signal.send_robust(FailingSender, value=self.value, extra=self.extra)
            *others, (receiver, error) = responses
            answers = [response for _, response in others]
            assert receiver is failing
            assert type(error) is ValueError
        else:
            sender = self.instance if "instance" in case else ClassSender
            method = self.signal.send_robust if "robust" in case else self.signal.send
            responses = method(sender, value=self.value, extra=self.extra)
            answers = [response for _, response in responses]
        assert len(answers) == 6
        assert all(answer is self.value for answer in answers)


CASES = [
    "send, class positional",
    "send, instance by keyword",
    "send_robust, instance positional",
    "send_robust, a receiver raises",
    "send, a list assigned behind the held lock",
    "send after clear()",
]


@pytest.mark.parametrize("case", CASES)
def test_sends_keep_no_reference(engine, case, quiet_dispatch_log):
    """After many sends (300,000 in all on the compiled engine), every receiver,
    bound-method owner, sender and keyword value has the reference count it had
    before them, and a further batch of sends leaves no memory allocated."""
    world = World(engine)
    world.check_responses(case)
    run = world.batch(case)
    run(WARM_UP_SENDS)
    before = world.refcounts()
    run(SENDS_PER_CASE[engine.name])
    assert world.refcounts() == before
    world.check_responses(case)
    assert world.refcounts() == before

    # A second batch under tracemalloc, after the first one warmed everything up.
    gc.collect()
    tracemalloc.start()
    try:
        allocated = tracemalloc.get_traced_memory()[0]
        run(MEMORY_SENDS[engine.name])
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - allocated
    finally:
        tracemalloc.stop()
    assert grown < MEMORY_SLACK
    assert world.refcounts() == before


@pytest.mark.parametrize("kind", ["function", "bound method's owner", "callable object"])
@pytest.mark.parametrize("for_sender", [False, True], ids=["any sender", "one sender"])
def test_weak_receiver_dies_after_many_sends(engine, kind, for_sender):
    """A weakly connected receiver, sent to many times (``send``, ``send_robust``,
    ``has_listeners``), dies as soon as its last strong reference goes: the engine
    kept no reference to it, not even one in a cycle for the collector to find."""
    signal = engine.Signal()
    signal.connect(strong_function, weak=False)
    if kind == "function":
        obj = receiver = make_function()
    elif kind == "callable object":
        obj = receiver = CallableReceiver()
    else:
        obj = Owner()
        receiver = obj.method
    signal.connect(receiver, sender=ClassSender if for_sender else None)
    del receiver
    value = Value()
    for _ in range(10_000):
        signal.send(ClassSender, value=value)
        signal.send_robust(sender=ClassSender, value=value)
        signal.has_listeners(ClassSender)
    assert [response for _, response in signal.send(ClassSender, value=value)] == [value, value]
    reference = weakref.ref(obj)
    gc.disable()  # dead at once, without the collector's help
    try:
        del obj
        assert reference() is None
    finally:
        gc.enable()
    assert signal.send(ClassSender, value=value) == [(strong_function, value)]


# Run in a child process: on an engine that gets this wrong the interpreter may crash.
CYCLIC_GARBAGE_SCRIPT = """
import gc, sys
import fastsignal

assert fastsignal.COMPILED or sys.argv[1] == "python"
Signal = fastsignal.Signal if sys.argv[1] == "compiled" else fastsignal.PySignal


class InCycle:
    def __init__(self):
        self.me = self
        self.answer = "alive"

    def method(self, **kwargs):
        return self.__dict__.get("answer", "called after the collector cleared it")


signal = Signal()
answers = set()
for iteration in range(200):
    objs = [InCycle() for _ in range(50)]
    for obj in objs:
        signal.connect(obj.method)
    del objs, obj
    gc.set_threshold(1 + iteration % 97)
    answers.update(response for _, response in signal.send(None))
gc.set_threshold(700, 10, 10)
print(sorted(answers))
"""


def test_weak_method_of_cyclic_garbage_is_never_called_cleared(engine):
    """A weak bound method whose object only a dead reference cycle holds is either
    not called or called on an intact object: a send that resolved the weak reference
    holds a strong one, so a collection triggered meanwhile (by the allocation of the
    bound method itself) cannot clear or free the object. Low collector thresholds
    make collections run inside the sends' own allocations. In a child process,
    since an engine holding a borrowed reference there may crash the interpreter."""
    child = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", CYCLIC_GARBAGE_SCRIPT, engine.name],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    assert child.stdout.strip() in ("['alive']", "[]"), child.stdout
