"""The Python frame of a compiled ``send`` and ``send_robust``.

Django's ``Signal.send`` and ``send_robust`` are Python functions that call each
receiver from their own frame, and receivers count on it: Django's
``complex_setting_changed`` warns with a ``stacklevel`` that points at the line
calling ``override_settings``, one frame above ``send``. The compiled engine's
send is C code, which is no frame, so it calls the sync receivers through one
of these, and a receiver sees exactly one Python frame between itself and the
caller of ``send``, as with Django (and with the pure-Python engine). Nothing
else may call them.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


def send(run: Callable[[object], Any], delivery: object) -> Any:
    """Call the receivers of one ``send``: ``run(delivery)``, both from the compiled engine."""
    return run(delivery)


def send_robust(run: Callable[[object], Any], delivery: object) -> Any:
    """Call the receivers of one ``send_robust``: ``run(delivery)``, as ``send``."""
    return run(delivery)
