"""``install()`` and ``uninstall()``: fastsignal's engine as the methods of Django's ``Signal``.

How it works
============

The engine is a registry object that each signal holds plus functions that take
the signal as ``self`` (see ``fastsignal._engine_py``). ``install()`` sets those
functions, the ``receivers`` / ``sender_receivers_cache`` data descriptors and
``fastsignal.Signal``'s own ``__init__``, ``connect``, ``disconnect``, ``asend``
and ``asend_robust`` as attributes of ``django.dispatch.dispatcher.Signal``,
keeping what was there for ``uninstall()``. No instance is visited:

- an instance that already exists keeps Django's state in its ``__dict__``; the
  ``receivers`` descriptor shadows it, and the registry, created on first use,
  adopts the ``receivers`` list (Django 5.2's 3-tuples included);
- an instance created later gets fastsignal's ``__init__`` (a lock and
  ``use_caching``; the registry is created on first use);
- subclasses (``ModelSignal`` and third-party ones) inherit all of it; their own
  overrides still win, and ``ModelSignal.connect``'s ``super().connect`` is ours.

Replaced methods (monitoring SDKs)
==================================

Sentry's Django integration (and similar tools) replace ``Signal._live_receivers``
on the class with a wrapper that calls the previous function, kept in a closure.

- Wrapped after install: the engine sees that ``_live_receivers`` is not its own
  and sends through the wrapper (receivers are then looked up once per send, as
  Django does); ``has_listeners`` asks it too.
- Wrapped before install (``sentry_sdk.init()`` at the top of ``settings.py`` runs
  before any app's ``ready()``): the wrapper would call Django's own
  ``_live_receivers``, which cannot read fastsignal's registry. ``install()``
  leaves the wrapper on the class and points the closure cell that holds Django's
  function at fastsignal's instead, so the wrapper keeps wrapping.
  ``uninstall()`` points it back. The same is done for every attribute install
  replaces.
- A wrapper whose inner function cannot be found (not in a closure reachable
  from it, directly or through ``__wrapped__``) is not overwritten: ``install()``
  warns (``FastSignalWarning``), changes nothing and returns ``False``.

fastsignal's extras
===================

Django's signals get all of ``fastsignal.Signal``'s methods, the extras included
(``connect(..., on_commit=True)``, ``send_on_commit``). ``ModelSignal.connect``
has its own signature and does not pass ``on_commit`` on. ``uninstall()``
disconnects on-commit receivers, which Django's dispatcher cannot run, and warns
(``FastSignalWarning``) naming them.

Django 5.2
==========

fastsignal's ``receivers`` items use Django 6's layout, ``(lookup_key,
receiver_or_ref, sender_ref, is_async)``, on 5.2 as well; 5.2's 3-tuples that
were connected before install (or assigned later) are accepted. ``[0]`` and
``[1]`` mean the same in both. ``uninstall()`` writes each list back in the
layout of the running Django version, with Django's own dead-receiver hooks.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import gc
import inspect
import threading
import warnings
import weakref
from types import MethodType
from typing import TYPE_CHECKING, Any

from .. import _engine
from .._common import REGISTRY_ATTR, ReceiverItem
from ..dispatcher import ENGINE_ATTRIBUTES, engine_attributes
from ..dispatcher import Signal as _FastSignal

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable
    from types import CellType

    from django.apps.registry import Apps
    from django.db.models import Model
    from django.db.models.signals import ModelSignal
    from django.dispatch import Signal as DjangoSignal

    from .._types import Engine, ReceiversItem

__all__ = [
    "FastSignalWarning",
    "accelerated_signals",
    "install",
    "is_accelerated",
    "is_installed",
    "module_signals",
    "uninstall",
]

#: ``fastsignal.Signal``'s own Python methods (``__init__``, ``connect``,
#: ``disconnect``, ``asend``, ...), installed on Django's class as well. They reach
#: the registry only through the engine's attributes, so they serve both classes.
SIGNAL_METHODS = tuple(
    name
    for name, value in vars(_FastSignal).items()
    if inspect.isfunction(value)
    and (name == "__init__" or not name.startswith("__"))
    and name not in ENGINE_ATTRIBUTES  # ``connect`` with the pure-Python engine
)

_MISSING = object()
_DJANGO_MODULE = "django.dispatch.dispatcher"


class FastSignalWarning(RuntimeWarning):
    """``install()`` or ``uninstall()`` could not keep something as it was.

    ``install()``: a replacement of a ``Signal`` method by other code whose inner
    function it cannot find (nothing is installed). ``uninstall()``: on-commit
    receivers (disconnected) or such a replacement made after install.
    """


class _State:
    def __init__(self) -> None:
        self.installed = False
        self.engine: Engine | None = None
        #: name -> the attribute install set (or meant to set) on Django's class
        self.attributes: dict[str, Any] = {}
        #: name -> what Django's class ``__dict__`` held before install, or _MISSING
        self.saved: dict[str, object] = {}
        #: (cell, previous contents, name): closure cells of third-party wrappers
        #: that install pointed at fastsignal's attribute
        self.repointed: list[tuple[CellType, object, str]] = []
        #: ``ModelSignal.connect`` before install
        self.model_connect: Callable[..., None] | None = None


_state = _State()
_lock = threading.RLock()


def _django_signal_class() -> type[DjangoSignal]:
    from django.dispatch.dispatcher import Signal

    return Signal


def _is_django_own(value: object, name: str) -> bool:
    """Whether ``value`` is Django's own ``Signal.<name>`` function."""
    return (
        inspect.isfunction(value)
        and value.__module__ == _DJANGO_MODULE
        and value.__qualname__ == f"Signal.{name}"
    )


