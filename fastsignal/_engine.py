"""Select the engine once, at import.

``FASTSIGNAL_NO_EXTENSIONS`` (any non-empty value) forces the pure-Python
engine; so does an interpreter other than CPython. Otherwise the compiled
engine is used when it was built, and the pure-Python one when it was not.
"""

import os
import platform


def _load():
    if os.environ.get("FASTSIGNAL_NO_EXTENSIONS") or (
        platform.python_implementation() != "CPython"
    ):
        from . import _engine_py

        return _engine_py
    try:
        from . import _engine_c
    except ImportError:
        from . import _engine_py

        return _engine_py
    return _engine_c


#: The engine module in use: ``_engine_c`` or ``_engine_py``.
engine = _load()
#: Whether the compiled engine is in use.
COMPILED = engine.COMPILED
