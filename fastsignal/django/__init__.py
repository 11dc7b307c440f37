"""Django integration: make every ``django.dispatch.Signal`` dispatch through fastsignal.

Two ways to turn it on; both may be used, installing twice does nothing:

- add ``"fastsignal.django"`` to ``INSTALLED_APPS``, first: ``install()`` runs when
  ``django.setup()`` creates the app's config, before any app's models are
  imported or any ``ready()`` runs (see ``apps.FastSignalConfig``);
- call ``install()`` yourself, as early as you like (the top of ``settings.py``,
  ``manage.py``, ``wsgi.py``/``asgi.py``), before or after ``django.setup()``.

``install()`` replaces the dispatch methods of Django's ``Signal`` class with
fastsignal's, so every instance is covered: the built-in signals, those that
already exist with receivers connected (they adopt their receivers on first use)
and those any module creates later. ``uninstall()`` puts Django's dispatcher back,
receivers included. Check it with ``is_installed()``, ``is_accelerated(signal)``
and ``accelerated_signals()``.

PYTEST_DONT_REWRITE
"""

from ._install import (
    FastSignalWarning,
    accelerated_signals,
    install,
    is_accelerated,
    is_installed,
    module_signals,
    uninstall,
)

__all__ = [
    "FastSignalWarning",
    "accelerated_signals",
    "install",
    "is_accelerated",
    "is_installed",
    "module_signals",
    "uninstall",
]
