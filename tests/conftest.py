"""Shared fixtures: the ``engine`` fixture runs every behavioural test on both engines.

The compiled parameter fails, rather than skips, when the compiled engine is
missing and ``FASTSIGNAL_REQUIRE_EXTENSIONS`` is set (as CI does).
"""

import os
from types import SimpleNamespace

import pytest

import fastsignal
from fastsignal import _engine_py

REQUIRE_EXTENSIONS = bool(os.environ.get("FASTSIGNAL_REQUIRE_EXTENSIONS"))


def pytest_configure(config):
    try:
        import django
        from django.conf import settings
    except ImportError:
        return
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            USE_TZ=True,
        )
        django.setup()


@pytest.fixture(params=["compiled", "python"], scope="session")
def engine(request):
    """``engine.Signal`` is the signal class on one engine; ``engine.name`` says which."""
    if request.param == "compiled":
        if not fastsignal.COMPILED:
            message = "the compiled engine fastsignal._engine_c is not in use"
            if REQUIRE_EXTENSIONS:
                pytest.fail(message + " but FASTSIGNAL_REQUIRE_EXTENSIONS is set")
            pytest.skip(message)
        from fastsignal import _engine_c

        return SimpleNamespace(name="compiled", Signal=fastsignal.Signal, module=_engine_c)
    return SimpleNamespace(name="python", Signal=fastsignal.PySignal, module=_engine_py)
