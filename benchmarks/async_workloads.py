"""Async workloads: ``asend`` with async and sync receivers, and what async support costs ``send``.

``workloads()`` returns ``{workload name: {implementation: zero-argument callable}}``;
each callable performs one send and returns ``None``. Implementations, named as
in ``benchmarks/workloads.py``:

``fastsignal``  fastsignal's compiled engine (``fastsignal.Signal``; left out when
                the compiled engine is not in use)
``fallback``    fastsignal's pure-Python engine (``fastsignal.PySignal``)
``django``      ``django.dispatch.Signal()``

Workloads:

``asend-1-async``, ``asend-10-async``, ``asend-10-sync``
    ``loop.run_until_complete(sig.asend(...))`` on one event loop made in advance,
    so a measurement includes driving the loop once (about 6 µs here) but never
    creating it. The ``asend-10-sync`` receivers run through ``sync_to_async``,
    i.e. in a worker thread, as in Django.
``send-10-sync-no-async-support-cost``
    ``send`` to 10 sync receivers, next to ``loop`` (a hand-written Python loop
    calling them: no async support at all) and ``fastsignal+async-elsewhere``
    (the same signal plus an async receiver connected for another sender).
    fastsignal keeps each sender's sync and async receivers apart at connect
    time, so a send whose sender has no async receivers only tests an empty
    tuple: all three stay level.
"""

import asyncio
import functools
import importlib.util
import os

# Django must be configured before a Django Signal connects a receiver.
from django.conf import settings

if not settings.configured:
    settings.configure(DEBUG=False)

from django.dispatch import Signal as DjangoSignal

import fastsignal

SIGNAL_CLASSES = {"fallback": fastsignal.PySignal, "django": DjangoSignal}
if fastsignal.COMPILED:
    SIGNAL_CLASSES = {"fastsignal": fastsignal.Signal, **SIGNAL_CLASSES}

#: Workload name -> title, in report order.
TITLES = {
    "asend-1-async": "asend, 1 async receiver",
    "asend-10-async": "asend, 10 async receivers",
    "asend-10-sync": "asend, 10 sync receivers",
    "send-10-sync-no-async-support-cost": "send, 10 sync receivers: no cost for async support",
}


def django61_signal_class():
    """Django 6.1's ``Signal``, or ``None`` when it is not available.

    The installed one when Django is 6.1 or newer; otherwise Django 6.1's
    ``django/dispatch/dispatcher.py`` named by ``FASTSIGNAL_DJANGO61_DISPATCHER``
    (``scripts/bench`` takes it from Django 6.1's source distribution: Django 6
    needs Python 3.12).
    """
    import django

    if django.VERSION >= (6, 1):
        return DjangoSignal
    path = os.environ.get("FASTSIGNAL_DJANGO61_DISPATCHER")
    if not path or not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location("django61_dispatcher", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Signal


class Sender:
    """The sender: a class, as model signals send."""


class OtherSender:
    """A sender that only async receivers listen to."""


INSTANCE = object()


def make_sync_receivers(count):
    def make():
        def receiver(sender, **kwargs):
            return None

        return receiver

    return [make() for _ in range(count)]


def make_async_receivers(count):
    def make():
        async def receiver(sender, **kwargs):
            return None

        return receiver

    return [make() for _ in range(count)]


def _signal(signal_class, receivers, sender=None):
    sig = signal_class()
    for receiver in receivers:
        sig.connect(receiver, sender=sender)
    sig._bench_receivers = receivers  # keep them alive: signals hold receivers weakly
    return sig


def _asend(sig, loop, expected, method="asend"):
    send = getattr(sig, method)

    def run():
        loop.run_until_complete(send(sender=Sender, instance=INSTANCE, created=True))

    responses = loop.run_until_complete(send(sender=Sender, instance=INSTANCE, created=True))
    assert len(responses) == expected, responses
    assert not any(isinstance(response, Exception) for _, response in responses), responses
    return run


def _send(sig, expected):
    def run():
        sig.send(sender=Sender, instance=INSTANCE, created=True)

    assert len(sig.send(sender=Sender, instance=INSTANCE, created=True)) == expected
    return run


def _loop(receivers):
    signal = object()

    def run():
        [(r, r(signal=signal, sender=Sender, instance=INSTANCE, created=True)) for r in receivers]

    return run


def build(name, impl, loop):
    """The callable of workload ``name`` on implementation ``impl``; ``loop`` runs asends."""
    if name == "asend-1-async":
        return _asend(_signal(SIGNAL_CLASSES[impl], make_async_receivers(1)), loop, 1)
    if name == "asend-10-async":
        return _asend(_signal(SIGNAL_CLASSES[impl], make_async_receivers(10)), loop, 10)
    if name == "asend-10-sync":
        return _asend(_signal(SIGNAL_CLASSES[impl], make_sync_receivers(10)), loop, 10)
    if name == "send-10-sync-no-async-support-cost":
        receivers = make_sync_receivers(10)
        if impl == "loop":
            return _loop(receivers)
        if impl.endswith("+async-elsewhere"):
            sig = _signal(SIGNAL_CLASSES[impl.split("+")[0]], receivers)
            elsewhere = make_async_receivers(1)
            sig.connect(elsewhere[0], sender=OtherSender)
            sig._bench_receivers += elsewhere
            return _send(sig, 10)
        return _send(_signal(SIGNAL_CLASSES[impl], receivers), 10)
    raise KeyError(name)


def implementations(name):
    """The implementations that run workload ``name``."""
    impls = list(SIGNAL_CLASSES)
    if name == "send-10-sync-no-async-support-cost":
        impls += [f"{impls[0]}+async-elsewhere", "loop"]
    return impls


def workloads(loop=None):
    """``{workload name: {implementation: callable}}``; each callable sends once, returns ``None``.

    The asend callables share ``loop`` (a new event loop if not given); the
    caller closes it when done.
    """
    if loop is None:
        loop = asyncio.new_event_loop()
    return {
        name: {impl: build(name, impl, loop) for impl in implementations(name)} for name in TITLES
    }


#: The asend workloads of the report: (name, title, method, sync receivers, async receivers).
REPORT_ASENDS = [
    (f"{method.replace('_', '-')}-10-{kind}", f"{method}, 10 {kind} receivers", method, sync, asy)
    for method in ("asend", "asend_robust")
    for kind, sync, asy in (("sync", 10, 0), ("async", 0, 10), ("mixed", 5, 5))
]


def _report_case(signal_class, method, sync, asy, loop):
    from benchmarks.workloads import Case

    receivers = make_sync_receivers(sync) + make_async_receivers(asy)
    run = _asend(_signal(signal_class, receivers), loop, sync + asy, method)
    return Case("run()", {"run": run})


def report_workloads(loop):
    """The report's asend workloads, each against Django 6.1's when it is available.

    Bars: fastsignal's ``asend`` and ``asend_robust`` at least 1.5x faster than
    Django 6.1's, for sync, async and mixed receivers (the fallback's bars, never
    slower than Django, come from ``benchmarks.workloads.fallback_bars``).
    """
    from benchmarks.workloads import Bar, Workload

    classes = dict(SIGNAL_CLASSES)
    django61 = django61_signal_class()
    if django61 is not None:
        classes["django61"] = django61
    result = []
    for name, title, method, sync, asy in REPORT_ASENDS:
        setups = {
            impl: functools.partial(_report_case, signal_class, method, sync, asy, loop)
            for impl, signal_class in classes.items()
        }
        bars = [Bar("django61", "fastsignal", at_least=1.5)] if django61 is not None else []
        result.append(Workload(name, title, setups, bars, panel="async"))
    return result
