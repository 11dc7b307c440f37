"""Helpers for tests: mute signals, connect a receiver for a block, capture sends.

``muted(*signals, sender=None)``
    No receiver of these signals runs while it is active (for every sender, or
    only for sends from ``sender``). A context manager, and a decorator of sync
    and async functions.
``connected(signal, receiver, **connect_kwargs)``
    ``receiver`` connected for the duration of a ``with`` block.
``capture(signal, sender=None)``
    Records every send of ``signal`` without changing it, with assertion helpers
    (``assert_sent``, ``assert_sent_once``, ``assert_not_sent``).

All three work on ``fastsignal.Signal`` (either engine) and on Django's own
``django.dispatch.Signal`` instances (``post_save`` and the rest), whether or not
``fastsignal.django.install()`` is in effect. The pytest plugin
(``fastsignal.pytest_plugin``) offers ``muted`` and ``capture`` as the fixtures
``mute_signals`` and ``capture_signal``.

How it works
============

``muted`` and ``capture`` intercept a signal at the instance level. Python finds
an attribute in an instance's ``__dict__`` before a non-data descriptor of its
class, and ``send``, ``send_robust``, ``asend``, ``asend_robust`` and
``has_listeners`` are non-data descriptors on every signal class: plain
functions, or the compiled engine's function objects, which define ``__get__``
but neither ``__set__`` nor ``__delete__`` (this is checked before anything is
changed). While a helper is active on a signal, each of those names is set on
that one instance to a wrapper; callers, Django's model code included, look the
method up on the instance on every send and get the wrapper.

- **One interception per signal.** Every helper active on a signal registers with
  the same interception object (a mute for all senders or for one sender, a
  capture). The first helper to start installs the wrappers; each call of a
  wrapper consults the helpers registered at that moment; the last helper to stop
  removes the wrappers. Helpers may stop in any order (nested, overlapping,
  interleaved): the wrappers stay exactly as long as one helper is active, and
  are never stacked on each other.
- **Exact restore.** A wrapper calls what it shadows: an instance attribute set
  before the first helper started (kept, and put back when the last one stops),
  or else the class's method, looked up again on each call, so that
  ``fastsignal.django.install()`` or ``uninstall()`` during a block takes effect.
  When the last helper stops, an attribute that was not on the instance is
  deleted again. If other code replaced one of the wrappers in the meantime
  (``unittest.mock.patch.object(signal, "send")``) and has not put it back by
  then, its replacement is left alone; should it later put the wrapper back, the
  wrapper passes every call straight through.
- **Receivers are never touched.** Muting does not reassign
  ``signal.receivers`` (the trick test factories use); a muted send returns
  ``[]`` without calling the signal's method. Receivers connected during the
  block stay connected afterwards; receivers disconnected during it stay
  disconnected.
- **Nothing global.** No class is patched and nothing is installed for signals
  no helper is active on: their sends cost exactly what they cost without this
  module.

Consequences worth knowing:

- Muting and capturing apply to the signal object, so to every thread and every
  asyncio task that sends it while the helper is active, not only to the code
  inside the ``with`` block.
- A bound method taken before the helper started (``send = signal.send``)
  bypasses it.
- ``Signal.send_on_commit`` sends when the transaction commits; that send is
  muted or captured if a helper is active then.
- The wrappers recognise the sender in the arguments of ``send(sender,
  **named)`` and ``has_listeners(sender=None)`` (positional or keyword). A call
  that does not fit (no sender, or extra positional arguments) goes straight to
  the wrapped method, which raises the same ``TypeError`` as without a helper.

Layout: ``_interception`` (what the helpers share), ``_muted``, ``_connected``
and ``_capture``, one helper each.

PYTEST_DONT_REWRITE
"""

from ._capture import CapturedSend, SignalCapture, capture
from ._connected import connected
from ._interception import active_signals
from ._muted import MutedSignals, muted

__all__ = [
    "CapturedSend",
    "MutedSignals",
    "SignalCapture",
    "active_signals",
    "capture",
    "connected",
    "muted",
]
