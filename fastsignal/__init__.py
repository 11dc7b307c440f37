"""fastsignal: a drop-in, compiled replacement for ``django.dispatch``.

``COMPILED`` is ``True`` when the Cython engine is in use, ``False`` when the
pure-Python fallback is (``FASTSIGNAL_NO_EXTENSIONS=1`` forces it).
``PySignal`` is ``Signal`` on the fallback engine, for comparison and tests.
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
