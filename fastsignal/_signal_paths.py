"""Where a signal is defined: its import path, found without importing anything.

A signal object does not know its own name. ``signal_path(signal)`` finds the
module-level names that hold it in the modules already imported and picks the
module that *defines* it, whatever was imported first: Django's ``post_save``
is ``django.db.models.signals.post_save`` even when a project module that
re-exports it (``from django.db.models.signals import post_save``) is shorter
or was imported earlier. Background receivers send this path to a task worker,
``SignalRecursionError`` names the signal by it, and ``introspect.signals()``
lists each signal under it.

How the defining module is chosen, among the modules that hold the signal:

1. not ``__main__`` (a worker cannot import the script being run);
2. a module whose source binds the name by assignment (``post_save =
   ModelSignal(...)``), read from its file (never imported), over one that
   imports it; modules without a readable source file count as re-exports;
3. a module named ``….signals``;
4. the shorter module name, then the name.

Reading modules never runs their code: a module object is read through
``object.__getattribute__`` (a lazily loaded module, ``importlib.util.LazyLoader``,
stays unloaded), values are compared by identity only, and a failure to read a
module or its source skips it.

This module imports nothing of the package, so that every layer can use it.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import ast
import sys
import threading
import types
from typing import Any

__all__ = ["choose", "holders", "module_namespaces", "signal_path"]

_MAIN = ("__main__", "__mp_main__")

# module name -> (source file, names bound by assignment at module level)
_assigned_cache: dict[str, tuple[str | None, frozenset[str]]] = {}
# id(signal) -> path, checked against the module before use
_path_cache: dict[int, str] = {}
# Re-entrant: a finalizer or signal handler run during a lookup (which allocates)
# may send a signal with a background receiver, which looks its path up.
_lock = threading.RLock()


def module_namespaces(prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """``[(module name, namespace), ...]``: imported modules whose name starts with ``prefix``.

    Never loads a lazily loaded module nor calls a module's ``__getattr__`` or
    ``__getattribute__``; entries of ``sys.modules`` that are not modules are
    skipped.
    """
    found = []
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(prefix):
            continue
        namespace = _namespace(module)
        if namespace is not None:
            found.append((name, namespace))
    return found


def _namespace(module: object) -> dict[str, Any] | None:
    if not isinstance(module, types.ModuleType):  # type() of a lazy module is its subclass
        return None
    if type(module).__name__ == "_LazyModule":  # importlib.util.LazyLoader, not loaded yet
        return None
    try:
        namespace = object.__getattribute__(module, "__dict__")
    except Exception:
        return None
    return namespace if isinstance(namespace, dict) else None


def holders(signal: object) -> list[tuple[str, str]]:
    """``[(module name, attribute), ...]``: the module-level names that hold ``signal``."""
    found = []
    for module_name, namespace in module_namespaces():
        try:
            items = list(namespace.items())
        except RuntimeError:  # changed while copied by another thread
            continue
        for attr, value in items:
            if value is signal and isinstance(attr, str) and not attr.startswith("_"):
                found.append((module_name, attr))
    return found


def choose(candidates: list[tuple[str, str]]) -> tuple[str, str]:
    """The ``(module, attribute)`` among ``candidates`` (non-empty) that defines the signal."""
    if len(candidates) == 1:
        return candidates[0]
    return min(candidates, key=_rank)


def _rank(candidate: tuple[str, str]) -> tuple[bool, bool, bool, int, str, str]:
    module_name, attr = candidate
    return (
        module_name in _MAIN,
        attr not in _assigned_names(module_name),
        not module_name.rsplit(".", 1)[-1].endswith("signals"),
        len(module_name),
        module_name,
        attr,
    )


def _assigned_names(module_name: str) -> frozenset[str]:
    """The names bound by assignment at the top level of ``module_name``'s source file."""
    namespace = _namespace(sys.modules.get(module_name))
    origin = None
    if namespace is not None:
        origin = namespace.get("__file__")
    if not isinstance(origin, str) or not origin.endswith(".py"):
        return frozenset()
    cached = _assigned_cache.get(module_name)
    if cached is not None and cached[0] == origin:
        return cached[1]
    names: set[str] = set()
    try:
        with open(origin, "rb") as source:
            tree = ast.parse(source.read())
    except (OSError, SyntaxError, ValueError):
        tree = None
    if tree is not None:
        for node in tree.body:
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        names.add(name.id)
    result = frozenset(names)
    _assigned_cache[module_name] = (origin, result)
    return result


def signal_path(signal: object) -> str | None:
    """The import path of the module-level name that defines ``signal``, or ``None``.

    ``"django.db.models.signals.post_save"``; ``"__main__.x"`` only if the
    script being run is the one module that holds it. Looked up once per
    signal; the answer is checked (one dict read) each time it is reused.
    """
    path = _path_cache.get(id(signal))
    if path is not None and _still_holds(path, signal):
        return path
    with _lock:
        candidates = holders(signal)
        if not candidates:
            return None
        module_name, attr = choose(candidates)
        path = f"{module_name}.{attr}"
        _path_cache[id(signal)] = path
    return path


def _still_holds(path: str, signal: object) -> bool:
    module_name, _, attr = path.rpartition(".")
    namespace = _namespace(sys.modules.get(module_name))
    return namespace is not None and namespace.get(attr) is signal
