"""pytest fixtures for signals: ``capture_signal`` and ``mute_signals``.

Registered through the ``pytest11`` entry point, so the fixtures are available
in every test run once fastsignal is installed (``-p no:fastsignal`` turns the
plugin off). Both are factories around ``fastsignal.testing``::

    def test_signup(capture_signal, mute_signals):
        mute_signals(post_save, sender=Profile)
        sent = capture_signal(user_signed_up)
        signup("alice")
        sent.assert_sent_once(username="alice")

What a factory returns is active at once, and can also be used as a context
manager (which stops it at the end of the block). Whatever the test started is
stopped when the test ends, passed or failed, so every signal it touched is as
it was.

This module imports neither Django nor ``fastsignal.testing`` until a fixture
is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .testing import MutedSignals, SignalCapture

__all__ = ["CaptureSignal", "MuteSignals", "capture_signal", "mute_signals"]


class CaptureSignal(Protocol):
    """The ``capture_signal`` fixture: ``capture_signal(signal, sender=None)``."""

    def __call__(self, signal: Any, sender: Any = None) -> SignalCapture:
        """Start recording the sends of ``signal`` (from ``sender`` only, when given)."""


class MuteSignals(Protocol):
    """The ``mute_signals`` fixture: ``mute_signals(*signals, sender=None)``."""

    def __call__(self, *signals: Any, sender: Any = None) -> MutedSignals:
        """Mute ``signals`` (for sends from ``sender`` only, when given)."""


@pytest.fixture
def capture_signal() -> Iterator[CaptureSignal]:
    """Record the sends of a signal for the rest of the test (or of a ``with`` block).

    ``capture_signal(signal, sender=None)`` returns a ``fastsignal.testing.SignalCapture``
    that is recording already::

        def test_welcome_mail(capture_signal):
            sent = capture_signal(user_signed_up)
            signup("alice")
            sent.assert_sent_once(username="alice")

    Every capture is stopped when the test ends.
    """
    from .testing import SignalCapture

    started: list[SignalCapture] = []

    def factory(signal: Any, sender: Any = None) -> SignalCapture:
        capture = SignalCapture(signal, sender=sender)
        started.append(capture)
        capture.start()
        return capture

    try:
        yield factory
    finally:
        for capture in reversed(started):
            capture.stop()


@pytest.fixture
def mute_signals() -> Iterator[MuteSignals]:
    """Mute signals for the rest of the test (or of a ``with`` block).

    ``mute_signals(*signals, sender=None)`` returns a ``fastsignal.testing.MutedSignals``
    that is active already::

        def test_bulk_import(mute_signals):
            mute_signals(post_save, pre_save)
            import_users("users.csv")

    Every signal is unmuted when the test ends.
    """
    from .testing import MutedSignals

    started: list[MutedSignals] = []

    def factory(*signals: Any, sender: Any = None) -> MutedSignals:
        mute = MutedSignals(*signals, sender=sender)
        started.append(mute)
        mute.start()
        return mute

    try:
        yield factory
    finally:
        for mute in reversed(started):
            mute.stop()
