"""Select the engine once, at import.

``FASTSIGNAL_NO_EXTENSIONS`` (any non-empty value) forces the pure-Python
engine; so does an interpreter other than CPython. Otherwise the compiled
engine is used when it was built, and the pure-Python one when it was not.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import os
import platform
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._types import Engine


def _load() -> tuple[Engine, str]:
    """Return ``(engine module, why it was chosen)``."""
    if os.environ.get("FASTSIGNAL_NO_EXTENSIONS"):
        from . import _engine_py

        return _engine_py, "FASTSIGNAL_NO_EXTENSIONS is set"
    if platform.python_implementation() != "CPython":
        from . import _engine_py

        return _engine_py, f"{platform.python_implementation()} runs the pure-Python engine"
    try:
        from . import _engine_c
    except ImportError as error:
        from . import _engine_py

        return _engine_py, f"the compiled engine is not installed ({error})"
    return _engine_c, "fastsignal._engine_c loaded"


#: The engine module in use (``_engine_c`` or ``_engine_py``), and why it was chosen.
engine, REASON = _load()
#: Whether the compiled engine is in use.
COMPILED = engine.COMPILED
