"""fastsignal in a fresh interpreter: without Django installed, and with the fallback forced."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fastsignal

#: Where the fastsignal under test lives (the checkout, or site-packages for a wheel).
PACKAGE_ROOT = Path(fastsignal.__file__).resolve().parent.parent

USAGE = """
import gc
import fastsignal
from fastsignal import Signal, receiver

sig = Signal()
calls = []

def on_any(sender, **kwargs):
    calls.append(("any", sender, kwargs.get("x")))
    return "any"

def no_kwargs(sender):  # accepted: there is no DEBUG check without Django
    return "no-kwargs"

class Sender:
    pass

sig.connect(on_any)
assert sig.has_listeners() and sig.has_listeners(Sender)
assert sig.send(Sender, x=1) == [(on_any, "any")], sig.send(Sender, x=1)

@receiver(sig, sender=Sender)
def on_sender(**kwargs):
    return "sender"

assert [r for _, r in sig.send(Sender)] == ["any", "sender"]
assert [r for _, r in sig.send(None)] == ["any"]

def fails(**kwargs):
    raise ValueError("bad")

sig.connect(fails, dispatch_uid="fails")
import logging
logging.getLogger("django.dispatch").addHandler(logging.NullHandler())
logging.getLogger("django.dispatch").propagate = False
result = sig.send_robust(Sender)
assert [type(r).__name__ for _, r in result] == ["str", "str", "ValueError"], result
assert sig.disconnect(dispatch_uid="fails") is True

try:
    sig.connect(42)
except TypeError as exc:
    assert str(exc) == "Signal receivers must be callable.", exc
else:
    raise AssertionError("non-callable accepted")

sig.connect(no_kwargs, weak=False)
assert sig.disconnect(no_kwargs) is True
assert sig.disconnect(on_sender, sender=Sender) is True
assert sig.disconnect(on_any) is True
assert sig.send(Sender) == [] and not sig.has_listeners()

class Obj:
    def method(self, **kwargs):
        return "method"

obj = Obj()
sig.connect(obj.method)
assert [r for _, r in sig.send(None)] == ["method"]
del obj
gc.collect()
assert sig.send(None) == [] and sig.receivers == []
print("COMPILED", fastsignal.COMPILED)
"""

BLOCK_DJANGO = """
import sys
for name in ("django", "asgiref"):
    sys.modules[name] = None  # makes "import django" raise ImportError
"""

CHECK_BLOCKED = """
for name in list(sys.modules):
    if name.split(".")[0] in ("django", "asgiref") and sys.modules[name] is not None:
        raise AssertionError(f"{name} was imported")
"""


def run_python(code, **env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTSIGNAL_")}
    env.update(env_overrides)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=str(PACKAGE_ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def test_works_without_django():
    out = run_python(BLOCK_DJANGO + USAGE + CHECK_BLOCKED)
    assert out.strip() == f"COMPILED {fastsignal.COMPILED}"


ASEND_WITHOUT_ASGIREF = """
import asyncio

signal = Signal()
signal.connect(on_any)
for method in (signal.asend, signal.asend_robust):
    try:
        asyncio.run(method(Sender, x=1))
    except ModuleNotFoundError as error:
        assert error.name == "asgiref", error
        assert "need asgiref, which is not installed: pip install asgiref" in str(error), error
    else:
        raise AssertionError("asend without asgiref")
print("ASEND REFUSED")
"""


@pytest.mark.parametrize("no_extensions", ["", "1"], ids=["default", "python"])
def test_asend_without_asgiref_says_what_to_install(no_extensions):
    code = BLOCK_DJANGO + USAGE + ASEND_WITHOUT_ASGIREF + CHECK_BLOCKED
    out = run_python(code, FASTSIGNAL_NO_EXTENSIONS=no_extensions)
    assert out.strip().splitlines()[-1] == "ASEND REFUSED"


def test_python_engine_works_without_django():
    out = run_python(BLOCK_DJANGO + USAGE + CHECK_BLOCKED, FASTSIGNAL_NO_EXTENSIONS="1")
    assert out.strip() == "COMPILED False"


def test_no_extensions_forces_the_python_engine():
    out = run_python(
        USAGE
        + """
from fastsignal import _engine, _engine_py
assert _engine.engine is _engine_py
assert fastsignal.Signal is fastsignal.PySignal
""",
        FASTSIGNAL_NO_EXTENSIONS="1",
    )
    assert out.strip() == "COMPILED False"


def test_default_engine_in_a_fresh_interpreter():
    out = run_python(USAGE)
    assert out.strip() == f"COMPILED {fastsignal.COMPILED}"


@pytest.mark.skipif(not fastsignal.COMPILED, reason="the compiled engine is not built")
def test_compiled_engine_is_the_default_when_built():
    out = run_python(
        "import fastsignal;"
        " print(fastsignal.COMPILED, fastsignal.Signal is not fastsignal.PySignal)"
    )
    assert out.strip() == "True True"
