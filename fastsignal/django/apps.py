"""The Django app: ``"fastsignal.django"`` in ``INSTALLED_APPS`` installs fastsignal."""

from django.apps import AppConfig


class FastSignalConfig(AppConfig):
    """Calls ``fastsignal.django.install()`` in ``ready()``.

    ``ready()`` runs during ``django.setup()``, once every installed app's models
    are imported. That is early enough: signals created and receivers connected
    before it are adopted on their first use after install. Sends made before it
    (``class_prepared`` while models are imported, for instance) use Django's own
    dispatcher. To cover those too, call ``install()`` at the top of the settings
    module instead, or as well.
    """

    name = "fastsignal.django"
    label = "fastsignal"
    verbose_name = "fastsignal"

    def ready(self):
        from . import install

        install()
