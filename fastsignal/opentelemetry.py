"""Tracing sends with OpenTelemetry: a span per send, a child span per receiver.

Needs the ``opentelemetry`` extra (``opentelemetry-api``); configure a tracer
provider and exporter as usual (``opentelemetry-sdk``), then register the
observer once, at start-up::

    from fastsignal.monitoring import add_observer
    from fastsignal.opentelemetry import SignalTracer

    add_observer(SignalTracer())

Each send becomes a span named ``"<signal> send"`` (``post_save send``) with
attributes ``fastsignal.signal``, ``fastsignal.sender`` and
``fastsignal.arguments`` (the keyword names); each receiver call, a child span
named after the receiver (``fastsignal.receiver``) that records the exception
it raised, also in ``send_robust``, and marks itself as an error.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from ._common import receiver_name, signal_name
from .introspect import describe_sender

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

__all__ = ["SignalTracer"]


class SignalTracer:
    """A ``fastsignal.monitoring`` observer that traces sends with OpenTelemetry."""

    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        self.tracer = tracer if tracer is not None else trace.get_tracer("fastsignal")
        # Signal names are found by a search of the loaded modules: once per signal.
        self._names: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    def _signal_name(self, signal: Any) -> str:
        try:
            return self._names[signal]
        except KeyError:
            name = self._names[signal] = signal_name(signal)
            return name
        except TypeError:  # not weakly referenceable
            return signal_name(signal)

    def send(
        self, signal: Any, sender: Any, kwargs: dict[str, Any]
    ) -> AbstractContextManager[object]:
        name = self._signal_name(signal)
        return self.tracer.start_as_current_span(
            f"{name} send",
            attributes={
                "fastsignal.signal": name,
                "fastsignal.sender": describe_sender(sender) or "None",
                "fastsignal.arguments": sorted(kwargs),
            },
        )

    def receiver(
        self, signal: Any, sender: Any, receiver: Callable[..., Any]
    ) -> AbstractContextManager[object]:
        name = receiver_name(receiver)
        return self.tracer.start_as_current_span(name, attributes={"fastsignal.receiver": name})
