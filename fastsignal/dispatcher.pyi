import threading
from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar, overload

from ._common import ReceiversAttribute, SenderCacheAttribute
from ._types import (
    DeferredPairs,
    Engine,
    LiveReceivers,
    LookupKey,
    Receiver,
)
from .background import BackgroundOptions

_F = TypeVar("_F", bound=Callable[..., Any])

class _Connectable(Protocol):
    """A signal ``receiver()`` connects to: fastsignal's ``Signal``, Django's, or a subclass."""

    def connect(self, receiver: Callable[..., Any], /, *args: Any, **kwargs: Any) -> object: ...

_S = TypeVar("_S", bound=_Connectable)

ENGINE_ATTRIBUTES: tuple[str, ...]

def engine_attributes(engine: Engine) -> dict[str, Any]: ...

class Signal:
    # Data descriptors: ``receivers`` reads as a list of ``signal.receivers`` items
    # and can be assigned any iterable of them; ``sender_receivers_cache`` reads as
    # a ``SenderCacheView`` and ignores assignments.
    receivers: ReceiversAttribute
    lock: threading.Lock
    use_caching: bool
    sender_receivers_cache: SenderCacheAttribute
    def __init__(self, use_caching: bool = False) -> None: ...
    def connect(
        self,
        receiver: Callable[..., Any],
        sender: object = None,
        weak: bool = True,
        dispatch_uid: Hashable | None = None,
        on_commit: bool = False,
        priority: int = 0,
        background: bool | BackgroundOptions = False,
    ) -> None: ...
    def disconnect(
        self,
        receiver: Callable[..., Any] | None = None,
        sender: object = None,
        dispatch_uid: Hashable | None = None,
    ) -> bool: ...
    def has_listeners(self, sender: object = None) -> bool: ...
    # The response of a receiver connected with on_commit=True is fastsignal.DEFERRED;
    # with send_robust, that of a receiver that raised is its Exception.
    def send(self, sender: object, **named: Any) -> list[tuple[Callable[..., Any], Any]]: ...
    def send_robust(self, sender: object, **named: Any) -> list[tuple[Callable[..., Any], Any]]: ...
    def send_on_commit(
        self, sender: object, using: str | None = None, robust: bool = False, **named: Any
    ) -> None: ...
    async def asend(self, sender: object, **named: Any) -> list[tuple[Callable[..., Any], Any]]: ...
    async def asend_robust(
        self, sender: object, **named: Any
    ) -> list[tuple[Callable[..., Any], Any]]: ...
    def _live_receivers(self, sender: object) -> LiveReceivers: ...
    def _deferred_receivers(self, sender: object) -> DeferredPairs: ...
    def _clear_dead_receivers(self) -> None: ...
    def _flag_dead_receivers(self, reference: object = None) -> None: ...
    def _connect_background(
        self,
        lookup_key: LookupKey,
        receiver: Receiver,
        sender: object,
        on_commit: bool,
        priority: int,
        options: bool | BackgroundOptions,
    ) -> None: ...
    def _connect_receiver(
        self,
        lookup_key: LookupKey,
        receiver: Receiver,
        sender: object,
        weak: bool,
        is_async: bool,
        on_commit: bool = False,
        priority: int = 0,
    ) -> None: ...
    def _disconnect_receiver(self, lookup_key: LookupKey) -> bool: ...

class PySignal(Signal):
    """``Signal`` on the pure-Python engine, whatever engine ``Signal`` uses."""

# ``signal`` is a signal (fastsignal's, Django's, or a subclass such as ModelSignal)
# or a list or tuple of them; the keyword arguments go to each one's ``connect``.
@overload
def receiver(
    signal: _Connectable | list[_Connectable] | tuple[_Connectable, ...],
    *,
    sender: object = None,
    weak: bool = True,
    dispatch_uid: Hashable | None = None,
    on_commit: bool = False,
    priority: int = 0,
    background: bool | BackgroundOptions = False,
    **kwargs: Any,
) -> Callable[[_F], _F]: ...
@overload
def receiver(
    signal: list[_S],
    *,
    sender: object = None,
    weak: bool = True,
    dispatch_uid: Hashable | None = None,
    on_commit: bool = False,
    priority: int = 0,
    background: bool | BackgroundOptions = False,
    **kwargs: Any,
) -> Callable[[_F], _F]: ...
