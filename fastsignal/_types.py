"""Types for annotations: the shapes the engines pass around, and the engine contract.

The package imports this module only under ``TYPE_CHECKING``. ``Engine`` is the
contract of ``_engine_py`` and ``_engine_c`` (see ``_engine_py``'s docstring) as a
protocol that both modules satisfy: ``_engine.py`` returns either where an
``Engine`` is expected, so mypy checks ``_engine_py.py`` and ``_engine_c.pyi``
against it.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

if TYPE_CHECKING:
    from ._common import ReceiversAttribute, SenderCacheAttribute, SenderCacheView

#: A receiver: called as ``receiver(signal=..., sender=..., **named)``.
Receiver: TypeAlias = Callable[..., Any]
#: What ``send`` and its variants return: ``[(receiver, response), ...]``.
Responses: TypeAlias = list[tuple[Receiver, Any]]
#: ``(sync_receivers, async_receivers)``, as ``Signal._live_receivers`` returns them.
LiveReceivers: TypeAlias = tuple[list[Receiver], list[Receiver]]
#: What ``[1]`` of a ``signal.receivers`` item holds: the receiver or a weak reference to it.
ReceiverRef: TypeAlias = Receiver | weakref.ref[Any]
#: ``[(receiver, ref), ...]`` of receivers connected with ``on_commit=True``.
DeferredPairs: TypeAlias = list[tuple[Receiver, ReceiverRef]]
#: A weak reference's callback: called with the reference when its referent dies.
OnDeath: TypeAlias = Callable[[weakref.ref[Any]], object]
#: ``(receiver key or dispatch_uid, sender key)``.
LookupKey: TypeAlias = tuple[Hashable, Hashable]
#: An item of ``signal.receivers``: ``(lookup_key, receiver_or_ref, sender_ref,
#: is_async)``, or Django 5.2's ``(lookup_key, receiver_or_ref, is_async)``.
ReceiversItem: TypeAlias = tuple[Any, ...]
#: The slow routes the engines hand a send to (``fastsignal._send_routes``, ``set_routes``):
#: ``send_live(signal, sender, named, robust)``, ``send_async(signal, sender, named,
#: async_receivers, robust)`` and ``defer(signal, sender, named, deferred_pairs, robust)``.
SendRoute: TypeAlias = Callable[["SignalLike", Any, dict[str, Any], bool], Responses]
AsyncRoute: TypeAlias = Callable[
    ["SignalLike", Any, dict[str, Any], list[Receiver], bool], Responses
]
DeferRoute: TypeAlias = Callable[
    ["SignalLike", Any, dict[str, Any], DeferredPairs, bool], Responses
]


class SignalLike(Protocol):
    """A signal the engines dispatch: ``fastsignal.Signal``, or Django's once installed."""

    def send(self, sender: Any, **named: Any) -> Responses: ...
    def send_robust(self, sender: Any, **named: Any) -> Responses: ...
    def _live_receivers(self, sender: Any) -> LiveReceivers: ...
    def _deferred_receivers(self, sender: Any) -> DeferredPairs: ...


class RegistryLike(Protocol):
    """What the attribute descriptors of ``_common`` need from an engine's ``Registry``."""

    @property
    def cache_view(self) -> SenderCacheView: ...
    def request_resync(self) -> None: ...
    def live_receivers(self, sender: Any) -> LiveReceivers: ...
    def get_list(self) -> list[ReceiversItem]: ...
    def set_list(self, items: Iterable[ReceiversItem]) -> None: ...


class Engine(Protocol):
    """An engine module. Its functions serve as methods of a signal class (``self``
    is the signal), so each is spelled here with the module as first argument."""

    receivers: ReceiversAttribute
    sender_receivers_cache: SenderCacheAttribute

    @property
    def COMPILED(self) -> bool: ...

    def registry_of(engine, signal: object) -> RegistryLike: ...
    def set_observed(engine, observed: bool) -> None: ...
    def set_routes(
        engine,
        send_live: SendRoute,
        send_async: AsyncRoute,
        defer: DeferRoute,
    ) -> None: ...
    def pack_instance_keys(
        engine, named: dict[str, Any], instance_keys: dict[type, tuple[str, str]], tag: str
    ) -> tuple[dict[str, Any], list[str] | None]: ...
    def send(engine, self: SignalLike, sender: Any, **named: Any) -> Responses: ...
    def send_robust(engine, self: SignalLike, sender: Any, **named: Any) -> Responses: ...
    def has_listeners(engine, self: SignalLike, sender: Any = None) -> bool: ...
    def _live_receivers(engine, self: object, sender: Any) -> LiveReceivers: ...
    def _deferred_receivers(engine, self: object, sender: Any) -> DeferredPairs: ...
    def _clear_dead_receivers(engine, self: object) -> None: ...
    def _flag_dead_receivers(engine, self: object, reference: object = None) -> None: ...
    def connect(
        engine,
        self: Any,
        receiver: Receiver,
        sender: Any = None,
        weak: bool = True,
        dispatch_uid: Hashable | None = None,
        on_commit: bool = False,
        priority: int = 0,
        background: Any = False,
    ) -> None: ...
    def disconnect(
        engine,
        self: Any,
        receiver: Receiver | None = None,
        sender: Any = None,
        dispatch_uid: Hashable | None = None,
    ) -> bool: ...
    def _connect_receiver(
        engine,
        self: object,
        lookup_key: LookupKey,
        receiver: Receiver,
        sender: Any,
        weak: bool,
        is_async: bool,
        on_commit: bool = False,
        priority: int = 0,
    ) -> None: ...
    def _disconnect_receiver(engine, self: object, lookup_key: LookupKey) -> bool: ...
