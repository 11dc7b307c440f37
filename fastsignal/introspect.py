"""Seeing what is connected: the receivers of a signal and the signals of a process.

``receivers(signal)`` describes each receiver of a signal in call order, and
``signals(prefix)`` finds the signals that imported modules define. Both read
what a signal exposes as Django's does (``signal.receivers``), so they work on
fastsignal's signals and on Django's, with or without the Django integration,
and cost nothing until called.

``python manage.py signals`` (with ``"fastsignal.django"`` installed) prints
the same as a table or as JSON.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import inspect
import sys
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._common import NONE_ID, ReceiverItem, make_id
from ._signal_paths import choose, module_namespaces
from .background import BackgroundReceiver

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable


@dataclass(frozen=True)
class ReceiverInfo:
    """One connected receiver, as ``receivers()`` describes it."""

    #: The receiver's qualified name (``Shop.on_order_paid``), or its repr.
    name: str
    #: The module that defines it, if known.
    module: str | None
    #: The source file and first line of its code, if known.
    file: str | None
    line: int | None
    #: The sender it listens to: ``None`` for every sender; the sender itself
    #: while it is alive; a ``"<sender id 0x...>"`` string when the signal keeps
    #: only its identity (Django 5.2's own dispatcher, or a sender that cannot
    #: be weakly referenced).
    sender: Any
    #: The ``dispatch_uid`` it was connected with, or ``None``.
    dispatch_uid: Hashable | None
    #: Held by a weak reference (``weak=True``, the default).
    weak: bool
    #: A coroutine function (or marked as one).
    is_async: bool
    #: Connected with ``on_commit=True``.
    on_commit: bool
    #: Its priority (higher runs first); ``0`` by default.
    priority: int
    #: Connected with ``background=``: a task worker runs it (``receiver`` is then
    #: the receiver itself, not what enqueues it).
    background: bool
    #: Whether it (and its sender) is still alive: a dead receiver is never called
    #: and is removed at the signal's next operation.
    alive: bool
    #: The receiver itself, or ``None`` once it has died.
    receiver: Callable[..., Any] | None

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values (the sender and uid as strings)."""
        return {
            "name": self.name,
            "module": self.module,
            "file": self.file,
            "line": self.line,
            "sender": describe_sender(self.sender),
            "dispatch_uid": None if self.dispatch_uid is None else str(self.dispatch_uid),
            "weak": self.weak,
            "is_async": self.is_async,
            "on_commit": self.on_commit,
            "priority": self.priority,
            "background": self.background,
            "alive": self.alive,
        }


def receivers(signal: Any) -> list[ReceiverInfo]:
    """Describe the receivers of ``signal``, in the order a send calls them.

    Receivers with a higher priority come first, then connection order; a send
    calls only those whose sender matches. Works on any object with Django's
    ``receivers`` layout: fastsignal's ``Signal`` and Django's.
    """
    return [_describe(item) for item in list(signal.receivers)]


def _describe(item: tuple[Any, ...]) -> ReceiverInfo:
    lookup_key, target = item[0], item[1]
    sender_ref = item[2] if len(item) >= 4 else None  # Django 5.2: (key, target, is_async)
    weak = isinstance(target, weakref.ReferenceType)
    receiver = target() if weak else target
    background = isinstance(receiver, BackgroundReceiver)
    if background:
        receiver = receiver.__wrapped__
    sender_key = lookup_key[1]
    sender: Any = None
    sender_alive = True
    if sender_key != NONE_ID:
        if isinstance(sender_ref, weakref.ReferenceType):
            sender = sender_ref()
            sender_alive = sender is not None
            if sender is None:
                sender = _sender_id(sender_key)
        else:
            sender = _sender_id(sender_key)
    extra = item if isinstance(item, ReceiverItem) else ReceiverItem
    module, file, line = _location(receiver)
    return ReceiverInfo(
        name=_name(receiver) if receiver is not None else "<dead receiver>",
        module=module,
        file=file,
        line=line,
        sender=sender,
        dispatch_uid=_dispatch_uid(lookup_key[0], receiver),
        weak=weak,
        is_async=bool(item[-1]),
        on_commit=bool(extra.on_commit) and not background,
        priority=int(extra.priority),
        background=background,
        alive=receiver is not None and sender_alive,
        receiver=receiver,
    )


