"""A griffe extension for the API reference (``mkdocs.yml``): what static analysis misses.

- ``Signal.connect``, ``disconnect``, ``send``, ``send_robust`` and
  ``has_listeners`` are the engine's functions, set on the class at import time
  (``fastsignal/dispatcher.py``); the stub ``fastsignal/dispatcher.pyi``
  declares them, without docstrings. They get the docstrings of the
  pure-Python engine's functions (``fastsignal/_engine_py.py``; ``send`` and
  ``send_robust`` are made by a function there, from the constants
  ``_SEND_DOC`` and ``_SEND_ROBUST_DOC``), which the compiled engine's
  functions carry too, so the reference shows what
  ``help(fastsignal.Signal.send)`` shows; they are listed after ``__init__``.
- ``#:`` comments written above a module attribute (``COMPILED``, ``DEFERRED``)
  become that attribute's docstring.
- pytest's ``PYTEST_DONT_REWRITE`` marker that ends each module docstring is
  left out of the pages.
- fastsignal's docstrings are written for ``help()``, in the style of Django's:
  a definition list (a name, then its description indented by four spaces) and
  a literal block after ``::``. Those two are rewritten as Markdown (a bulleted
  list, a code block) for the site; the docstrings themselves are unchanged.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import griffe

#: ``Signal`` methods that are the engine's functions, named alike in ``_engine_py``.
ENGINE_METHODS = ("connect", "disconnect", "send", "send_robust", "has_listeners")

_TERM = re.compile(r"( *)(``[^`]+``|\w+)")


class FastsignalDocstrings(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != "fastsignal":
            return
        signal = pkg["dispatcher"]["Signal"]
        engine = pkg["_engine_py"]
        for name in ENGINE_METHODS:
            method, function = signal.members.get(name), engine.members.get(name)
            if function is not None and function.docstring is None:
                _docstring_from_constant(engine, name, function)
            if method is None or function is None or function.docstring is None:
                raise ValueError(f"fastsignal.Signal.{name}: no engine docstring to show")
            if method.docstring is None:
                method.docstring = griffe.Docstring(
                    function.docstring.value, lineno=function.docstring.lineno, parent=method
                )
            # Listed after __init__ rather than after the methods written in
            # dispatcher.py: by line (members_order: source) and in the members
            # dict, whose order is what the ``fastsignal.Signal`` alias shows.
            method.lineno = method.endlineno = signal.members["__init__"].endlineno
        names = [name for name in signal.members if name not in ENGINE_METHODS]
        at = names.index("__init__") + 1
        names[at:at] = ENGINE_METHODS
        reordered = {name: signal.members[name] for name in names}
        signal.members.clear()
        signal.members.update(reordered)
        for obj in _objects(pkg):
            if obj.docstring is None and obj.is_attribute and isinstance(obj.parent, griffe.Module):
                comment = _comment_above(obj.parent, obj.lineno)
                if comment:
                    obj.docstring = griffe.Docstring(comment, parent=obj)
            if obj.docstring is not None:
                obj.docstring.value = markdown_of(obj.docstring.value)

    # The name of the same event before griffe 1.12.
    on_package_loaded = on_package


def _docstring_from_constant(engine: griffe.Module, name: str, function: griffe.Object) -> None:
    """``send = _send_function(False, _SEND_DOC)``: the docstring is ``_SEND_DOC``'s value."""
    constant = engine.members.get(f"_{name.upper()}_DOC")
    if constant is not None and constant.is_attribute:
        value = ast.literal_eval(str(constant.value))
        function.docstring = griffe.Docstring(value, lineno=constant.lineno, parent=function)


def _objects(obj: griffe.Object) -> list[griffe.Object]:
    """``obj`` and every object defined in it (aliases left out), recursively."""
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found.extend(_objects(member))  # type: ignore[arg-type]  # not an alias
    return found


def _comment_above(module: griffe.Module, lineno: int | None) -> str:
    """The ``#:`` comment lines just above line ``lineno`` of ``module``, joined."""
    if not lineno or module.filepath is None or isinstance(module.filepath, list):
        return ""
    lines = module.lines
    found: list[str] = []
    index = lineno - 2  # the line above, 0-based
    if index >= len(lines):  # a line of a stub, not of this source
        return ""
    while index >= 0 and lines[index].lstrip().startswith("#:"):
        found.insert(0, lines[index].lstrip()[2:].strip())
        index -= 1
    return " ".join(found)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def markdown_of(text: str) -> str:
    """Rewrite a docstring's definition lists and ``::`` literal blocks as Markdown.

    pytest's ``PYTEST_DONT_REWRITE`` marker, at the end of each module's docstring,
    is left out.
    """
    text = re.sub(r"\n*^PYTEST_DONT_REWRITE\b.*\Z", "\n", text, flags=re.MULTILINE | re.DOTALL)
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            # "Text::" then an indented block: "Text:" then the block, as code.
            out.append(line.rstrip()[:-1])
            base = _indent(line)
            i += 1
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
                out.append(" " * (4 - base) + lines[i] if base < 4 else lines[i][base - 4 :])
                i += 1
            continue
        term = _TERM.fullmatch(line)
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if term and following.strip() and _indent(following) == _indent(line) + 4:
            name = term.group(2)
            name = name if name.startswith("``") else f"``{name}``"
            description = []
            i += 1
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > _indent(line):
                description.append(lines[i].strip())
                i += 1
            if out and out[-1].strip() and not out[-1].startswith("- "):
                out.append("")  # a list needs a blank line before it
            out.append(f"- {name}: {' '.join(description)}")
            continue
        out.append(line)
        i += 1
    return "\n".join(out)
