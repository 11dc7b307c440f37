"""The dispatch workloads, each built for every implementation that can run it.

A workload is one operation (a send, a ``has_listeners``, a connect and
disconnect) timed on several implementations that do the same work:

``fastsignal``     fastsignal's compiled engine (``fastsignal.Signal``)
``fallback``       fastsignal's pure-Python engine (``fastsignal.PySignal``)
``django``         ``django.dispatch.Signal()``
``django-cached``  ``django.dispatch.Signal(use_caching=True)``
``blinker``        ``blinker.Signal`` (sends ``receiver(sender, **kwargs)``)
``psygnal``        psygnal's compiled ``SignalInstance``, ``emit_fast`` (positional
                   arguments only; its fastest documented form)
``loop``           a hand-written Python function that calls the same receivers
                   with the same keyword arguments and returns the same result
                   list as ``send``: the floor a compiled dispatch loop aims at.

Each implementation's setup returns a ``Case``: a statement and the namespace
it runs in, so the report times it with ``timeit`` (no lambda in the loop) and
pytest-benchmark compiles it into a function.
"""

import functools
import importlib.util
import logging
from dataclasses import dataclass, field

# Django must be configured before a Django Signal connects a receiver.
from django.conf import settings

if not settings.configured:
    settings.configure(DEBUG=False)

from django.dispatch import Signal as DjangoSignal

import fastsignal
from benchmarks.stats import paired_ratios

logging.getLogger("django.dispatch").disabled = True  # send_robust logs every failure

IMPLEMENTATIONS = (
    "fastsignal",
    "fallback",
    "django",
    "django-cached",
    "blinker",
    "psygnal",
    "loop",
)
SEND_ARGS = "sender=Sender, instance=INSTANCE, created=True"


@dataclass
class Case:
    """A statement to time and the namespace it runs in.

    ``setup``, if given, runs untimed before each batch of ``BATCH`` runs of
    ``stmt`` (the timer sets ``BATCH`` in the namespace first): for operations
    that use something up, such as connecting a receiver never seen before.
    """

    stmt: str
    namespace: dict
    setup: str = None


@dataclass
class Bar:
    """An acceptance bar: ``slow / fast >= at_least`` or ``fast / slow <= at_most``.

    With ``slow=None`` it bounds ``fast``'s own time: ``fast <= at_most`` ns.
    """

    slow: str
    fast: str
    at_least: float = None
    at_most: float = None

    def describe(self):
        if self.slow is None:
            return f"{self.fast} <= {self.at_most:g} ns"
        if self.at_least is not None:
            return f"{self.slow} / {self.fast} >= {self.at_least:g}"
        return f"{self.fast} / {self.slow} <= {self.at_most:g}"

    def values(self, samples):
        """The bar's measure, round by round, from ``{impl: [ns per operation, per round]}``.

        A ratio is taken between the two implementations' batches of the same
        round, which ran a few milliseconds apart.
        """
        if self.slow is None:
            return list(samples[self.fast])
        if self.at_least is not None:
            return paired_ratios(samples[self.slow], samples[self.fast])
        return paired_ratios(samples[self.fast], samples[self.slow])

    def met(self, value):
        """Whether a measured ``value`` (the median) meets the bar."""
        return value >= self.at_least if self.at_least is not None else value <= self.at_most

    def decided(self, low, high):
        """Whether a confidence interval ``low``-``high`` of the median lies on one side of
        the bar: the verdict holds whichever value in it the median really has."""
        return self.met(low) == self.met(high)


@dataclass(eq=False)
class Workload:
    """One operation, the setups of the implementations that run it, and its bars.

    ``panel`` groups workloads in the chart: ``"send"`` (sends and lookups),
    ``"connect"`` (connect and disconnect, about a thousand times further
    apart) or ``"async"``.
    """

    name: str
    title: str
    setups: dict  # implementation name -> zero-argument function returning a Case
    bars: list = field(default_factory=list)
    panel: str = "send"


class Sender:
    """The sender of most workloads: a class, as model signals send."""


INSTANCE = object()


def make_receivers(count):
    """``count`` distinct receiver functions returning ``None``."""

    def make():
        def receiver(sender, **kwargs):
            return None

        return receiver

    return [make() for _ in range(count)]


class Handler:
    def on_signal(self, sender, **kwargs):
        return None


def partial_target(sender, tag, **kwargs):
    return None


def failing_receiver(sender, **kwargs):
    raise ValueError("receiver failed")


SIGNAL_CLASSES = {
    "fastsignal": fastsignal.Signal,
    "fallback": fastsignal.PySignal,
    "django": DjangoSignal,
    "django-cached": functools.partial(DjangoSignal, use_caching=True),
}


def _have(module):
    return importlib.util.find_spec(module) is not None


