"""fastsignal ships type information: ``py.typed``, annotations and stubs.

mypy must accept correct code under ``--strict`` and flag misuse such as
``connect(42)`` or a ``send()`` without a sender, as django-stubs does for
``django.dispatch``; the package itself and ``examples/typed_usage.py`` pass
``mypy --strict``; the stubs name what the package exports, and mypy's stubtest
finds them consistent with the modules they describe, the compiled engine
included. The mypy tests are skipped when mypy is not installed.
"""

import ast
import importlib.metadata
import os
import pathlib
import subprocess
import sys
import textwrap
import types

import pytest

import fastsignal
import fastsignal._common
import fastsignal._engine_py
import fastsignal.dispatcher

pytestmark = pytest.mark.slow  # mypy runs: the full suite only

PACKAGE = pathlib.Path(fastsignal.__file__).parent
#: The typed example of a checkout or an sdist; an installed wheel has none.
EXAMPLE = PACKAGE.parent / "examples" / "typed_usage.py"

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
    from fastsignal import Signal, atomic, on_commit, receiver

    order_paid = Signal()
    order_paid.connect(42)
    count: int = order_paid.send(sender=None)
    order_paid.send(order=42)
    order_paid.send_robust()
    func, response, extra = order_paid.send(sender=None)[0]
    name: str = order_paid.send(sender=None)[0][0]
    receiver(42)
    receiver(order_paid, dispatch_uid="audit")(42)
    order_paid.disconnect(dispatch_uid=["audit"])
    on_commit(len)
    atomic(using=1)
"""

#: For each line of BAD, what mypy reports there.
MISUSE = {
    5: 'Argument 1 to "connect" of "Signal" has incompatible type "int"',
    6: 'Incompatible types in assignment (expression has type "list[tuple[',
    7: 'Missing positional argument "sender" in call to "send" of "Signal"',
    8: 'Missing positional argument "sender" in call to "send_robust" of "Signal"',
    9: "Need more than 2 values to unpack (3 expected)",
    10: '(expression has type "Callable[..., Any]", variable has type "str")',
    11: 'No overload variant of "receiver" matches argument type "int"',
    12: 'Value of type variable "_F" of function cannot be "int"',
    13: 'Argument "dispatch_uid" to "disconnect" of "Signal" has incompatible type "list[str]"',
    14: 'Argument 1 to "on_commit" has incompatible type "Callable[[Sized], int]"',
    15: 'No overload variant of "atomic" matches argument type "int"',
}


def mypy(tmp_path, *arguments, tool="mypy"):
    """Run ``python -m <tool> <arguments>`` (mypy or mypy.stubtest) from ``tmp_path``."""
    pytest.importorskip("mypy")
    env = dict(os.environ)
    if tool == "mypy":  # stubtest imports the compiled engine, which may be an ASan build
        env.pop("LD_PRELOAD", None)  # scripts/sanitize's ASan runtime: mypy is not checked
    root = PACKAGE.parent
    if "site-packages" not in root.parts:  # a checkout (editable install): mypy reads it there
        env["MYPYPATH"] = str(root)
    command = [sys.executable, "-m", tool, *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)


def run_mypy(tmp_path, source, *options):
    """Check ``source`` as code that uses fastsignal.

    fastsignal's own modules are read as an installed package's are: errors in
    them are not reported here (``test_package_passes_strict_checking`` has them).
    """
    path = tmp_path / "example.py"
    path.write_text(textwrap.dedent(source))
    return mypy(tmp_path, "--no-incremental", "--follow-imports=silent", *options, str(path))


def require_django_stubs():
    """Skip unless django-stubs is installed: fastsignal's modules use Django's types."""
    try:
        importlib.metadata.distribution("django-stubs")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("django-stubs is not installed; fastsignal's Django code is checked with it")


def compiled_engine_built():
    """Whether ``fastsignal._engine_c`` imports (it must with FASTSIGNAL_REQUIRE_EXTENSIONS)."""
    try:
        import fastsignal._engine_c  # noqa: F401
    except ImportError:
        if os.environ.get("FASTSIGNAL_REQUIRE_EXTENSIONS"):
            raise
        return False
    return True


def test_package_is_marked_typed():
    assert (PACKAGE / "py.typed").exists()


def test_correct_code_passes_strict_checking(tmp_path):
    result = run_mypy(tmp_path, GOOD, "--strict")
    assert result.returncode == 0, result.stdout + result.stderr


def test_misuse_is_flagged(tmp_path):
    result = run_mypy(tmp_path, BAD, "--strict")
    assert result.returncode == 1, result.stdout + result.stderr
    errors = {}
    for line in result.stdout.splitlines():
        path, _, rest = line.partition(":")
        number, _, message = rest.partition(": error: ")
        if path == "example.py" and message:
            errors.setdefault(int(number), []).append(message)
    assert sorted(errors) == sorted(MISUSE), result.stdout
    for number, expected in MISUSE.items():
        assert any(expected in message for message in errors[number]), (number, errors[number])


def test_package_passes_strict_checking(tmp_path):
    require_django_stubs()
    result = mypy(tmp_path, "--strict", "--no-incremental", "-p", "fastsignal")
    assert result.returncode == 0, result.stdout + result.stderr


def test_typed_example_passes_strict_checking(tmp_path):
    if not EXAMPLE.exists():
        pytest.skip(f"no examples/ beside {PACKAGE} (an installed wheel has none)")
    result = mypy(tmp_path, "--strict", "--no-incremental", "--follow-imports=silent", EXAMPLE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_typed_example_runs(tmp_path):
    if not EXAMPLE.exists():
        pytest.skip(f"no examples/ beside {PACKAGE} (an installed wheel has none)")
    pytest.importorskip("asgiref")  # its async receiver
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # it shows fastsignal's own atomic(), without Django
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "order 3 handed to delivery" in result.stdout
    assert "never printed" not in result.stdout


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


def defined_names(stub):
    """The names ``stub`` defines itself (not those it imports for its annotations)."""
    tree = ast.parse((PACKAGE / stub).read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
    return names


def own_names(module):
    """The names ``module`` defines: not modules, nor what it imported from fastsignal._common
    or the standard library's ``types``."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("__")
        and not isinstance(value, types.ModuleType)
        and not any(getattr(source, name, None) is value for source in (fastsignal._common, types))
    }


