"""``fastsignal.pytest_plugin``: the ``capture_signal`` and ``mute_signals`` fixtures.

Most tests run an inner pytest session in this process (pytester's ``runpytest``),
which loads the plugin through its ``pytest11`` entry point as any project's
session does; one runs it in a subprocess, from outside the checkout.
"""

import ast
import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fastsignal

pytest_plugins = ["pytester"]

if not any(
    entry.name == "fastsignal" for entry in importlib.metadata.entry_points(group="pytest11")
):
    pytest.skip(
        "fastsignal is not installed as a distribution (its pytest11 entry point is not "
        "registered), as in scripts/sanitize's build in place",
        allow_module_level=True,
    )

INTERCEPTED = ("send", "send_robust", "asend", "asend_robust", "has_listeners")

#: Signals of every kind, with a receiver each, for the inner sessions.
SIGNALS = """
import fastsignal
import django.dispatch

calls = []


def receiver(sender, **kwargs):
    calls.append(sender)
    return "heard"


SIGNALS = {
    "compiled": fastsignal.Signal(),
    "python": fastsignal.PySignal(),
    "django": django.dispatch.Signal(),
}
for signal in SIGNALS.values():
    signal.connect(receiver)

INTERCEPTED = ("send", "send_robust", "asend", "asend_robust", "has_listeners")


def assert_pristine(signal):
    assert [name for name in INTERCEPTED if name in vars(signal)] == []
"""


@pytest.fixture
def inner(pytester):
    """pytester with the shared signals module in place."""
    pytester.makepyfile(signals_for_tests=SIGNALS)
    pytester.syspathinsert()
    return pytester


def run(pytester, *args):
    """Run an inner session in this process (hypothesis's plugin would add ~1.5 s to each)."""
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args)


def test_entry_point_is_registered(pytestconfig):
    import fastsignal.pytest_plugin

    assert pytestconfig.pluginmanager.get_plugin("fastsignal") is fastsignal.pytest_plugin


def test_fixtures_are_listed(inner):
    result = run(inner, "--fixtures")
    result.stdout.fnmatch_lines(
        [
            "*fixtures defined from fastsignal.pytest_plugin*",
            "capture_signal -- *pytest_plugin.py:*",
            "*Record the sends of a signal*",
            "mute_signals -- *pytest_plugin.py:*",
            "*Mute signals for the rest of the test*",
        ]
    )


def test_fixtures_are_available(inner):
    inner.makepyfile(
        """
        import asyncio

        import pytest

        from fastsignal.testing import MutedSignals, SignalCapture
        from signals_for_tests import SIGNALS, calls, receiver


        @pytest.fixture(params=sorted(SIGNALS))
        def signal(request):
            calls.clear()
            return SIGNALS[request.param]


        def test_capture_signal(capture_signal, signal):
            sent = capture_signal(signal)
            assert isinstance(sent, SignalCapture)
            assert sent.active
            assert signal.send(sender="a", x=1) == [(receiver, "heard")]
            assert asyncio.run(signal.asend("b", x=2)) == [(receiver, "heard")]
            sent.assert_sent_once(sender="a", x=1)
            assert [record.method for record in sent] == ["send", "asend"]
            assert calls == ["a", "b"]


        def test_capture_signal_for_one_sender(capture_signal, signal):
            sent = capture_signal(signal, sender="a")
            signal.send(sender="a")
            signal.send(sender="b")
            assert [record.sender for record in sent] == ["a"]


        def test_mute_signals(mute_signals, signal):
            mute = mute_signals(signal)
            assert isinstance(mute, MutedSignals)
            assert mute.active
            assert signal.send(sender="a") == []
            assert not signal.has_listeners()
            assert calls == []


        def test_mute_signals_for_one_sender(mute_signals, signal):
            mute_signals(signal, sender="a")
            assert signal.send(sender="a") == []
            assert signal.send(sender="b") == [(receiver, "heard")]
            assert calls == ["b"]


        def test_as_context_managers(mute_signals, capture_signal, signal):
            with capture_signal(signal) as sent:
                with mute_signals(signal) as mute:
                    assert signal.send(sender="muted") == []
                assert not mute.active
                assert signal.send(sender="heard") == [(receiver, "heard")]
            assert not sent.active
            signal.send(sender="after")
            assert [(record.sender, record.muted) for record in sent] == [
                ("muted", True),
                ("heard", False),
            ]
            assert calls == ["heard", "after"]
        """
    )
    result = run(inner, "-v")
    result.assert_outcomes(passed=15)


@pytest.mark.parametrize("kind", ["compiled", "python", "django"])
def test_signals_are_restored_after_passing_and_failing_tests(inner, kind):
    inner.makepyfile(
        f"""
        import pytest

        from signals_for_tests import SIGNALS, assert_pristine, calls, receiver

        signal = SIGNALS[{kind!r}]


        @pytest.mark.parametrize("outcome", ["passes", "fails", "errors"])
        def test_touches_the_signal(mute_signals, capture_signal, outcome):
            capture_signal(signal)
            mute_signals(signal)
            capture_signal(signal, sender="x")
            mute_signals(signal, sender="x")
            assert signal.send(sender="x") == []
            if outcome == "fails":
                assert False, "the test fails"
            if outcome == "errors":
                raise RuntimeError("the test errors")


        def test_afterwards():
            assert_pristine(signal)
            assert signal.send(sender="y") == [(receiver, "heard")]
            assert signal.has_listeners()
            assert calls == ["y"]
        """
    )
    result = run(inner)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*the test fails*", "*RuntimeError: the test errors*"])


