"""The slow routes of a send: observed, through a replaced ``_live_receivers``, async, deferred.

The engines run the common send themselves: sync receivers, nothing observing.
Everything else a send may need goes through here, and this module calls into
``monitoring`` (the observers), ``_async`` (async receivers) and ``transaction``
(receivers deferred to commit), none of which imports it back. The engines sit
below it and do not import it either: importing this module hands its routes to
them (``set_routes``), and ``dispatcher`` imports it, so the routes are in place
before a signal exists. ``docs/development.md`` ("Floors") has the whole order.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _engine_py, monitoring
from ._common import call_receivers
from ._engine import engine
from .transaction import defer_receivers

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from ._types import Receiver, Responses, SignalLike


def _asend_to() -> Callable[..., Awaitable[Responses]]:
    """``_async.asend_to``; a ``ModuleNotFoundError`` saying what to install without asgiref."""
    global _asend_to_cached
    if _asend_to_cached is not None:  # an import statement costs every asend
        return _asend_to_cached
    try:
        from ._async import asend_to
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] != "asgiref":
            raise
        raise ModuleNotFoundError(
            "Signal.asend() and asend_robust() need asgiref, which is not installed: "
            "pip install asgiref (Django depends on it)",
            name="asgiref",
        ) from error
    _asend_to_cached = asend_to
    return asend_to


_asend_to_cached: Callable[..., Awaitable[Responses]] | None = None


def send_through_live_receivers(
    signal: SignalLike, sender: Any, named: dict[str, Any], robust: bool
) -> Responses:
    """Send by asking ``signal._live_receivers``, as Django does.

    The engines take this path only when ``_live_receivers`` has been replaced
    (monitoring tools wrap receivers that way), so the replacement is honoured,
    or when an observer is registered (``fastsignal.monitoring``).
    Receivers deferred to commit are not among the live receivers; the engine
    schedules them after this.
    """
    observers = monitoring._observers
    if observers:
        return monitoring.send_observed(signal, sender, named, robust, observers)
    sync_receivers, async_receivers = signal._live_receivers(sender)
    responses = call_receivers(signal, sender, named, sync_receivers, robust)
    if async_receivers:
        responses.extend(send_async_receivers(signal, sender, named, async_receivers, robust))
    return responses


def send_async_receivers(
    signal: SignalLike,
    sender: Any,
    named: dict[str, Any],
    receivers: Sequence[Receiver],
    robust: bool,
) -> Responses:
    """Run the async ``receivers`` of a ``send``/``send_robust`` (see ``fastsignal._async``)."""
    from ._async import send_async_receivers

    return send_async_receivers(signal, sender, named, receivers, robust)


#: The deferred route: ``defer(signal, sender, named, [(receiver, ref), ...], robust)``
#: schedules the receivers to run after commit and returns their responses. (The
#: engines reach a lone background receiver's ``defer`` before taking it.)
defer = defer_receivers


def asend(
    signal: SignalLike, sender: Any, named: dict[str, Any], robust: bool
) -> Awaitable[Responses]:
    """Body of ``Signal.asend``/``asend_robust``, which await what it returns.

    Calls the sync receivers together in one ``sync_to_async`` call, then the
    async ones concurrently, then schedules the deferred ones; returns
    ``[(receiver, response), ...]``. (A plain function returning the coroutine
    that does it: one coroutine less between the caller and the receivers.)
    """
    asend_to = _asend_to()
    observers = monitoring._observers
    if observers:
        return monitoring.asend_observed(signal, sender, named, robust, observers, defer)
    sync_receivers, async_receivers = signal._live_receivers(sender)
    return asend_to(signal, sender, named, robust, sync_receivers, async_receivers, defer)


_engine_py.set_routes(send_through_live_receivers, send_async_receivers, defer)
if engine is not _engine_py:
    engine.set_routes(send_through_live_receivers, send_async_receivers, defer)
