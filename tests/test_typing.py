"""fastsignal ships type information: ``py.typed`` and stubs for the public API.

mypy must accept correct code under ``--strict`` and flag misuse such as
``connect(42)``, as django-stubs does for ``django.dispatch``; the stubs must
name what the package exports. Skipped when mypy is not installed.
"""

import ast
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import fastsignal
import fastsignal.dispatcher

PACKAGE = pathlib.Path(fastsignal.__file__).parent

GOOD = """
    from fastsignal import Signal, receiver

    order_paid = Signal()


    @receiver(order_paid, dispatch_uid="receipt")
    def send_receipt(sender: object, **kwargs: object) -> str:
        return "ok"


    responses = order_paid.send(sender=object, order=42)
    first_receiver, first_response = responses[0]
    order_paid.connect(send_receipt, weak=False)
    removed: bool = order_paid.disconnect(send_receipt)
    listening: bool = order_paid.has_listeners()
"""

BAD = """
    from fastsignal import Signal

    order_paid = Signal()
    order_paid.connect(42)
    count: int = order_paid.send(sender=None)
"""


def run_mypy(tmp_path, source, *options):
    pytest.importorskip("mypy")
    path = tmp_path / "example.py"
    path.write_text(textwrap.dedent(source))
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)  # scripts/sanitize's ASan runtime: mypy is not what it checks
    root = PACKAGE.parent
    if "site-packages" not in root.parts:  # a checkout (editable install): mypy reads it there
        env["MYPYPATH"] = str(root)
    command = [sys.executable, "-m", "mypy", "--no-incremental", *options, str(path)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)


def test_package_is_marked_typed():
    assert (PACKAGE / "py.typed").exists()


def test_correct_code_passes_strict_checking(tmp_path):
    result = run_mypy(tmp_path, GOOD, "--strict")
    assert result.returncode == 0, result.stdout + result.stderr


def test_misuse_is_flagged(tmp_path):
    result = run_mypy(tmp_path, BAD)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Argument 1 to "connect" of "Signal" has incompatible type "int"' in result.stdout
    assert "example.py:6: error: Incompatible types in assignment" in result.stdout


def stub_names(name):
    tree = ast.parse((PACKAGE / name).read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def test_stubs_name_what_the_package_exports():
    assert set(fastsignal.__all__) <= stub_names("__init__.pyi")
    public = {"Signal", "PySignal", "receiver", "ENGINE_ATTRIBUTES", "engine_attributes"}
    assert public <= stub_names("dispatcher.pyi")


def test_signal_stub_methods_exist():
    tree = ast.parse((PACKAGE / "dispatcher.pyi").read_text())
    signal = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Signal")
    for node in signal.body:
        name = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        if name is not None:
            assert callable(getattr(fastsignal.Signal, name)), name