def _find_cells(root: object, predicate: Callable[..., bool], limit: int = 64) -> list[CellType]:
    """Closure cells reachable from ``root`` whose contents satisfy ``predicate``.

    Follows functions found in closures and ``__wrapped__`` attributes, visiting
    at most ``limit`` objects.
    """
    cells: list[CellType] = []
    seen: set[int] = set()
    pending = [root]
    while pending and len(seen) < limit:
        func = pending.pop()
        if id(func) in seen:
            continue
        seen.add(id(func))
        func = getattr(func, "__func__", func)  # staticmethod, classmethod, bound method
        for cell in getattr(func, "__closure__", None) or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if predicate(contents):
                cells.append(cell)
            elif callable(contents):
                pending.append(contents)
        wrapped = getattr(func, "__wrapped__", None)
        if wrapped is not None:
            pending.append(wrapped)
    return cells


def _attributes_for(engine: Engine) -> dict[str, Any]:
    attributes = engine_attributes(engine)
    for name in SIGNAL_METHODS:
        attributes[name] = _FastSignal.__dict__[name]
    return attributes


def _model_signal_connect(
    self: ModelSignal,
    receiver: Callable[..., Any],
    sender: type[Model] | str | None = None,
    weak: bool = True,
    dispatch_uid: Hashable | None = None,
    apps: Apps | None = None,
    on_commit: bool = False,
    priority: int = 0,
    background: bool | dict[str, Any] = False,
) -> None:
    """``ModelSignal.connect`` that also passes fastsignal's own options on
    (``on_commit``, ``priority``, ``background``; lazy senders kept)."""
    self._lazy_method(  # type: ignore[attr-defined]  # Django's, not in django-stubs
        MethodType(_deferred_connect, self),
        apps,
        receiver,
        sender,
        weak=weak,
        dispatch_uid=dispatch_uid,
        on_commit=on_commit,
        priority=priority,
        background=background,
    )


def _deferred_connect(
    self: ModelSignal, receiver: Callable[..., Any], sender: Any, **options: Any
) -> None:
    """``Signal.connect``, as a model signal defers it until a lazy sender's model loads.

    Named as Django's own (``django.dispatch.dispatcher``, ``connect``): that is how
    Django's ``_check_lazy_references`` recognises a connect still waiting for a
    model that does not exist, and reports it as signals.E001 with the receiver
    and the signal's name, instead of a generic models.E022.
    """
    # The engine's connect, installed on Django's class.
    _django_signal_class().connect(self, receiver, sender, **options)


_deferred_connect.__module__ = _DJANGO_MODULE
_deferred_connect.__name__ = "connect"


def _swap_model_signal_connect(install: bool) -> None:
    """Install or restore ``ModelSignal.connect`` (Django's has no ``on_commit``)."""
    from django.db.models.signals import ModelSignal

    # Assigning to a method is what install() is for: mypy flags it (method-assign).
    if install:
        _state.model_connect = ModelSignal.__dict__["connect"]
        ModelSignal.connect = _model_signal_connect  # type: ignore[method-assign]
    elif _state.model_connect is not None:
        ModelSignal.connect = _state.model_connect  # type: ignore[method-assign]


