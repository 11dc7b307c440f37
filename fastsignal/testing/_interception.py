"""What ``muted`` and ``capture`` share: the interception of a signal's send methods.

One ``_Interception`` per signal instance holds the wrappers set on it and the
helpers (mutes, captures) they serve; ``_add``/``_remove`` register a helper
and install or remove the wrappers (see "How it works" in ``fastsignal.testing``).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import inspect
import reprlib
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Literal, cast

from .._common import make_id, signal_name

if TYPE_CHECKING:
    from ._capture import CapturedSend, SignalCapture


#: The name of a send method, as ``CapturedSend.method`` holds it.
SendMethod = Literal["send", "send_robust", "asend", "asend_robust"]
_SYNC_METHODS: tuple[SendMethod, ...] = ("send", "send_robust")
_ASYNC_METHODS: tuple[SendMethod, ...] = ("asend", "asend_robust")
_INTERCEPTED = (*_SYNC_METHODS, *_ASYNC_METHODS, "has_listeners")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 8


def _describe_value(value: object) -> str:
    """A short repr; a broken ``__repr__`` gives ``<Class instance at 0x...>``."""
    return _repr.repr(value)


def _is_coroutine_function(func: object) -> bool:
    """``inspect.iscoroutinefunction``, honouring asgiref's ``markcoroutinefunction``."""
    if inspect.iscoroutinefunction(func):
        return True
    try:
        from asgiref.sync import iscoroutinefunction
    except ImportError:
        return False
    return iscoroutinefunction(func)


def _class_attribute(cls: type, name: str) -> Any:
    """``name`` as the class defines it (the raw descriptor), or ``_MISSING``."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return _MISSING


def _check_interceptable(signal: object) -> None:
    """Raise ``TypeError`` unless instance attributes can shadow ``signal``'s send methods."""
    cls = type(signal)
    if _class_attribute(cls, "send") is _MISSING:
        raise TypeError(f"expected a signal (an object with a send() method), got {signal!r}")
    if not isinstance(getattr(signal, "__dict__", None), dict):
        raise TypeError(
            f"cannot intercept {signal!r}: its class {cls.__qualname__} gives instances "
            "no __dict__ to hold the wrappers"
        )
    for name in _INTERCEPTED:
        attribute = _class_attribute(cls, name)
        kind = type(attribute)
        if attribute is not _MISSING and (hasattr(kind, "__set__") or hasattr(kind, "__delete__")):
            raise TypeError(
                f"cannot intercept {signal!r}: {cls.__qualname__}.{name} is a data "
                f"descriptor ({kind.__qualname__}), which an instance attribute cannot shadow"
            )


