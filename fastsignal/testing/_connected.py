"""``connected()``: a receiver connected for the duration of a ``with`` block.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from .._common import make_id
from ._interception import _lazy_model

_R = TypeVar("_R", bound=Callable[..., Any])


def _is_connected(
    signal: Any, receiver: object, sender: Any, dispatch_uid: Any, apps: Any = None
) -> bool | None:
    """Whether ``receiver`` (or ``dispatch_uid``) is connected for ``sender`` already;
    ``None`` when that cannot be known (a lazy model sender not loaded yet)."""
    try:
        sender = _lazy_model(signal, sender, apps)
    except (LookupError, ValueError):
        return None  # a model signal's lazy "app_label.Model" sender, not loaded yet
    key = (dispatch_uid if dispatch_uid else make_id(receiver), make_id(sender))
    for item in list(getattr(signal, "receivers", ())):
        if item[0] != key:
            continue
        target = item[1]
        if isinstance(target, weakref.ReferenceType) and target() is None:
            continue
        return True
    return False


@contextmanager
def connected(signal: Any, receiver: _R, **connect_kwargs: Any) -> Iterator[_R]:
    """Connect ``receiver`` to ``signal`` for the duration of a ``with`` block.

    ::

        with connected(post_save, on_save, sender=User) as handler:
            ...

    ``connect_kwargs`` go to ``signal.connect`` (``sender``, ``weak``,
    ``dispatch_uid``, ``on_commit``, a model signal's ``apps``). Yields
    ``receiver``, which is disconnected afterwards, also when the block raises,
    with the same ``sender`` and ``dispatch_uid``. A receiver that was
    connected already (for that sender, or under that ``dispatch_uid``) stays
    connected afterwards. A weakly connected receiver stays alive for the block:
    ``connected`` holds it.
    """
    sender = connect_kwargs.get("sender")
    dispatch_uid = connect_kwargs.get("dispatch_uid")
    disconnect_kwargs: dict[str, Any] = {"sender": sender, "dispatch_uid": dispatch_uid}
    if "apps" in connect_kwargs:
        disconnect_kwargs["apps"] = connect_kwargs["apps"]
    already = _is_connected(signal, receiver, sender, dispatch_uid, connect_kwargs.get("apps"))
    signal.connect(receiver, **connect_kwargs)
    try:
        yield receiver
    finally:
        if not already:
            signal.disconnect(receiver, **disconnect_kwargs)
