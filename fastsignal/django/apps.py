"""The Django app: ``"fastsignal.django"`` in ``INSTALLED_APPS`` installs fastsignal.

PYTEST_DONT_REWRITE
"""

from types import ModuleType

from django.apps import AppConfig


class FastSignalConfig(AppConfig):
    """Calls ``fastsignal.django.install()`` as soon as Django creates the app config.

    ``django.setup()`` creates every installed app's config before it imports
    any app's models, and calls the ``ready()`` methods only after that. So
    receivers connected with ``on_commit=True`` in a ``models`` module or in any
    ``ready()`` find the integration active, and sends made while models are
    imported (``class_prepared``) already go through fastsignal. Only code that
    runs while the app configs are being created (an app package's
    ``__init__``, or its ``apps`` module, listed before ``"fastsignal.django"``)
    comes earlier: hence ``"fastsignal.django"`` first in ``INSTALLED_APPS``.
    Signals created and receivers connected before install are adopted on
    their first use after it. To cover everything, call ``install()`` at the top
    of the settings module instead, or as well.
    """

    name = "fastsignal.django"
    label = "fastsignal"
    verbose_name = "fastsignal"

    def __init__(self, app_name: str, app_module: ModuleType | None) -> None:
        super().__init__(app_name, app_module)
        from . import install

        install()

    def ready(self) -> None:
        """Import ``fastsignal.tasks`` where a task framework is installed.

        Every process that starts Django (the web server, ``manage.py
        db_worker``, ``rqworker``, a Celery worker) then knows the task that
        runs background receivers, whether or not it imports a receiver module:
        a Celery worker discards a task it does not know, and task backends
        register a task when it is created. Needs no setting.
        """
        if task_framework_installed():
            from .. import tasks  # noqa: F401  (creates and registers run_receiver)


def task_framework_installed() -> bool:
    """Whether Django's task framework can be imported: ``django.tasks`` or the backport."""
    from importlib.util import find_spec

    for name in ("django.tasks", "django_tasks"):
        try:
            if find_spec(name) is not None:
                return True
        except (ImportError, ValueError):
            continue
    return False
