import threading
from collections.abc import Callable, Hashable
from types import ModuleType
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])
_Responses = list[tuple[Callable[..., Any], Any]]

ENGINE_ATTRIBUTES: tuple[str, ...]

def engine_attributes(engine: ModuleType) -> dict[str, Any]: ...

class Signal:
    receivers: list[Any]
    lock: threading.Lock
    use_caching: bool
    sender_receivers_cache: Any
    def __init__(self, use_caching: bool = ...) -> None: ...
    def connect(
        self,
        receiver: Callable[..., Any],
        sender: object = ...,
        weak: bool = ...,
        dispatch_uid: Hashable | None = ...,
        on_commit: bool = ...,
    ) -> None: ...
    def disconnect(
        self,
        receiver: Callable[..., Any] | None = ...,
        sender: object = ...,
        dispatch_uid: Hashable | None = ...,
    ) -> bool: ...
    def has_listeners(self, sender: object = ...) -> bool: ...
    def send(self, sender: object, **named: Any) -> _Responses: ...
    def send_robust(self, sender: object, **named: Any) -> _Responses: ...
    def send_on_commit(
        self, sender: object, using: str | None = ..., robust: bool = ..., **named: Any
    ) -> None: ...
    async def asend(self, sender: object, **named: Any) -> _Responses: ...
    async def asend_robust(self, sender: object, **named: Any) -> _Responses: ...
    def _live_receivers(
        self, sender: object
    ) -> tuple[list[Callable[..., Any]], list[Callable[..., Any]]]: ...
    def _clear_dead_receivers(self) -> None: ...

class PySignal(Signal): ...

# ``signal`` is a signal (fastsignal's or Django's) or a list or tuple of them.
def receiver(signal: Any, **kwargs: Any) -> Callable[[_F], _F]: ...
