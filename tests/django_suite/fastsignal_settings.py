"""Settings for Django's own test suite (``tests/runtests.py``) with fastsignal installed.

``scripts/django-tests`` puts this directory on ``PYTHONPATH`` and runs
``runtests.py --settings=fastsignal_settings``. It starts from runtests' default
``test_sqlite`` settings (found on the path as runtests puts its own directory
there) and installs fastsignal at import, before ``django.setup()``: runtests
replaces ``INSTALLED_APPS`` with its own list, so the app cannot be used here.

With ``FASTSIGNAL_DJANGO_SUITE_REPORT`` set, a line is printed to stderr at exit
saying whether fastsignal was still installed, whether Django's model signals
went through its engine, and which of Django's signals did; ``scripts/django-tests``
requires it to say "active".
"""

import atexit
import os
import sys

from test_sqlite import *  # noqa: F403

import fastsignal.django

if not fastsignal.django.install():
    raise RuntimeError("fastsignal.django.install() refused to install")


def _report():
    from django.db.models import signals as model_signals

    import fastsignal
    from fastsignal._common import REGISTRY_ATTR

    used = sorted(
        name
        for name, signal in fastsignal.django.module_signals("django.")
        if REGISTRY_ATTR in vars(signal) and fastsignal.django.is_accelerated(signal)
    )
    # Installed still, and the model signals the test modules use went through
    # the engine (it creates a signal's registry on first use).
    model_signals_used = [
        getattr(model_signals, name)
        for name in (
            "pre_init",
            "post_init",
            "pre_save",
            "post_save",
            "pre_delete",
            "post_delete",
            "m2m_changed",
        )
    ]
    active = fastsignal.django.is_installed() and all(
        fastsignal.django.is_accelerated(signal) and REGISTRY_ATTR in vars(signal)
        for signal in model_signals_used
    )
    status = "active" if active else "NOT ACTIVE"
    engine = "compiled" if fastsignal.COMPILED else "python"
    print(
        f"fastsignal: {status} ({engine} engine); {len(used)} Django signals "
        f"used through its engine: {', '.join(n.rsplit('.', 1)[-1] for n in used)}",
        file=sys.stderr,
    )


if os.environ.get("FASTSIGNAL_DJANGO_SUITE_REPORT"):
    atexit.register(_report)
