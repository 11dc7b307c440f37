from typing import Final

from ._common import ReceiverItem as ReceiverItem
from ._common import SignalRecursionError as SignalRecursionError
from .dispatcher import PySignal as PySignal
from .dispatcher import Signal as Signal
from .dispatcher import receiver as receiver
from .transaction import DEFERRED as DEFERRED
from .transaction import atomic as atomic
from .transaction import on_commit as on_commit

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

__version__: str
COMPILED: Final[bool]
