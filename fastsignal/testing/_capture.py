"""``capture()``: a record of a signal's sends, with assertion helpers.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from types import TracebackType
from typing import Any, overload

from .._common import make_id, signal_name
from ._interception import (
    _MISSING,
    SendMethod,
    _add,
    _check_interceptable,
    _describe_value,
    _remove,
    _sender_for,
)


def _same(expected: object, actual: object) -> bool:
    if expected is actual:
        return True
    try:
        return bool(expected == actual)
    except Exception:
        return False


class CapturedSend:
    """One send recorded by a ``SignalCapture``.

    ``signal``
        the signal sent.
    ``sender``
        the sender.
    ``kwargs``
        the named arguments (a copy, without ``sender``).
    ``method``
        ``"send"``, ``"send_robust"``, ``"asend"`` or ``"asend_robust"``.
    ``responses``
        ``[(receiver, response), ...]`` as the send returned it (a copy);
        ``None`` if the send raised or is still running.
    ``exception``
        what the send raised, or ``None``.
    ``muted``
        whether a ``muted`` helper kept the receivers from running (the send
        returned ``[]``).
    """

    __slots__ = ("exception", "kwargs", "method", "muted", "responses", "sender", "signal")

    def __init__(
        self,
        signal: Any,
        sender: Any,
        kwargs: dict[str, Any],
        method: SendMethod,
        muted: bool = False,
    ) -> None:
        self.signal = signal
        self.sender = sender
        self.kwargs = kwargs
        self.method: SendMethod = method
        self.muted = muted
        self.responses: list[tuple[Any, Any]] | None = None
        self.exception: BaseException | None = None

    def matches(self, sender: Any = _MISSING, **kwargs: Any) -> bool:
        """Whether this send was from ``sender`` (if given) with ``kwargs`` among its arguments.

        Values compare with ``==``, so ``unittest.mock.ANY`` matches anything.
        """
        if sender is not _MISSING and not _same(sender, self.sender):
            return False
        for name, expected in kwargs.items():
            actual = self.kwargs.get(name, _MISSING)
            if actual is _MISSING or not _same(expected, actual):
                return False
        return True

    def describe(self) -> str:
        """The send as a call: ``send(sender=<class 'User'>, created=True)``."""
        arguments = [f"sender={_describe_value(self.sender)}"]
        arguments += [f"{name}={_describe_value(value)}" for name, value in self.kwargs.items()]
        return f"{self.method}({', '.join(arguments)})"

    def __repr__(self) -> str:
        if self.exception is not None:
            outcome = f"raised {self.exception!r}"
        elif self.responses is None:
            outcome = "running"
        elif self.muted:
            outcome = "muted"
        else:
            count = len(self.responses)
            outcome = f"{count} response{'' if count == 1 else 's'}"
        return f"<CapturedSend {self.describe()}: {outcome}>"


class SignalCapture(Sequence[CapturedSend]):
    """The sends of one signal recorded while active; what ``capture()`` returns.

    A sequence of ``CapturedSend`` in the order the sends started: ``len()``,
    iteration and indexing. The sends themselves are not changed: receivers run
    and responses and exceptions reach the caller as without it.

    A context manager (``with capture(signal) as sent: ...``); ``start()`` and
    ``stop()`` do the same by hand, and do nothing when already done, so an
    object that is active already (from the ``capture_signal`` fixture) can
    still be used in a ``with`` statement, which stops it at the end. Records
    stay readable after it stops.
    """

    def __init__(self, signal: Any, sender: Any = None) -> None:
        """Capture the sends of ``signal`` (only those from ``sender``, when given)."""
        _check_interceptable(signal)
        self.signal = signal
        self.sender = sender
        self._sender_key: Hashable | None = None if sender is None else make_id(sender)
        self._records: list[CapturedSend] = []
        self._active = False

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether sends are being recorded right now."""
        return self._active

    def start(self) -> None:
        """Start recording (nothing happens if recording already)."""
        if not self._active:
            if isinstance(self.sender, str):  # a model signal's lazy sender: the model now
                sender = _sender_for(self.signal, self.sender, "capture")
                self._sender_key = make_id(sender)
            _add(self.signal, self)
            self._active = True

    def stop(self) -> None:
        """Stop recording (nothing happens if not recording); the records are kept."""
        if self._active:
            self._active = False
            _remove(self.signal, self)

    def __enter__(self) -> SignalCapture:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _begin(
        self, method: SendMethod, sender: Any, named: dict[str, Any], muted: bool
    ) -> CapturedSend:
        record = CapturedSend(self.signal, sender, dict(named), method, muted)
        self._records.append(record)
        return record

    # -- the records -------------------------------------------------------------------

    @property
    def records(self) -> list[CapturedSend]:
        """The records so far (a new list)."""
        return list(self._records)

    def clear(self) -> None:
        """Forget the records so far."""
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[CapturedSend]:
        return iter(list(self._records))

    @overload
    def __getitem__(self, index: int) -> CapturedSend: ...
    @overload
    def __getitem__(self, index: slice) -> list[CapturedSend]: ...
    def __getitem__(self, index: int | slice) -> CapturedSend | list[CapturedSend]:
        return self._records[index]

    def __bool__(self) -> bool:
        return bool(self._records)

    def matching(self, sender: Any = _MISSING, **kwargs: Any) -> list[CapturedSend]:
        """The records of sends from ``sender`` (if given) with ``kwargs`` among their arguments."""
        return [record for record in self._records if record.matches(sender, **kwargs)]

    # -- assertions --------------------------------------------------------------------

    def assert_sent(self, sender: Any = _MISSING, **kwargs: Any) -> CapturedSend:
        """Assert that some send was from ``sender`` (if given) with ``kwargs`` among its arguments.

        Values compare with ``==``; arguments not named are not checked. Returns
        the first matching record. The ``AssertionError`` lists what was sent.
        """
        __tracebackhide__ = True  # pytest: the failure points at the caller
        found = self.matching(sender, **kwargs)
        if not found:
            raise AssertionError(
                self._failure(
                    f"expected {self._name()} to be sent", sender, kwargs, "no send matched"
                )
            )
        return found[0]

    def assert_sent_once(self, sender: Any = _MISSING, **kwargs: Any) -> CapturedSend:
        """Assert that exactly one send matched (as ``assert_sent``); return its record."""
        __tracebackhide__ = True  # pytest: the failure points at the caller
        found = self.matching(sender, **kwargs)
        if len(found) != 1:
            outcome = "no send matched" if not found else self._matched(found)
            raise AssertionError(
                self._failure(f"expected {self._name()} to be sent once", sender, kwargs, outcome)
            )
        return found[0]

    def assert_not_sent(self, sender: Any = _MISSING, **kwargs: Any) -> None:
        """Assert that no send matched (as ``assert_sent``).

        With no arguments: that nothing was sent at all.
        """
        __tracebackhide__ = True  # pytest: the failure points at the caller
        found = self.matching(sender, **kwargs)
        if found:
            raise AssertionError(
                self._failure(
                    f"expected {self._name()} not to be sent", sender, kwargs, self._matched(found)
                )
            )

    def _name(self) -> str:
        return signal_name(self.signal)

    def _matched(self, found: list[CapturedSend]) -> str:
        positions = ", ".join(f"[{self._records.index(record)}]" for record in found)
        return f"{len(found)} send{'s' if len(found) != 1 else ''} matched ({positions})"

    def _failure(self, expected: str, sender: Any, kwargs: dict[str, Any], outcome: str) -> str:
        criteria = []
        if sender is not _MISSING:
            criteria.append(f"sender={_describe_value(sender)}")
        criteria += [f"{name}={_describe_value(value)}" for name, value in kwargs.items()]
        lines = [f"{expected}{' with ' + ', '.join(criteria) if criteria else ''}; {outcome}."]
        scope = "" if self.sender is None else f" from sender={_describe_value(self.sender)}"
        if not self._records:
            lines.append(f"Recorded sends{scope}: none.")
        else:
            lines.append(f"Recorded sends{scope} ({len(self._records)}):")
            lines += [f"  [{i}] {record.describe()}" for i, record in enumerate(self._records)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        scope = "" if self.sender is None else f", sender={_describe_value(self.sender)}"
        state = "active" if self._active else "stopped"
        count = len(self._records)
        return (
            f"<SignalCapture {self._name()}{scope} ({state}, "
            f"{count} send{'' if count == 1 else 's'})>"
        )


def capture(signal: Any, sender: Any = None) -> SignalCapture:
    """Record the sends of ``signal`` (only those from ``sender``, when given) in a ``with`` block.

    ::

        with capture(post_save, sender=User) as sent:
            User.objects.create(username="alice")
        sent.assert_sent_once(created=True)
        assert sent[0].kwargs["instance"].username == "alice"

    Records ``send``, ``send_robust``, ``asend`` and ``asend_robust`` without
    changing them: receivers run, and responses and exceptions are what they
    would be. The returned ``SignalCapture`` starts recording when the block is
    entered (or on ``start()``); see it and ``CapturedSend`` for what is recorded.
    """
    return SignalCapture(signal, sender=sender)