#: Django signals with many receivers connected, copied by ``_connected_signal``.
_DJANGO_TEMPLATES = {}


def _connected_signal(impl, receivers, senders):
    """A signal of ``impl`` with ``receivers`` connected (for ``senders[i]`` if given).

    Django's ``connect`` scans every receiver connected, so connecting 10,000 of
    them takes seconds; the workloads that need a Django signal with 10,000
    receivers share them, connected once to a template, and each gets a new
    signal holding a copy of the template's ``receivers`` list (what the same
    connects build, with or without caching).
    """
    many = impl.startswith("django") and len(receivers) >= 1000
    if not many:
        sig = SIGNAL_CLASSES[impl]()
        for index, receiver in enumerate(receivers):
            sig.connect(receiver, sender=senders[index] if senders else None)
        return sig
    key = (id(receivers), id(senders))  # the same items with or without caching
    if key not in _DJANGO_TEMPLATES:
        template = DjangoSignal()
        for index, receiver in enumerate(receivers):
            template.connect(receiver, sender=senders[index] if senders else None)
        # the lists are kept alive with the template, so their ids stay theirs
        _DJANGO_TEMPLATES[key] = (template, receivers, senders)
    sig = SIGNAL_CLASSES[impl]()
    sig.receivers = list(_DJANGO_TEMPLATES[key][0].receivers)
    return sig


def _dispatch_case(impl, receivers, stmt=f"sig.send({SEND_ARGS})", senders=None, **extra):
    """A signal of ``impl`` with ``receivers`` connected (for ``senders[i]`` if given)."""
    sig = _connected_signal(impl, receivers, senders)
    namespace = {"sig": sig, "Sender": Sender, "INSTANCE": INSTANCE, "receivers": receivers}
    namespace.update(extra)
    return Case(stmt, namespace)


def _loop_case(receivers, robust=False):
    """The floor: a plain function doing ``send``'s work over a fixed list."""
    namespace = {"Sender": Sender, "INSTANCE": INSTANCE, "receivers": receivers}
    signal = object()
    if robust:

        def loop(sender, **named):
            responses = []
            for receiver in receivers:
                try:
                    response = receiver(signal=signal, sender=sender, **named)
                except Exception as err:
                    response = err
                responses.append((receiver, response))
            return responses

    else:

        def loop(sender, **named):
            return [(r, r(signal=signal, sender=sender, **named)) for r in receivers]

    namespace["loop"] = loop
    return Case(f"loop({SEND_ARGS})", namespace)


def _blinker_case(
    receivers, senders=None, stmt="sig.send(Sender, instance=INSTANCE, created=True)"
):
    import blinker

    sig = blinker.Signal()
    for index, receiver in enumerate(receivers):
        if senders:
            sig.connect(receiver, sender=senders[index])
        else:
            sig.connect(receiver)
    return Case(stmt, {"sig": sig, "Sender": Sender, "INSTANCE": INSTANCE, "receivers": receivers})


def _psygnal_case(receivers):
    """psygnal in its fastest documented form.

    Its compiled ``SignalInstance``, receivers connected without the signature
    check (``check_nargs=False``), and ``emit_fast``, which skips the checks,
    the lock and the re-emission queue of ``emit`` ("up to 10x faster", in
    its docstring). It emits positional arguments only, so it does less work
    than a ``send`` with keyword arguments.
    """
    import psygnal

    sig = psygnal.SignalInstance((object,), check_nargs_on_connect=False)
    for receiver in receivers:
        sig.connect(receiver, check_nargs=False, unique=False)
    return Case("sig.emit_fast(Sender)", {"sig": sig, "Sender": Sender, "receivers": receivers})


def _with_optional(setups, **optional):
    """Add the setups of libraries that are installed."""
    for impl, setup in optional.items():
        if _have(impl):
            setups[impl] = setup
    return setups


def _send_functions(count):
    receivers = make_receivers(count)
    setups = {impl: functools.partial(_dispatch_case, impl, receivers) for impl in SIGNAL_CLASSES}
    setups["loop"] = functools.partial(_loop_case, receivers)
    return _with_optional(
        setups,
        blinker=functools.partial(_blinker_case, receivers),
        psygnal=functools.partial(_psygnal_case, receivers),
    )


def _send_methods():
    handlers = [Handler() for _ in range(10)]

    def bound():  # fresh bound methods: the signals hold them weakly
        return [h.on_signal for h in handlers]

    def dispatch(impl):
        case = _dispatch_case(impl, bound())
        case.namespace["handlers"] = handlers
        return case

    setups = {impl: functools.partial(dispatch, impl) for impl in SIGNAL_CLASSES}
    setups["loop"] = lambda: _loop_case(bound())
    return _with_optional(
        setups,
        blinker=lambda: _blinker_case(bound()),
        psygnal=lambda: _psygnal_case(bound()),
    )


