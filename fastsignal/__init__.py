"""fastsignal: a drop-in, compiled replacement for ``django.dispatch``.

``COMPILED`` is ``True`` when the Cython engine is in use, ``False`` when the
pure-Python fallback is (``FASTSIGNAL_NO_EXTENSIONS=1`` forces it).
``PySignal`` is ``Signal`` on the fallback engine, for comparison and tests.

PYTEST_DONT_REWRITE: pytest rewrites the asserts of every package of a
distribution with a plugin, and warns (an error under ``filterwarnings =
error``) when the package was imported before it started. Every module of
fastsignal but ``pytest_plugin`` opts out.
"""

from ._common import ReceiverItem, SignalRecursionError
from ._engine import COMPILED
from .dispatcher import PySignal, Signal, receiver
from .transaction import DEFERRED, atomic, on_commit

__version__ = "0.1.0"

__all__ = [
    "COMPILED",
    "DEFERRED",
    "PySignal",
    "ReceiverItem",
    "Signal",
    "SignalRecursionError",
    "__version__",
    "atomic",
    "on_commit",
    "receiver",
]