def install(engine: Engine | None = None) -> bool:
    """Make every ``django.dispatch.Signal`` dispatch through fastsignal's engine.

    Covers the signals that exist (with their receivers) and those created later.
    Takes effect at once, for every thread; call it at startup, before other
    threads send (the class attributes are replaced one by one). Installing again
    does nothing.

    ``engine`` is the engine module to use (``fastsignal._engine_py`` for
    comparison); by default the one fastsignal selected (``fastsignal._engine.engine``).

    Returns ``True`` when fastsignal is installed, ``False`` when it refused to
    (a third-party replacement of a ``Signal`` method that it could not keep;
    see ``FastSignalWarning``), in which case nothing was changed.
    """
    with _lock:
        if _state.installed:
            if engine is not None and engine is not _state.engine:
                raise ValueError(
                    "fastsignal is installed with another engine; call uninstall() first"
                )
            return True
        engine = engine if engine is not None else _engine.engine
        cls = _django_signal_class()
        attributes = _attributes_for(engine)
        saved: dict[str, object] = {}
        to_set: dict[str, Any] = {}
        repointed: list[tuple[CellType, object, str]] = []
        refused: list[tuple[str, object]] = []
        for name, value in attributes.items():
            current = cls.__dict__.get(name, _MISSING)
            saved[name] = current
            if current is _MISSING or current is value or _is_django_own(current, name):
                to_set[name] = value
                continue
            # A third-party wrapper: keep it, and point it at our function.
            cells = _find_cells(current, lambda v, n=name: _is_django_own(v, n))
            if cells:
                repointed.extend((cell, cell.cell_contents, name) for cell in cells)
            else:
                refused.append((name, current))
        if refused:
            described = ", ".join(f"Signal.{name} = {value!r}" for name, value in refused)
            warnings.warn(
                "fastsignal.django.install() left Django's dispatcher in place: "
                f"{described} was replaced by other code and its inner function "
                "could not be found. Install fastsignal before that code runs "
                "(for example, call fastsignal.django.install() at the top of the "
                "settings module).",
                FastSignalWarning,
                stacklevel=2,
            )
            return False
        for cell, _previous, name in repointed:
            cell.cell_contents = attributes[name]
        for name, value in to_set.items():
            setattr(cls, name, value)
        _swap_model_signal_connect(True)
        _state.engine = engine
        _state.attributes = attributes
        _state.saved = saved
        _state.repointed = repointed
        _state.installed = True
        return True


def uninstall() -> bool:
    """Put Django's own dispatcher back; return whether fastsignal was installed.

    Every signal keeps its receivers: each one that fastsignal's engine used gets
    its ``receivers`` list back in Django's item layout (5.2: ``(key, ref,
    is_async)``, 6.x: ``(key, ref, sender_ref, is_async)``) and a fresh
    ``sender_receivers_cache``. Meant for tests and for switching off at startup:
    no other thread may use a signal while it runs.
    """
    with _lock:
        if not _state.installed:
            return False
        cls = _django_signal_class()
        engine: Engine = _state.engine  # type: ignore[assignment]  # set while installed
        # 1. Read each signal's receivers while fastsignal's attributes are in place.
        snapshots: list[tuple[Any, list[ReceiversItem]]] = []
        for signal in _django_signals(cls):
            state = signal.__dict__
            if REGISTRY_ATTR in state:
                with signal.lock:
                    engine._clear_dead_receivers(signal)
                    items = list(engine.receivers.__get__(signal, type(signal)))
                snapshots.append((signal, items))
            elif "receivers" not in state:  # created after install, never used
                snapshots.append((signal, []))
        # 2. Restore the classes.
        _restore_class(cls)
        _swap_model_signal_connect(False)
        # 3. Give each signal Django's state, with Django's dead-receiver hooks.
        import django

        new_layout = django.VERSION >= (6, 0)
        dropped: list[str] = []
        for signal, items in snapshots:
            dropped.extend(_restore_signal_state(signal, items, new_layout))
        _state.__init__()  # type: ignore[misc]  # back to the initial state, in place
        if dropped:
            warnings.warn(
                "fastsignal.django.uninstall() disconnected receivers connected with "
                "on_commit=True, which Django's dispatcher cannot run after commit: "
                + ", ".join(dropped),
                FastSignalWarning,
                stacklevel=2,
            )
        return True


def _django_signals(cls: type[DjangoSignal]) -> list[Any]:
    # Any: the private attributes read and written by uninstall() vary with
    # Django's version, and django-stubs declares none of them.
    return [obj for obj in gc.get_objects() if issubclass(type(obj), cls)]


def _restore_class(cls: type[DjangoSignal]) -> None:
    repointed_ids = {id(cell) for cell, _previous, _name in _state.repointed}
    for name, ours in _state.attributes.items():
        saved = _state.saved[name]
        current = cls.__dict__.get(name, _MISSING)
        if current is saved and saved is not ours:
            continue  # a wrapper kept at install: its cells are restored below
        if current is not ours and current is not _MISSING:
            # Wrapped after install: point the wrapper at Django's implementation.
            django_impl = _django_implementation(name)
            cells = [
                cell
                for cell in _find_cells(current, lambda v, o=ours: v is o)
                if id(cell) not in repointed_ids
            ]
            if cells and django_impl is not _MISSING:
                for cell in cells:
                    cell.cell_contents = django_impl
                continue
            warnings.warn(
                f"fastsignal.django.uninstall() replaced Signal.{name} = {current!r}, "
                "set after install, by Django's own.",
                FastSignalWarning,
                stacklevel=3,
            )
        # Django's own (a wrapper kept at install but replaced since is not restored).
        original = _django_implementation(name)
        if original is _MISSING:
            if name in cls.__dict__:
                delattr(cls, name)
        else:
            setattr(cls, name, original)
    for cell, previous, _name in _state.repointed:
        cell.cell_contents = previous