def test_signals_are_restored_when_a_fixture_fails_after_them(inner):
    inner.makepyfile(
        """
        import pytest

        from signals_for_tests import SIGNALS, assert_pristine

        signal = SIGNALS["python"]


        @pytest.fixture
        def broken(mute_signals, capture_signal):
            mute_signals(signal)
            capture_signal(signal)
            raise RuntimeError("setup fails")


        def test_setup_error(broken):
            pass


        def test_afterwards():
            assert_pristine(signal)
        """
    )
    result = run(inner)
    result.assert_outcomes(passed=1, errors=1)


def test_restored_for_the_outer_session(inner):
    """The in-process session leaves this process's signals as they were."""
    inner.makepyfile(
        """
        from django.db.models.signals import post_save

        def test_mute_a_django_signal(mute_signals, capture_signal):
            mute_signals(post_save)
            capture_signal(post_save)
            assert post_save.send(sender=object(), instance=None, created=True) == []
        """
    )
    run(inner).assert_outcomes(passed=1)
    from django.db.models.signals import post_save

    assert [name for name in INTERCEPTED if name in vars(post_save)] == []


def test_plugin_can_be_disabled(inner):
    inner.makepyfile(
        """
        def test_uses_fixture(capture_signal):
            pass
        """
    )
    result = run(inner, "-p", "no:fastsignal")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'capture_signal' not found*"])


def test_importing_the_plugin_is_cheap():
    """Neither Django nor ``fastsignal.testing`` is imported with the plugin."""
    code = textwrap.dedent(
        """
        import sys
        import fastsignal.pytest_plugin
        loaded = sorted(
            name for name in sys.modules
            if name == "django" or name.startswith("django.") or name == "fastsignal.testing"
        )
        print(loaded)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=fastsignal.__path__[0],
    )
    assert result.stdout.strip() == "[]"


def test_plugin_in_a_subprocess_session(pytester):
    """A fresh interpreter finds the plugin through the entry point."""
    pytester.makepyfile(
        """
        import fastsignal

        signal = fastsignal.Signal()


        def test_capture(capture_signal):
            sent = capture_signal(signal)
            signal.send(sender="a", x=1)
            sent.assert_sent(sender="a", x=1)


        def test_capture_fails_readably(capture_signal):
            sent = capture_signal(signal)
            signal.send(sender="a", x=1)
            sent.assert_sent(x=2)


        def test_afterwards():
            assert "send" not in vars(signal)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: expected signal to be sent with x=2; no send matched.",
            "*Recorded sends (1):",
            "*  [[]0] send(sender='a', x=1)",
        ]
    )


WRAPPER = """
import sys

import django
from django.conf import settings

settings.configure(INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"])
django.setup()

import fastsignal.django
import fastsignal.testing

assert fastsignal.django.install()
import pytest

sys.exit(pytest.main(["-p", "no:cacheprovider", "-p", "no:hypothesispytest", *sys.argv[1:]]))
"""


def _wheel_like_distribution(directory):
    """A directory for ``sys.path`` holding a distribution that lists ``fastsignal``'s
    files and the plugin's ``pytest11`` entry point, as a wheel install does (pytest
    marks the packages of such a distribution for rewriting; an editable install,
    whose files it cannot list, may not show the problem)."""
    dist_info = directory / "fastsignal_wheel_files-0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fastsignal-wheel-files\nVersion: 0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[pytest11]\nfastsignal = fastsignal.pytest_plugin\n"
    )
    package = Path(fastsignal.__file__).parent
    files = sorted(
        f"fastsignal/{path.relative_to(package).as_posix()}" for path in package.rglob("*.py")
    )
    (dist_info / "RECORD").write_text("".join(f"{name},,\n" for name in files))
    return directory


@pytest.mark.parametrize("disabled", [False, True], ids=["plugin", "no-plugin"])
def test_fastsignal_imported_before_pytest_starts(pytester, monkeypatch, disabled):
    """A wrapper (or a ``sitecustomize``) that imports and installs fastsignal and then
    runs ``pytest.main()``, in a project with ``filterwarnings = error``: pytest marks
    only what it may rewrite, so it has nothing to warn about and runs every test."""
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    pytester.makepyfile(
        test_project="""
        from django.db.models.signals import post_save
        from fastsignal.django import is_accelerated


        def test_installed():
            assert is_accelerated(post_save)


        def test_asserts_are_rewritten_in_tests():
            values = [1, 2]
            try:
                assert values == [1, 3]
            except AssertionError as err:
                assert "[1, 2] == [1, 3]" in str(err)
        """
    )
    pytester.makepyfile(wrapper=WRAPPER)
    args = ["-p", "no:fastsignal"] if disabled else []
    probe = _wheel_like_distribution(pytester.path / "probe")
    monkeypatch.setenv("PYTHONPATH", str(probe))
    result = pytester.run(sys.executable, "wrapper.py", *args)
    assert "PytestAssertRewriteWarning" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=2)
    assert result.ret == 0


def test_only_the_plugin_module_can_be_rewritten():
    """pytest marks the whole ``fastsignal`` package of a plugin's distribution for
    rewriting; every module but the plugin's opts out."""
    from _pytest.assertion.rewrite import AssertionRewriter

    package = Path(fastsignal.__file__).parent
    modules = sorted(package.rglob("*.py"))
    assert package / "__init__.py" in modules
    opted_in = [
        path.relative_to(package).as_posix()
        for path in modules
        if not AssertionRewriter.is_rewrite_disabled(
            ast.get_docstring(ast.parse(path.read_text())) or ""
        )
    ]
    assert opted_in == ["pytest_plugin.py"]
