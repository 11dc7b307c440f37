"""Memory: sends leak nothing, and senders used once leave nothing behind."""

import functools
import gc
import logging
import tracemalloc

import pytest


class Model:
    pass


class Handler:
    def on_signal(self, sender, **kwargs):
        return "method"


def plain(sender, **kwargs):
    return "plain"


def failing(sender, **kwargs):
    raise ValueError("failing")


def grown_bytes(operation, repeat):
    """Memory still allocated after ``repeat`` more runs of a warmed-up ``operation``.

    The warm-up runs ``repeat`` times while tracing too: caches and free lists
    that settle once (more of them on Python 3.10) are not a leak, which grows
    with every run.
    """
    tracemalloc.start()
    try:
        for _ in range(repeat):
            operation()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(repeat):
            operation()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


@pytest.fixture
def quiet_dispatch_log():
    logger = logging.getLogger("django.dispatch")
    logger.disabled = True
    yield
    logger.disabled = False


def test_send_paths_leak_nothing(engine, quiet_dispatch_log):
    sig = engine.Signal()
    handler = Handler()
    sig.connect(plain)
    sig.connect(handler.on_signal)
    sig.connect(functools.partial(plain), weak=False)
    sig.connect(failing, sender=Model)

    def operation():
        sig.send(Handler, a=1)
        sig.send(sender=Handler, a=1, b=2)
        sig.send_robust(Model, a=1)
        sig.has_listeners(Model)
        with pytest.raises(ValueError):
            sig.send(Model)
        with pytest.raises(TypeError):
            sig.send(Handler, signal=1)

    assert grown_bytes(operation, 5_000) < 4_096


def test_transient_senders_keep_nothing(engine):
    sig = engine.Signal()
    sig.connect(plain)
    others = [type(f"Other{index}", (), {}) for index in range(10)]
    for other in others:
        sig.connect(functools.partial(plain), sender=other, weak=False)

    def operation():
        assert sig.send(sender=Model(), instance=None) == [(plain, "plain")]

    assert grown_bytes(operation, 20_000) < 4_096