def _django_implementation(name: str) -> object:
    """Django's own ``Signal.<name>`` as it was before install, or ``_MISSING``."""
    saved = _state.saved[name]
    if saved is _MISSING or _is_django_own(saved, name):
        return saved
    for _cell, previous, cell_name in _state.repointed:
        if cell_name == name:
            return previous
    return _MISSING


def _restore_signal_state(signal: Any, items: list[ReceiversItem], new_layout: bool) -> list[str]:
    """Write Django's state into ``signal``; return the names of dropped receivers."""
    state = signal.__dict__
    state.pop(REGISTRY_ATTR, None)
    if "lock" not in state:
        state["lock"] = threading.Lock()
    use_caching = state.setdefault("use_caching", False)
    receivers: list[ReceiversItem] = []
    dropped: list[str] = []
    item: ReceiversItem | None
    for item in items:
        if isinstance(item, ReceiverItem) and item.on_commit:
            target = item[1]
            if isinstance(target, weakref.ReferenceType):
                target = target()
            if target is not None:
                dropped.append(getattr(target, "__qualname__", repr(target)))
            continue
        item = _django_item(signal, item, new_layout)
        if item is not None:
            receivers.append(item)
    state["receivers"] = receivers
    state["sender_receivers_cache"] = weakref.WeakKeyDictionary() if use_caching else {}
    state["_dead_receivers"] = False
    return dropped


def _django_item(signal: Any, item: ReceiversItem, new_layout: bool) -> ReceiversItem | None:
    """One ``receivers`` item in Django's layout, or ``None`` if it has died."""
    key, target = item[0], item[1]
    if len(item) >= 4:
        sender_ref, is_async = item[2], item[3]
    else:
        sender_ref, is_async = None, item[2]
    if isinstance(target, weakref.ReferenceType):
        referent = target()
        if referent is None:
            return None
        kind = type(target)
        if kind is weakref.ref or kind is weakref.WeakMethod:
            # Replace fastsignal's weak reference (its callback reports to the
            # registry) with one made the way Django's connect makes them.
            if new_layout:
                target = kind(referent, signal._flag_dead_receivers)
            else:
                target = kind(referent)
                owner = referent.__self__ if kind is weakref.WeakMethod else referent
                weakref.finalize(owner, signal._remove_receiver)
    if sender_ref is not None:
        sender = sender_ref()
        if sender is None:
            return None
        sender_ref = weakref.ref(sender, signal._flag_dead_receivers) if new_layout else None
    if new_layout:
        return (key, target, sender_ref, is_async)
    return (key, target, is_async)


def is_installed() -> bool:
    """Whether ``install()`` is in effect (``uninstall()`` not called since)."""
    return _state.installed


def is_accelerated(signal: object) -> bool:
    """Whether sends of ``signal`` run through fastsignal's engine.

    True for Django signals once installed (unless their class overrides
    ``send``, ``send_robust`` or ``has_listeners``) and for ``fastsignal.Signal``.
    A ``_live_receivers`` override (a monitoring tool) is honoured by the engine:
    such a signal is still accelerated, but looks its receivers up through the
    override on every send.
    """
    # _state.engine is set while installed.
    engine: Engine = _state.engine if _state.installed else _engine.engine  # type: ignore[assignment]
    cls = type(signal)
    if inspect.getattr_static(cls, "receivers", None) is not engine.receivers:
        return False
    return all(
        getattr(cls, name, None) is getattr(engine, name)
        for name in ("send", "send_robust", "has_listeners")
    )


def module_signals(prefix: str = "") -> list[tuple[str, DjangoSignal]]:
    """``[(qualified_name, signal), ...]`` for module-level ``django.dispatch.Signal`` objects.

    Looks at the modules already imported (``sys.modules``) whose name starts
    with ``prefix``. A signal reachable under several names is listed once, under
    the name of the module that looks like its home (``….signals``).
    """
    from ..introspect import signals

    try:
        cls = _django_signal_class()
    except ImportError:
        return []
    return signals(prefix, (cls,))


def accelerated_signals(prefix: str = "") -> list[tuple[str, DjangoSignal]]:
    """The ``module_signals(prefix)`` whose sends run through fastsignal's engine."""
    return [(name, signal) for name, signal in module_signals(prefix) if is_accelerated(signal)]
