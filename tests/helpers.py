"""Small helpers shared by the test modules (receivers, senders, garbage collection)."""

import gc
import sys
import weakref


def collect():
    """Run the garbage collector until nothing more is freed (as Django's tests do)."""
    for _ in range(3):
        gc.collect()


def receiver_1_arg(val, **kwargs):
    """A module-level receiver that answers with ``val``."""
    return val


def receiver_2(val=None, **kwargs):
    return ("receiver_2", val)


class Callable:
    """A weakly referenceable callable object with a receiver method."""

    def __call__(self, val=None, **kwargs):
        return val

    def a(self, val=None, **kwargs):
        return ("a", val)

    def b(self, val=None, **kwargs):
        return ("b", val)


class Sender:
    """A weakly referenceable sender class; instances are senders too."""


class SlotsSender:
    """Instances are neither weakly referenceable nor given a ``__dict__``."""

    __slots__ = ("x",)


class SlotsCallable:
    """A callable that cannot be weakly referenced."""

    __slots__ = ()

    def __call__(self, **kwargs):
        return "slots"


class Recorder:
    """A receiver method that records the keyword arguments of every call."""

    def __init__(self, name="recorder"):
        self.name = name
        self.calls = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return self.name


def deref(receivers_item):
    """Return the receiver of a ``signal.receivers`` item, dereferencing a weakref.

    This is what debug toolbars do with Django's list.
    """
    target = receivers_item[1]
    if isinstance(target, weakref.ReferenceType):
        target = target()
    return target


def assert_clean(signal):
    """Assert that no receiver is left (dead ones are cleaned by the API call first)."""
    assert not signal.has_listeners()
    assert signal.receivers == []


def django61_signal_class():
    """Django 6.1's ``Signal``, or ``None`` when it is not available.

    The installed one when Django is 6.1 or newer; otherwise Django 6.1's
    ``django/dispatch/dispatcher.py`` named by ``FASTSIGNAL_DJANGO61_DISPATCHER``
    (``scripts/test`` takes it from Django 6.1's source distribution: Django 6
    needs Python 3.12, so it cannot be installed beside Django 5.2 on 3.11).
    """
    import importlib.util
    import os

    import django
    import django.dispatch

    if django.VERSION >= (6, 1):
        return django.dispatch.Signal
    path = os.environ.get("FASTSIGNAL_DJANGO61_DISPATCHER")
    if not path or not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location("django61_dispatcher", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if sys.version_info < (3, 11):
        _use_backports(module)
    return module.Signal


def _use_backports(module):
    """Run Django 6.1's dispatcher on Python 3.10 with the backports fastsignal uses there.

    It names ``asyncio.TaskGroup`` and ``BaseExceptionGroup``, both new in 3.11.
    """
    import asyncio
    import types

    from exceptiongroup import BaseExceptionGroup
    from taskgroup import TaskGroup

    module.asyncio = types.SimpleNamespace(**vars(asyncio), TaskGroup=TaskGroup)
    module.BaseExceptionGroup = BaseExceptionGroup
