"""Shared fixtures: the ``engine`` fixture runs every behavioural test on both engines.

The compiled parameter fails, rather than skips, when the compiled engine is
missing and ``FASTSIGNAL_REQUIRE_EXTENSIONS`` is set (as CI does).
"""

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

import fastsignal
from fastsignal import _engine_py

REQUIRE_EXTENSIONS = bool(os.environ.get("FASTSIGNAL_REQUIRE_EXTENSIONS"))
#: Set when testing an installed wheel: fastsignal must not come from the checkout.
EXPECT_INSTALLED = bool(os.environ.get("FASTSIGNAL_TEST_INSTALLED"))


def pytest_report_header(config):
    engine = "compiled" if fastsignal.COMPILED else "pure Python"
    return f"fastsignal {fastsignal.__version__} ({engine}) from {Path(fastsignal.__file__).parent}"


def pytest_configure(config):
    package = Path(fastsignal.__file__).resolve().parent
    if EXPECT_INSTALLED and package.is_relative_to(config.rootpath):
        raise pytest.UsageError(
            f"FASTSIGNAL_TEST_INSTALLED is set, but fastsignal was imported from {package}, "
            "inside the checkout: run pytest from outside it"
        )
    try:
        import django
        from django.conf import settings
    except ImportError:
        return
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "txapp"],
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
