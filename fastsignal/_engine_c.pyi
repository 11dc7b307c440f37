"""The compiled engine, ``_engine_c.pyx``: the contract of ``_engine_py``, in Cython.

``Engine`` (``fastsignal._types``) is that contract: ``_engine.py`` returns this
module as one, so mypy checks the stub against it, and ``tests/test_typing.py``
checks it against the built module with stubtest. Only what Python code can reach
is declared: not the ``cdef`` methods, nor the attributes that are neither
``readonly`` nor ``public``.
"""

import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Final, final

from ._common import ReceiversAttribute, SenderCacheAttribute, SenderCacheView
from ._types import (
    AsyncRoute,
    DeferredPairs,
    DeferRoute,
    LiveReceivers,
    LookupKey,
    OnDeath,
    Receiver,
    ReceiversItem,
    Responses,
    SendRoute,
    SignalLike,
)

COMPILED: Final[bool]

class Entry:
    """One connected receiver, with everything a send needs decided in advance."""

    def __init__(self, item: ReceiversItem, on_death: OnDeath | None = None) -> None: ...
    @property
    def item(self) -> ReceiversItem: ...
    @property
    def key(self) -> LookupKey: ...
    @property
    def sender_key(self) -> Hashable: ...
    @property
    def is_async(self) -> bool: ...
    @property
    def deferred(self) -> bool: ...
    @property
    def priority(self) -> int: ...
    @property
    def seq(self) -> int: ...

class Snapshot:
    """The receivers of one sender, split by how a send calls them."""

    def __init__(self, entries: list[Entry], ranked: bool) -> None: ...
    @property
    def entries(self) -> tuple[Entry, ...]: ...
    @property
    def sync(self) -> tuple[Entry, ...]: ...
    @property
    def async_(self) -> tuple[Entry, ...]: ...
    @property
    def deferred(self) -> tuple[Entry, ...]: ...

def _by_rank(entry: Entry) -> int: ...

class Indexes:
    """The connected receivers of one registry, indexed for sends."""

class Registry:
    """Receivers of one signal: the current ``Indexes`` and what keeps them in step."""

    dead: bool
    dead_sender: bool
    resync: bool
    def __init__(self, lock: threading.Lock) -> None: ...
    @property
    def lock(self) -> threading.Lock: ...
    @property
    def cache_view(self) -> SenderCacheView: ...
    @property
    def on_death(self) -> Callable[[object], None]: ...
    @property
    def on_sender_death(self) -> Callable[[object], None]: ...
    def flag_dead(self, reference: object = None) -> None: ...
    def flag_sender_dead(self, reference: object = None) -> None: ...
    def request_resync(self) -> None: ...
    def refresh(self) -> None: ...
    def get_list(self) -> list[ReceiversItem]: ...
    def set_list(self, items: Iterable[ReceiversItem]) -> None: ...
    def live_receivers(self, sender: Any) -> LiveReceivers: ...

class CallPlan:
    """How a send passes its caller's keyword names on, worked out once per tuple of names."""

    def __init__(self, kwnames: tuple[str, ...], sender_positional: bool, name: str) -> None: ...

def registry_of(signal: object) -> Registry: ...
def set_observed(observed: bool) -> None: ...
def set_routes(send_live: SendRoute, send_async: AsyncRoute, defer: DeferRoute) -> None: ...
def pack_instance_keys(
    named: dict[str, Any], instance_keys: dict[type, tuple[str, str]], tag: str
) -> tuple[dict[str, Any], list[str] | None]: ...

@final
class Delivery:
    """The call of one send's sync receivers, from the frame of ``_send_frame``."""

def _run(delivery: Delivery, /) -> Responses: ...

# Functions that serve as methods of a signal class (``self`` is the signal).
# ``send`` and ``send_robust`` are vectorcall method descriptors, not functions.
def send(self: SignalLike, sender: Any, **named: Any) -> Responses: ...
def send_robust(self: SignalLike, sender: Any, **named: Any) -> Responses: ...
def has_listeners(self: SignalLike, sender: Any = None) -> bool: ...
def _live_receivers(self: object, sender: Any) -> LiveReceivers: ...
def _deferred_receivers(self: object, sender: Any) -> DeferredPairs: ...
def _clear_dead_receivers(self: object) -> None: ...
def _flag_dead_receivers(self: object, reference: object = None) -> None: ...
def connect(
    self: object,
    receiver: Receiver,
    sender: Any = None,
    weak: bool = True,
    dispatch_uid: Hashable | None = None,
    on_commit: bool = False,
    priority: int = 0,
    background: Any = False,
) -> None: ...
def disconnect(
    self: object,
    receiver: Receiver | None = None,
    sender: Any = None,
    dispatch_uid: Hashable | None = None,
) -> bool: ...
def _connect_receiver(
    self: object,
    lookup_key: LookupKey,
    receiver: Receiver,
    sender: Any,
    weak: bool,
    is_async: bool,
    on_commit: bool = False,
    priority: int = 0,
) -> None: ...
def _disconnect_receiver(self: object, lookup_key: LookupKey) -> bool: ...
def _entry_from_foreign_item(item: ReceiversItem, on_death: OnDeath) -> Entry: ...

receivers: ReceiversAttribute
sender_receivers_cache: SenderCacheAttribute