def test_engine_stub_declares_what_the_compiled_engine_defines():
    if not compiled_engine_built():
        pytest.skip("the compiled engine fastsignal._engine_c is not built")
    from fastsignal import _engine_c

    assert own_names(_engine_c) == defined_names("_engine_c.pyi")


def test_both_engines_provide_the_engine_contract():
    # Both engines must provide what dispatcher.py installs on a signal class,
    # and the compiled engine's stub must name what the reference engine exports.
    declared = defined_names("_engine_c.pyi")
    contract = {"COMPILED", "registry_of", *fastsignal.dispatcher.ENGINE_ATTRIBUTES}
    assert contract <= declared
    assert contract <= own_names(fastsignal._engine_py)
    public = {name for name in own_names(fastsignal._engine_py) if not name.startswith("_")}
    assert public <= declared


#: Reported by stubtest for the compiled engine, and not part of its interface: the
#: pickling helpers Cython adds to each class and module, its doctest dictionary,
#: and two constants the module imports from fastsignal._common.
STUBTEST_ALLOWLIST = r"""
fastsignal\._engine_c\.(\w+\.)?__(reduce|setstate)_cython__
fastsignal\._engine_c\.__test__
fastsignal\._engine_c\.(NONE_ID|REGISTRY_ATTR)
"""


def test_stubs_match_the_runtime(tmp_path):
    """mypy's stubtest imports each module and compares names, kinds and signatures."""
    modules = ["fastsignal.dispatcher"]
    if compiled_engine_built():  # else a pure-Python installation: nothing to compare with
        modules.append("fastsignal._engine_c")
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text(STUBTEST_ALLOWLIST)
    config = tmp_path / "mypy.ini"  # the modules the stub imports are not under test here
    config.write_text("[mypy]\nfollow_imports = silent\n")
    result = mypy(
        tmp_path,
        *modules,
        "--concise",
        "--ignore-unused-allowlist",
        f"--allowlist={allowlist}",
        f"--mypy-config-file={config}",
        tool="mypy.stubtest",
    )
    # A C class is a disjoint base (PEP 800), which recent stubtest wants marked
    # with @disjoint_base; the stub keeps to what every supported checker reads.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and not line.startswith("Success:") and "disjoint base" not in line
    ]
    assert not problems, result.stdout + result.stderr


def test_signal_stub_methods_exist():
    tree = ast.parse((PACKAGE / "dispatcher.pyi").read_text())
    signal = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Signal")
    for node in signal.body:
        name = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        if name is not None:
            assert callable(getattr(fastsignal.Signal, name)), name