def _sender_id(sender_key: object) -> str:
    return f"<sender id {sender_key:#x}>" if isinstance(sender_key, int) else repr(sender_key)


def _dispatch_uid(receiver_key: Hashable, receiver: object) -> Hashable | None:
    """The ``dispatch_uid`` in a lookup key, or ``None`` when the key is the receiver's id."""
    if receiver is not None:
        return None if receiver_key == make_id(receiver) else receiver_key
    is_id = isinstance(receiver_key, int) or (
        isinstance(receiver_key, tuple) and all(isinstance(k, int) for k in receiver_key)
    )
    return None if is_id else receiver_key


def _unwrap(receiver: object) -> object:
    """The function whose code a receiver runs (through partials, methods, callables)."""
    for _ in range(10):  # partials of partials, bounded
        inner = getattr(receiver, "func", None) or getattr(receiver, "__func__", None)
        if inner is None:
            break
        receiver = inner
    if not (inspect.isfunction(receiver) or inspect.isbuiltin(receiver)):
        call = inspect.getattr_static(type(receiver), "__call__", None)
        if inspect.isfunction(call):
            return call
    return inspect.unwrap(receiver) if inspect.isfunction(receiver) else receiver


def _name(receiver: object) -> str:
    qualname = getattr(receiver, "__qualname__", None)
    if isinstance(qualname, str):
        return qualname
    inner = getattr(receiver, "func", None)  # functools.partial
    if inner is not None:
        return f"partial({_name(inner)})"
    return f"{type(receiver).__qualname__} instance"


def _location(receiver: object) -> tuple[str | None, str | None, int | None]:
    if receiver is None:
        return None, None, None
    function = _unwrap(receiver)
    module = getattr(receiver, "__module__", None) or getattr(function, "__module__", None)
    code = getattr(function, "__code__", None)
    if code is None:
        return module, None, None
    return module, code.co_filename, code.co_firstlineno


def describe_sender(sender: object) -> str | None:
    """A readable name for a sender: ``app_label.Model`` for models, a class's path."""
    if sender is None:
        return None
    if isinstance(sender, str):
        return sender
    meta = getattr(sender, "_meta", None)
    label = getattr(meta, "label", None)
    if isinstance(sender, type) and isinstance(label, str):
        return label
    if isinstance(sender, type):
        return f"{sender.__module__}.{sender.__qualname__}"
    return repr(sender)


def _signal_classes() -> tuple[type, ...]:
    from .dispatcher import Signal

    classes: list[type] = [Signal]
    django_dispatcher = sys.modules.get("django.dispatch.dispatcher")
    if django_dispatcher is not None:  # never imports Django
        classes.append(django_dispatcher.Signal)
    return tuple(classes)


def signals(prefix: str = "", classes: tuple[type, ...] | None = None) -> list[tuple[str, Any]]:
    """``[(qualified_name, signal), ...]`` for the module-level signals of imported modules.

    Looks at the modules in ``sys.modules`` whose name starts with ``prefix``,
    for instances of fastsignal's ``Signal`` and Django's (or of ``classes``).
    A signal reachable under several names is listed once, under the name of the
    module that defines it (``django.db.models.signals.post_save``, not a module
    that imports it), as background receivers name it for a task worker. No
    module is imported and no lazily loaded module is loaded. Sorted by name.
    """
    classes = _signal_classes() if classes is None else classes
    found: dict[int, tuple[Any, list[tuple[str, str]]]] = {}
    for module_name, namespace in module_namespaces(prefix):
        try:
            items = list(namespace.items())
        except RuntimeError:  # changed while copied by another thread
            continue
        for attr, value in items:
            # type(), not isinstance(): lazy proxies (django.conf.settings) would set up.
            if not isinstance(attr, str) or not issubclass(type(value), classes):
                continue
            found.setdefault(id(value), (value, []))[1].append((module_name, attr))
    named = []
    for signal, candidates in found.values():
        module_name, attr = choose(candidates)
        named.append((f"{module_name}.{attr}", signal))
    return sorted(named, key=lambda pair: pair[0])
