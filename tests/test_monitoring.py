"""fastsignal.monitoring: observers see every send and receiver call, on both engines."""

import asyncio
import logging
from contextlib import contextmanager

import pytest

from fastsignal import monitoring
from fastsignal.monitoring import add_observer, observe, observing, remove_observer


class Shop:
    pass


def ok(sender, **kwargs):
    return "ok"


def fails(sender, **kwargs):
    raise ValueError("fails")


async def later(sender, **kwargs):
    await asyncio.sleep(0.01)
    return "later"


@pytest.fixture
def sig(engine):
    return engine.Signal()


@pytest.fixture(autouse=True)
def no_observers_left():
    yield
    assert monitoring._observers == ()


@pytest.fixture
def quiet():
    logger = logging.getLogger("django.dispatch")
    logger.disabled = True
    yield
    logger.disabled = False


def test_observe_records_sends_calls_durations_and_exceptions(sig, quiet):
    sig.connect(ok)
    sig.connect(fails, sender=Shop, priority=-1)
    with observe() as sends:
        assert [r for _, r in sig.send(None, order=1)] == ["ok"]
        robust = sig.send_robust(Shop, order=2)
        with pytest.raises(ValueError):
            sig.send(Shop)
    assert [r if isinstance(r, str) else type(r) for _, r in robust] == ["ok", ValueError]
    assert [(s.sender, s.kwargs) for s in sends] == [
        (None, {"order": 1}),
        (Shop, {"order": 2}),
        (Shop, {}),
    ]
    assert [[c.name for c in s.calls] for s in sends] == [["ok"], ["ok", "fails"], ["ok", "fails"]]
    assert all(s.signal is sig and s.duration >= 0 for s in sends)
    assert sends[1].exception is None and isinstance(sends[1].calls[1].exception, ValueError)
    assert isinstance(sends[2].exception, ValueError)
    assert sends[2].calls[1].exception is sends[2].exception
    assert all(c.duration >= 0 and c.receiver in (ok, fails) for s in sends for c in s.calls)


def test_observed_sends_give_the_same_results(sig, quiet):
    sig.connect(ok)
    sig.connect(fails, sender=Shop)
    sig.connect(later)
    expected = [sig.send(None), sig.send_robust(Shop)]
    with observe():
        observed = [sig.send(None), sig.send_robust(Shop)]
    assert [[(r, v if isinstance(v, str) else type(v)) for r, v in rs] for rs in observed] == [
        [(r, v if isinstance(v, str) else type(v)) for r, v in rs] for rs in expected
    ]


def test_async_receivers_and_asend_are_observed(sig):
    sig.connect(ok)
    sig.connect(later)
    with observe() as sends:
        responses = asyncio.run(sig.asend(Shop, n=1))
        sig.send(Shop)
    assert responses == [(ok, "ok"), (later, "later")]
    assert [[c.name for c in s.calls] for s in sends] == [["ok", "later"], ["ok", "later"]]
    assert sends[0].calls[1].duration >= 0.009


def test_nested_sends_are_recorded_separately(engine):
    outer, inner = engine.Signal(), engine.Signal()

    def relay(sender, **kwargs):
        inner.send(sender="relay")
        return "relayed"

    outer.connect(relay)
    inner.connect(ok)
    with observe() as sends:
        outer.send(Shop)
    assert [(s.signal, s.sender) for s in sends] == [(outer, Shop), (inner, "relay")]
    assert [c.name for c in sends[0].calls] == [
        "test_nested_sends_are_recorded_separately.<locals>.relay"
    ]
    assert [c.name for c in sends[1].calls] == ["ok"]


def test_observer_api_and_registration(sig):
    events = []

    class Tracer:
        @contextmanager
        def send(self, signal, sender, kwargs):
            events.append(("send", sender, sorted(kwargs)))
            yield
            events.append(("sent", sender))

        def receiver(self, signal, sender, receiver):
            events.append(("call", receiver.__name__))
            return None  # skip: nothing to wrap

    tracer = Tracer()
    sig.connect(ok)
    add_observer(tracer)
    add_observer(tracer)  # once
    try:
        sig.send(Shop, a=1)
    finally:
        remove_observer(tracer)
    remove_observer(tracer)  # not registered: nothing happens
    sig.send(Shop)
    assert events == [("send", Shop, ["a"]), ("call", "ok"), ("sent", Shop)]
    with observing(tracer):
        sig.send(None)
    assert events[-1] == ("sent", None)


def test_django_signals_are_observed_once_installed(engine):
    pytest.importorskip("django")
    from django.db.models.signals import post_save

    import fastsignal.django as fsd

    installed_here = not fsd.is_installed()
    fsd.install()
    post_save.connect(ok, sender=Shop, weak=False)
    try:
        with observe() as sends:
            post_save.send(sender=Shop, instance=None, created=True)
        assert [(s.signal, s.sender, [c.name for c in s.calls]) for s in sends] == [
            (post_save, Shop, ["ok"])
        ]
    finally:
        post_save.disconnect(ok, sender=Shop)
        if installed_here:
            fsd.uninstall()


def test_opentelemetry_spans(sig, quiet):
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode

    from fastsignal.opentelemetry import SignalTracer

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sig.connect(ok)
    sig.connect(fails)
    with observing(SignalTracer(provider.get_tracer("test"))):
        sig.send_robust(Shop, order=7)
    receiver_ok, receiver_fails, send = exporter.get_finished_spans()
    assert send.name.endswith(" send") and send.parent is None
    assert send.attributes["fastsignal.sender"] == f"{__name__}.Shop"
    assert list(send.attributes["fastsignal.arguments"]) == ["order"]
    assert [receiver_ok.name, receiver_fails.name] == ["ok", "fails"]
    assert receiver_ok.parent.span_id == send.context.span_id
    assert receiver_fails.parent.span_id == send.context.span_id
    assert receiver_ok.status.status_code is StatusCode.UNSET
    assert receiver_fails.status.status_code is StatusCode.ERROR
    assert [event.name for event in receiver_fails.events] == ["exception"]


def test_a_save_loop_is_named_while_observed(sig):
    from fastsignal import SignalRecursionError

    def loop(sender, **kwargs):
        sig.send(sender)

    sig.connect(loop)
    with observe(), pytest.raises(SignalRecursionError, match=r"loop -> \.\.\. "):
        sig.send(None)


class BrokenSend:
    def send(self, signal, sender, kwargs):
        raise RuntimeError("exporter down")

    def receiver(self, signal, sender, receiver):
        return None


class BrokenExit:
    def send(self, signal, sender, kwargs):
        return None

    @contextmanager
    def receiver(self, signal, sender, receiver):
        yield
        raise RuntimeError("span export failed")


class Swallowing:
    def send(self, signal, sender, kwargs):
        return None

    @contextmanager
    def receiver(self, signal, sender, receiver):
        try:
            yield
        except Exception:
            pass


@pytest.mark.parametrize("observer", [BrokenSend(), BrokenExit(), Swallowing()], ids=type)
def test_a_failing_observer_never_changes_the_send(sig, observer, caplog):
    sig.connect(ok)
    sig.connect(fails, sender=Shop)
    with observing(observer):
        assert sig.send(None) == [(ok, "ok")]
        with pytest.raises(ValueError, match="fails"):
            sig.send(Shop)
        robust = sig.send_robust(Shop)
    assert robust[0] == (ok, "ok") and isinstance(robust[1][1], ValueError)
    failures = [r for r in caplog.records if r.name == "fastsignal.monitoring"]
    assert bool(failures) is not isinstance(observer, Swallowing)