def _split_send(args: tuple[Any, ...], named: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
    """``(sender, named)`` of a call ``send(sender, **named)``, or ``None`` if it does not fit."""
    if len(args) == 1:
        if "sender" in named:
            return None
        return args[0], named
    if not args and "sender" in named:
        named = dict(named)
        return named.pop("sender"), named
    return None


def _split_has_listeners(args: tuple[Any, ...], named: dict[str, Any]) -> tuple[Any] | None:
    """``(sender,)`` of ``has_listeners(sender=None)``, or ``None`` if the call does not fit."""
    if not named:
        if not args:
            return (None,)
        if len(args) == 1:
            return (args[0],)
    elif not args and len(named) == 1 and "sender" in named:
        return (named["sender"],)
    return None


def _lazy_model(signal: Any, sender: Any, apps: Any = None) -> Any:
    """The model named by a model signal's lazy ``"app_label.Model"`` sender, as
    ``connect`` resolves it; ``sender`` itself for any other signal or sender.

    Raises ``LookupError`` (or Django's ``AppRegistryNotReady``) when the model
    cannot be found.
    """
    if not isinstance(sender, str) or not hasattr(signal, "_lazy_method"):
        return sender
    if apps is None:
        from django.apps import apps
    return apps.get_model(sender)


def _sender_for(signal: Any, sender: Any, helper: str) -> Any:
    """``sender`` for a helper's scope on ``signal``: a lazy model sender resolved."""
    try:
        return _lazy_model(signal, sender)
    except ValueError as err:  # Django's get_model() on a string without one dot
        problem: Exception = err
        reason = "it is not of the form 'app_label.ModelName'"
    except LookupError as err:
        problem = err
        reason = str(err)
    raise LookupError(
        f"{helper}(..., sender={sender!r}): a string sender of the model signal "
        f"{signal_name(signal)} names a model, and {reason}"
    ) from problem


class _Mute:
    """One signal muted by a ``MutedSignals``: for every sender, or for one."""

    __slots__ = ("sender", "sender_key")

    def __init__(self, sender: Any) -> None:
        self.sender = sender  # kept alive, so that its id() stays its own
        self.sender_key: Hashable | None = None if sender is None else make_id(sender)


class _Interception:
    """The wrappers set on one signal instance, and the helpers they serve."""

    def __init__(self, signal: Any) -> None:
        self.signal = signal
        self.mutes: tuple[_Mute, ...] = ()
        self.captures: tuple[SignalCapture, ...] = ()
        #: name -> the instance attribute the wrapper shadows, or _MISSING
        self.previous: dict[str, Any] = {}
        #: name -> the wrapper set on the instance
        self.wrappers: dict[str, Callable[..., Any]] = {}

    # -- install / uninstall (under _lock) ---------------------------------------------

    def install(self) -> None:
        _check_interceptable(self.signal)
        cls = type(self.signal)
        state: dict[str, Any] = self.signal.__dict__
        wrappers: dict[str, Callable[..., Any]] = {}
        for name in _INTERCEPTED:
            original = _class_attribute(cls, name)
            if original is _MISSING:
                continue  # a signal class without this method: nothing to shadow
            if name in _SYNC_METHODS:
                wrapper = self._sync_wrapper(name)
            elif name in _ASYNC_METHODS:
                wrapper = self._async_wrapper(name)
            else:
                wrapper = self._has_listeners_wrapper()
            for attr in ("__name__", "__qualname__", "__doc__"):
                try:
                    setattr(wrapper, attr, getattr(original, attr))
                except (AttributeError, TypeError):
                    pass
            wrappers[name] = wrapper
        try:
            for name, wrapper in wrappers.items():
                self.previous[name] = state.get(name, _MISSING)
                self.wrappers[name] = wrapper
                setattr(self.signal, name, wrapper)
                if getattr(self.signal, name) is not wrapper:  # a __getattribute__ of its own
                    raise TypeError(f"cannot intercept {self.signal!r}: {name} is not shadowed")
        except BaseException:
            self.uninstall()
            raise

    def uninstall(self) -> None:
        """Take the wrappers off the instance, putting back what each one shadowed.

        ``previous`` is kept: a wrapper that other code puts back later passes
        calls through to it.
        """
        state: dict[str, Any] = self.signal.__dict__
        for name, wrapper in self.wrappers.items():
            if state.get(name) is not wrapper:
                continue  # replaced by other code since: leave its replacement alone
            previous = self.previous[name]
            if previous is _MISSING:
                delattr(self.signal, name)
            else:
                setattr(self.signal, name, previous)

    # -- calls --------------------------------------------------------------------------

    def inner(self, name: str) -> Callable[..., Any]:
        """What the wrapper for ``name`` shadows, bound to the signal."""
        previous = self.previous.get(name, _MISSING)
        if previous is not _MISSING:
            return cast("Callable[..., Any]", previous)
        cls = type(self.signal)
        attribute = _class_attribute(cls, name)
        getter = getattr(type(attribute), "__get__", None)
        if getter is None:
            return cast("Callable[..., Any]", attribute)
        return cast("Callable[..., Any]", getter(attribute, self.signal, cls))

    def is_muted(self, sender: Any) -> bool:
        """Whether a mute registered now covers sends from ``sender``."""
        key: Any = _MISSING
        for mute in self.mutes:
            if mute.sender_key is None:
                return True
            if key is _MISSING:
                key = make_id(sender)
            if mute.sender_key == key:
                return True
        return False

    def begin(
        self, method: SendMethod, sender: Any, named: dict[str, Any]
    ) -> tuple[bool, list[CapturedSend]]:
        """Whether a send from ``sender`` is muted, and the records started for it."""
        muted = self.is_muted(sender)
        records = []
        key: Any = _MISSING
        for capture in self.captures:
            if capture._sender_key is not None:
                if key is _MISSING:
                    key = make_id(sender)
                if capture._sender_key != key:
                    continue
            records.append(capture._begin(method, sender, named, muted))
        return muted, records

    def _sync_wrapper(self, method: SendMethod) -> Callable[..., Any]:
        def wrapper(*args: Any, **named: Any) -> Any:
            inner = self.inner(method)
            call = _split_send(args, named)
            if call is None:
                return inner(*args, **named)
            muted, records = self.begin(method, *call)
            if muted:
                responses: Any = []
            else:
                try:
                    responses = inner(*args, **named)
                except BaseException as exc:
                    for record in records:
                        record.exception = exc
                    raise
            for record in records:
                record.responses = list(responses)
            return responses

        return wrapper

    def _async_wrapper(self, method: SendMethod) -> Callable[..., Any]:
        async def wrapper(*args: Any, **named: Any) -> Any:
            inner = self.inner(method)
            call = _split_send(args, named)
            if call is None:
                return await inner(*args, **named)
            muted, records = self.begin(method, *call)
            if muted:
                responses: Any = []
            else:
                try:
                    responses = await inner(*args, **named)
                except BaseException as exc:
                    for record in records:
                        record.exception = exc
                    raise
            for record in records:
                record.responses = list(responses)
            return responses

        return wrapper

    def _has_listeners_wrapper(self) -> Callable[..., Any]:
        def has_listeners(*args: Any, **named: Any) -> Any:
            inner = self.inner("has_listeners")
            call = _split_has_listeners(args, named)
            if call is not None and self.is_muted(call[0]):
                return False
            return inner(*args, **named)

        return has_listeners


#: id(signal) -> its interception, while a helper is active on it (the
#: interception holds the signal, so the id stays its own).
_interceptions: dict[int, _Interception] = {}
_lock = threading.Lock()


def _add(signal: Any, layer: _Mute | SignalCapture) -> None:
    with _lock:
        interception = _interceptions.get(id(signal))
        if interception is None:
            interception = _Interception(signal)
            interception.install()
            _interceptions[id(signal)] = interception
        if isinstance(layer, _Mute):
            interception.mutes = (*interception.mutes, layer)
        else:
            interception.captures = (*interception.captures, layer)


def _remove(signal: Any, layer: _Mute | SignalCapture) -> None:
    with _lock:
        interception = _interceptions.get(id(signal))
        if interception is None:
            return
        if isinstance(layer, _Mute):
            interception.mutes = tuple(m for m in interception.mutes if m is not layer)
        else:
            interception.captures = tuple(c for c in interception.captures if c is not layer)
        if not interception.mutes and not interception.captures:
            del _interceptions[id(signal)]
            interception.uninstall()


def active_signals() -> list[Any]:
    """The signals that a ``muted`` or ``capture`` helper is active on right now."""
    with _lock:
        return [interception.signal for interception in _interceptions.values()]