def _send_partials():
    partials = [functools.partial(partial_target, tag=i) for i in range(10)]
    setups = {impl: functools.partial(_dispatch_case, impl, partials) for impl in SIGNAL_CLASSES}
    setups["loop"] = functools.partial(_loop_case, partials)
    return _with_optional(setups, blinker=functools.partial(_blinker_case, partials))


def _many_senders(count):
    senders = [type(f"Sender{i}", (), {}) for i in range(count)]
    receivers = make_receivers(count)
    target = senders[count // 2]
    stmt = "sig.send(sender=target, instance=INSTANCE, created=True)"

    def dispatch(impl):
        return _dispatch_case(impl, receivers, stmt, senders, target=target)

    def loop():
        case = _loop_case([receivers[count // 2]])
        case.stmt = "loop(sender=target, instance=INSTANCE, created=True)"
        case.namespace["target"] = target
        return case

    def blinker_case():
        case = _blinker_case(
            receivers, senders, "sig.send(target, instance=INSTANCE, created=True)"
        )
        case.namespace["target"] = target
        return case

    setups = {impl: functools.partial(dispatch, impl) for impl in SIGNAL_CLASSES}
    setups["loop"] = loop
    return _with_optional(setups, blinker=blinker_case)


def _has_listeners_miss(count):
    senders = [type(f"Sender{i}", (), {}) for i in range(count)]
    receivers = make_receivers(count)

    class Nobody:
        pass

    def dispatch(impl):
        return _dispatch_case(impl, receivers, "sig.has_listeners(Nobody)", senders, Nobody=Nobody)

    def blinker_case():
        case = _blinker_case(receivers, senders, "sig.has_receivers_for(Nobody)")
        case.namespace["Nobody"] = Nobody
        return case

    setups = {impl: functools.partial(dispatch, impl) for impl in SIGNAL_CLASSES}
    return _with_optional(setups, blinker=blinker_case)


def _send_robust_failing():
    receivers = make_receivers(10)
    receivers[4] = failing_receiver
    stmt = f"sig.send_robust({SEND_ARGS})"
    setups = {
        impl: functools.partial(_dispatch_case, impl, receivers, stmt) for impl in SIGNAL_CLASSES
    }
    setups["loop"] = functools.partial(_loop_case, receivers, robust=True)
    return setups


@functools.cache
def shared_receivers(count):
    """``count`` receivers shared by the connect and disconnect workloads."""
    return make_receivers(count)


def _connect_disconnect(count):
    receivers = shared_receivers(count)
    extra = make_receivers(1)[0]
    stmt = "sig.connect(extra); sig.disconnect(extra)"

    def dispatch(impl):
        return _dispatch_case(impl, receivers, stmt, extra=extra)

    def blinker_case():
        case = _blinker_case(receivers, stmt=stmt)
        case.namespace["extra"] = extra
        return case

    setups = {impl: functools.partial(dispatch, impl) for impl in SIGNAL_CLASSES}
    return _with_optional(setups, blinker=blinker_case)


class ReceiverPool:
    """Receivers never connected before, made untimed for each batch.

    ``connect_batch(n)`` disconnects what the previous batch connected and
    returns an iterator over ``n`` new receivers; ``connected_batch(n)``
    connects ``n`` new receivers and returns an iterator over them, for
    disconnecting.
    """

    def __init__(self, sig, connect, disconnect):
        self.sig = sig
        self.connect = connect
        self.disconnect = disconnect
        self.pending = []

    def _fresh(self, count):
        for receiver in self.pending:  # what the previous batch left connected
            self.disconnect(self.sig, receiver)
        self.pending = make_receivers(count)
        return self.pending

    def connect_batch(self, count):
        return iter(self._fresh(count))

    def connected_batch(self, count):
        fresh = self._fresh(count)
        for receiver in fresh:
            self.connect(self.sig, receiver)
        return iter(fresh)


def _pooled(count, stmt, setup):
    """Connect or disconnect receivers never seen before, with ``count`` others connected."""
    receivers = shared_receivers(count)

    def case(sig, connect, disconnect):
        pool = ReceiverPool(sig, connect, disconnect)
        return Case(stmt, {"sig": sig, "receivers": receivers, "POOL": pool}, setup)

    def dispatch(impl):
        sig = _dispatch_case(impl, receivers).namespace["sig"]
        return case(sig, type(sig).connect, type(sig).disconnect)

    def blinker_case():
        import blinker

        sig = blinker.Signal()
        for receiver in receivers:
            sig.connect(receiver)
        return case(sig, blinker.Signal.connect, blinker.Signal.disconnect)

    setups = {impl: functools.partial(dispatch, impl) for impl in SIGNAL_CLASSES}
    return _with_optional(setups, blinker=blinker_case)


def _connect_new(count):
    return _pooled(count, "sig.connect(next(pool))", "pool = POOL.connect_batch(BATCH)")


def _disconnect(count):
    return _pooled(count, "sig.disconnect(next(pool))", "pool = POOL.connected_batch(BATCH)")


class Transient:
    """A per-request object used as a sender once and dropped."""


def _transient_senders():
    receivers = make_receivers(11)
    others = [type(f"Model{i}", (), {}) for i in range(10)]
    stmt = "sig.send(sender=Transient(), instance=INSTANCE, created=True)"

    def dispatch(impl):
        # One receiver for every sender, ten for other senders.
        return _dispatch_case(impl, receivers, stmt, [None, *others], Transient=Transient)

    def loop():
        case = _loop_case(receivers[:1])
        case.stmt = "loop(sender=Transient(), instance=INSTANCE, created=True)"
        case.namespace["Transient"] = Transient
        return case

    setups = {impl: functools.partial(dispatch, impl) for impl in SIGNAL_CLASSES}
    setups["loop"] = loop
    return setups


def workloads():
    """Every dispatch workload, in report order."""
    return [
        Workload(
            "send-0",
            "send, 0 receivers",
            _send_functions(0),
            [Bar("django", "fastsignal", at_least=2)],
        ),
        Workload(
            "send-1",
            "send, 1 function receiver",
            _send_functions(1),
            [Bar("django", "fastsignal", at_least=5)],
        ),
        Workload(
            "send-10",
            "send, 10 function receivers",
            _send_functions(10),
            [Bar("loop", "fastsignal", at_most=1.05)],
        ),
        Workload(
            "send-100",
            "send, 100 function receivers",
            _send_functions(100),
            [Bar("loop", "fastsignal", at_most=1.05)],
        ),
        Workload(
            "send-10-methods",
            "send, 10 weak bound-method receivers",
            _send_methods(),
            [Bar("loop", "fastsignal", at_most=1.15)],
        ),
        Workload("send-10-partials", "send, 10 functools.partial receivers", _send_partials()),
        Workload(
            "send-1-of-1000-senders",
            "send to one of 1,000 senders",
            _many_senders(1000),
            [
                Bar("django", "fastsignal", at_least=30),
                Bar("django-cached", "fastsignal", at_least=2),
            ],
        ),
        Workload(
            "has-listeners-miss-500",
            "has_listeners miss among 500 receivers",
            _has_listeners_miss(500),
            [Bar("django-cached", "fastsignal", at_least=3)],
        ),
        Workload(
            "send-robust-failing", "send_robust, 10 receivers, one failing", _send_robust_failing()
        ),
        Workload(
            "connect-disconnect-10000",
            "connect + disconnect, 10,000 connected",
            _connect_disconnect(10_000),
            [Bar("django", "fastsignal", at_least=100)],
            panel="connect",
        ),
        Workload(
            "connect-new-10000",
            "connect a new receiver, 10,000 connected",
            _connect_new(10_000),
            [Bar(None, "fastsignal", at_most=1500)],
            panel="connect",
        ),
        Workload(
            "disconnect-10000",
            "disconnect, 10,000 connected",
            _disconnect(10_000),
            [Bar(None, "fastsignal", at_most=1000)],
            panel="connect",
        ),
        Workload(
            "transient-senders",
            "a new sender object on every send",
            _transient_senders(),
            [
                Bar("django", "fastsignal", at_least=3),
                Bar("django-cached", "fastsignal", at_least=3),
            ],
        ),
    ]


#: The Django dispatchers the fallback engine must never be slower than.
DJANGO_IMPLEMENTATIONS = ("django", "django-cached", "django61")


def fallback_bars(workload):
    """The fallback engine must never be slower than Django in any workload."""
    return [
        Bar(impl, "fallback", at_least=1)
        for impl in DJANGO_IMPLEMENTATIONS
        if impl in workload.setups and "fallback" in workload.setups
    ]


def compile_case(case, batch=1000):
    """Turn a ``Case`` into a zero-argument function running its statement.

    For a case with a ``setup``, the function runs the statement ``batch``
    times, and ``prepare``, also in the namespace, runs the setup for it.
    """
    if case.setup is None:
        source = f"def run():\n    {case.stmt}\n"
    else:
        case.namespace["BATCH"] = batch
        source = (
            f"def prepare():\n    global pool\n    {case.setup}\n"
            f"def run():\n    for _ in range(BATCH):\n        {case.stmt}\n"
        )
    exec(compile(source, "<workload>", "exec"), case.namespace)
    return case.namespace["run"]
