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


def _asend(sig, loop, expected):
    def run():
        loop.run_until_complete(sig.asend(sender=Sender, instance=INSTANCE, created=True))

    responses = loop.run_until_complete(sig.asend(sender=Sender, instance=INSTANCE, created=True))
    assert len(responses) == expected, responses
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
