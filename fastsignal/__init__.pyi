from collections.abc import Callable
from typing import Any

from .dispatcher import PySignal as PySignal
from .dispatcher import Signal as Signal
from .dispatcher import receiver as receiver

__version__: str
COMPILED: bool
DEFERRED: object

class SignalRecursionError(RecursionError):
    chain: list[tuple[Any, Any, Callable[..., Any]]]

def on_commit(func: Callable[[], object], using: str | None = ..., robust: bool = ...) -> None: ...

# A context manager, also usable as a decorator of sync and async functions.
def atomic(using: str | None = ...) -> Any: ...
