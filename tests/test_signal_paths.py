"""A signal's import path: the module that defines it, found without importing anything."""

import importlib.util
import sys
import threading
import types

import pytest

import fastsignal
from fastsignal import SignalRecursionError, _signal_paths, introspect

defined_here = fastsignal.Signal()


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(_signal_paths, "_path_cache", {})


@pytest.fixture
def lazy_module(tmp_path, monkeypatch):
    """A module set up by importlib.util.LazyLoader whose body fails if it ever runs."""
    path = tmp_path / "lazily_loaded.py"
    path.write_text("raise ModuleNotFoundError('the lazy module was loaded', name='nope')\n")
    spec = importlib.util.spec_from_file_location("lazily_loaded", path)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "lazily_loaded", module)
    spec.loader.exec_module(module)  # lazy: the body runs on first attribute access
    yield module
    assert type(module).__name__ == "_LazyModule"  # never loaded


def test_names_never_load_a_lazy_module(lazy_module):
    assert _signal_paths.signal_path(defined_here) == f"{__name__}.defined_here"
    assert (f"{__name__}.defined_here", defined_here) in introspect.signals()
    error = SignalRecursionError()
    error.chain = [(defined_here, None, print), (defined_here, None, print)]
    assert str(error).startswith("defined_here(sender=None): print")


def test_modules_that_are_not_modules_or_refuse_reading_are_skipped(monkeypatch):
    class Exploding(types.ModuleType):
        def __getattribute__(self, name):
            raise RuntimeError(f"read {name}")

    monkeypatch.setitem(sys.modules, "exploding", Exploding("exploding"))
    monkeypatch.setitem(sys.modules, "not_a_module", object())
    assert _signal_paths.signal_path(defined_here) == f"{__name__}.defined_here"
    assert introspect.signals(prefix=__name__) == [(f"{__name__}.defined_here", defined_here)]


def test_the_defining_module_wins_over_shorter_and_earlier_re_exports(tmp_path, monkeypatch):
    from django.core.signals import request_finished
    from django.db.models.signals import post_save

    (tmp_path / "signals.py").write_text(
        "from django.db.models.signals import post_save\n"
        "from django.core.signals import request_finished\n"
        f"from {__name__} import defined_here\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "signals", raising=False)
    import signals  # noqa: F401  (a module named like a home, shorter than all)

    try:
        assert _signal_paths.signal_path(post_save) == "django.db.models.signals.post_save"
        assert _signal_paths.signal_path(request_finished) == (
            "django.core.signals.request_finished"
        )
        assert _signal_paths.signal_path(defined_here) == f"{__name__}.defined_here"
    finally:
        sys.modules.pop("signals", None)


def test_a_signal_of_main_only_is_named_there_and_unknown_is_none(monkeypatch):
    main = types.ModuleType("__main__")
    only_in_main = fastsignal.Signal()
    main.only_in_main = only_in_main
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert _signal_paths.signal_path(only_in_main) == "__main__.only_in_main"
    assert _signal_paths.signal_path(fastsignal.Signal()) is None


def test_lookup_run_inside_a_lookup_does_not_wait_on_its_own_thread(monkeypatch):
    """A send with a background receiver looks its signal's path up. One made by a
    finalizer (garbage collection runs at the allocations of a lookup) or a signal
    handler while this thread is looking another signal up must not wait on the
    lock its own thread holds."""
    other = types.ModuleType("other_signals")
    other.signal = fastsignal.Signal()
    monkeypatch.setitem(sys.modules, "other_signals", other)
    holders = _signal_paths.holders
    nested = []

    def hooked(signal):
        monkeypatch.setattr(_signal_paths, "holders", holders)
        nested.append(_signal_paths.signal_path(other.signal))
        return holders(signal)

    monkeypatch.setattr(_signal_paths, "holders", hooked)
    outcome = []
    thread = threading.Thread(
        target=lambda: outcome.append(_signal_paths.signal_path(defined_here)), daemon=True
    )
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "deadlock: the lookup waits on a lock its own thread holds"
    assert outcome == [f"{__name__}.defined_here"]
    assert nested == ["other_signals.signal"]
